# What kswap-eval refuses around a segmentation model's outputs, before any evaluation: --predictions
# and --overlay for a classifier, --logits for a segmentation model, two sets whose overlay pictures
# would share names, an existing predictions file without -f (exit 2), and --overlay-images 0 (usage,
# exit 64). Nothing is written.
. "$ROOT/Tests/CLI/lib.sh"
make_segmentation_swap
images="$ROOT/Tests/Fixtures/checkpoints/images.safetensors"
classifier="$ROOT/Tests/Fixtures/vit-tiny/model.safetensors"
expect 2 kswap-eval "$classifier" --set "$images" --predictions p.st
err_has "model.safetensors: a classification model; --predictions is for a segmentation model's pixels (--logits writes a classifier's)"
expect 2 kswap-eval "$classifier" --set "$images" --overlay pictures
err_has "model.safetensors: a classification model; --overlay is for a segmentation model's pixels"
expect 2 kswap-eval seg.st --set retain-test.st --logits l.st
err_has "seg.st: a segmentation model; --logits writes a classifier's logits (use --predictions for each pixel's predicted class)"
expect 2 kswap-eval seg.st --set x=retain-test.st --set x=forget-test.st --overlay pictures
err_has "--overlay pictures: sets x and x would share the picture names x-N.png; give them distinct NAME=PATH names"
expect 2 kswap-eval seg.st --set a/b=retain-test.st --set a_b=forget-test.st --overlay pictures
err_has "sets a/b and a_b would share the picture names a_b-N.png"
touch p.st
expect 2 kswap-eval seg.st --set retain-test.st --predictions p.st
err_has "p.st: already exists; use -f to replace it"
[ ! -s p.st ] || fail "p.st was replaced"
expect 64 kswap-eval seg.st --set retain-test.st --overlay pictures --overlay-images 0
err_has "--overlay-images must be at least 1"
[ ! -e pictures ] && [ ! -e l.st ] || fail "a refused run wrote an output"
no_litter .
