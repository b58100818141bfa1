# A model's `task` metadata other than classification or segmentation (Formats/model.md) is refused by
# every model tool, naming the file and the value (exit 2).
. "$ROOT/Tests/CLI/lib.sh"
images="$ROOT/Tests/Fixtures/checkpoints/images.safetensors"
kswap-pack "$ROOT/Tests/Fixtures/vit-tiny/model.safetensors" --set-meta task=depth -o depth.safetensors
message="depth.safetensors: invalid ViT configuration: \`__metadata__.task\` is 'depth', expected 'classification' or 'segmentation' or 'detection'"
expect 2 kswap-eval depth.safetensors --set "$images"
err_has "$message"
expect 2 kswap-learn depth.safetensors --learn "$images" --retain "$images" -o adapter.kst
err_has "$message"
expect 2 kswap-forget depth.safetensors --forget "$images" --retain "$images" -o adapter.kst
err_has "$message"
expect 2 kswap-pretrain --backbone depth.safetensors --train "$images" -o model.kst
err_has "$message"
[ ! -e adapter.kst ] && [ ! -e model.kst ] || fail "an output was written"

# A segmentation model takes segmentation datasets: a classification set is refused before any data is
# used, naming the file, its task and the model's.
kswap-pack "$ROOT/Tests/Fixtures/vit-tiny/model.safetensors" --set-meta task=segmentation -o segmentation.safetensors
message="images.safetensors: a classification dataset (one label per image); segmentation.safetensors is a segmentation model, which takes a segmentation dataset (metadata task 'segmentation', a class per pixel)"
expect 2 kswap-eval segmentation.safetensors --set "$images"
err_has "$message"
expect 2 kswap-learn segmentation.safetensors --learn "$images" --retain "$images" -o adapter.kst
err_has "$message"
expect 2 kswap-forget segmentation.safetensors --forget "$images" --retain "$images" -o adapter.kst
err_has "$message"
[ ! -e adapter.kst ] || fail "an output was written"
