# A detection model (metadata task detection, a box branch box_head; Formats/model.md) reads as a model:
# kswap-inspect lists its box branch, and kswap-pretrain --backbone fits a classifier on its backbone
# (head and box branch dropped). The tools that do not train or evaluate detection yet refuse it before
# any data is used, naming the file (exit 2); a classification set is refused for it as for a
# segmentation model. A classifier carrying a box branch is refused, naming the tensor.
. "$ROOT/Tests/CLI/lib.sh"
images="$ROOT/Tests/Fixtures/checkpoints/images.safetensors"
model="$ROOT/Tests/Fixtures/vit-tiny-detection/model.safetensors"
kswap-inspect "$model" >listing || fail "kswap-inspect failed"
grep -q "^box_head.weight  *F32  *\[5, 32\]" listing || fail "no box_head.weight in the listing"
grep -q "task: detection" listing || fail "no task in the listing"

message="model.safetensors: training and evaluating detection models is not supported by this build of kswap"
expect 2 kswap-eval "$model" --set "$images"
err_has "$message"
expect 2 kswap-learn "$model" --learn "$images" --retain "$images" -o adapter.kst
err_has "images.safetensors: a classification dataset (one label per image); $model is a detection model, which takes a detection dataset (metadata task 'detection', boxes per image)"
kswap-pack "$images" --set-meta task=detection -o detection-set.safetensors 2>/dev/null
expect 2 kswap-learn "$model" --learn detection-set.safetensors --retain detection-set.safetensors -o adapter.kst
err_has "$message"
expect 2 kswap-forget "$model" --forget detection-set.safetensors --retain detection-set.safetensors -o adapter.kst
err_has "$message"
[ ! -e adapter.kst ] || fail "an output was written"

expect 0 kswap-pretrain --backbone "$model" --train "$images" --epochs 1 -o classifier.safetensors
err_has "model.safetensors: its 3-class per-patch head is replaced by a new one (its box branch is dropped)"
kswap-inspect classifier.safetensors >listing || fail "kswap-inspect failed"
! grep -q "box_head\|task:" listing || fail "the classifier kept the box branch or the task"
expect 0 kswap-eval classifier.safetensors --set "$images"

kswap-pack "$model" --set-meta task=classification -o stray.safetensors 2>/dev/null
expect 2 kswap-eval stray.safetensors --set "$images"
err_has "stray.safetensors: tensor \`box_head.bias\` is not part of a ViT with this architecture"
