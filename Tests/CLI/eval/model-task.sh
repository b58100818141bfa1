# A model's `task` metadata other than classification or segmentation (Formats/model.md) is refused by
# every model tool, naming the file and the value (exit 2).
. "$ROOT/Tests/CLI/lib.sh"
images="$ROOT/Tests/Fixtures/checkpoints/images.safetensors"
kswap-pack "$ROOT/Tests/Fixtures/vit-tiny/model.safetensors" --set-meta task=detection -o detection.safetensors
message="detection.safetensors: invalid ViT configuration: \`__metadata__.task\` is 'detection', expected 'classification' or 'segmentation'"
expect 2 kswap-eval detection.safetensors --set "$images"
err_has "$message"
expect 2 kswap-learn detection.safetensors --learn "$images" --retain "$images" -o adapter.kst
err_has "$message"
expect 2 kswap-forget detection.safetensors --forget "$images" --retain "$images" -o adapter.kst
err_has "$message"
expect 2 kswap-pretrain --backbone detection.safetensors --train "$images" -o model.kst
err_has "$message"
[ ! -e adapter.kst ] && [ ! -e model.kst ] || fail "an output was written"

# A segmentation model where a classifier is needed: refused before any data is read.
kswap-pack "$ROOT/Tests/Fixtures/vit-tiny/model.safetensors" --set-meta task=segmentation -o segmentation.safetensors
expect 2 kswap-eval segmentation.safetensors --set "$images"
err_has "segmentation.safetensors: a segmentation model; kswap-eval takes classification models"
expect 2 kswap-learn segmentation.safetensors --learn "$images" --retain "$images" -o adapter.kst
err_has "segmentation.safetensors: a segmentation model; kswap-learn takes classification models"
expect 2 kswap-forget segmentation.safetensors --forget "$images" --retain "$images" -o adapter.kst
err_has "segmentation.safetensors: a segmentation model; kswap-forget takes classification models"
[ ! -e adapter.kst ] || fail "an output was written"
