# A segmentation dataset (kswap-pack --scenes) given to the classification tools is refused before any
# training or evaluation, naming the file and the task it holds, and for the swap tools the model and
# its task (Formats/dataset.md, "Segmentation datasets").
. "$ROOT/Tests/CLI/lib.sh"
$PY "$ROOT/Tests/CLI/learn/make-blobs.py" grey.st a,b 10 1
$PY "$ROOT/Tests/CLI/learn/make-blobs.py" new.st c 10 2
kswap-pretrain -q --train grey.st --patch 4 --dim 16 --depth 1 --heads 2 --mlp-dim 16 --epochs 1 --warmup 1 -o vit.st
kswap-pack -q grey.st --scenes 4 --scene-size 8x8 --object-scale 0.5-1 -o scenes.st
message="scenes.st: a segmentation dataset (metadata task 'segmentation', a class per pixel); vit.st is a classification model, which takes a classification dataset (one label per image)"
expect 2 kswap-eval vit.st --set scenes.st
err_has "$message"
expect 2 kswap-learn vit.st --learn new.st --retain scenes.st --epochs 1 -o out.st
err_has "$message"
expect 2 kswap-learn vit.st --learn scenes.st --retain grey.st --epochs 1 -o out.st
err_has "$message"
expect 2 kswap-forget vit.st --forget scenes.st --retain grey.st --epochs 1 -o out.st
err_has "$message"
message="scenes.st: a segmentation dataset (metadata task 'segmentation', a class per pixel); a classification dataset (one label per image) is needed here"
expect 2 kswap-pretrain --train scenes.st --patch 4 --dim 16 --depth 1 --heads 2 --mlp-dim 16 --epochs 1 -o out.st
err_has "$message"
[ ! -e out.st ] || fail "a refused run left out.st"
