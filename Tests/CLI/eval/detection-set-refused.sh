# A detection dataset (kswap-pack --scenes --task detection) given to the classification and segmentation
# tools is refused before any training or evaluation, naming the file and the task it holds, and for the
# swap tools the model and its task (Formats/dataset.md, "Detection datasets"). kswap-eval's scoring of a
# results file refuses what is not a detection set, a results file that does not fit the set, and the
# options of a model.
. "$ROOT/Tests/CLI/lib.sh"
$PY "$ROOT/Tests/CLI/learn/make-blobs.py" grey.st a,b 10 1
kswap-pretrain -q --train grey.st --patch 4 --dim 16 --depth 1 --heads 2 --mlp-dim 16 --epochs 1 --warmup 1 -o vit.st
kswap-pack -q grey.st --scenes 4 --scene-size 8x8 --object-scale 0.5-1 --task detection -o boxes.st
kswap-pack -q vit.st --set-meta task=segmentation --set-meta 'classes=["background","a"]' -o seg.st
detection="boxes.st: a detection dataset (metadata task 'detection', boxes per image)"
message="$detection; vit.st is a classification model, which takes a classification dataset (one label per image)"
expect 2 kswap-eval vit.st --set boxes.st
err_has "$message"
expect 2 kswap-learn vit.st --learn boxes.st --retain grey.st --epochs 1 -o out.st
err_has "$message"
expect 2 kswap-forget vit.st --forget grey.st --retain boxes.st --epochs 1 -o out.st
err_has "$message"
expect 2 kswap-eval seg.st --set boxes.st
err_has "$detection; seg.st is a segmentation model, which takes a segmentation dataset (metadata task 'segmentation', a class per pixel)"
expect 2 kswap-pretrain --train boxes.st --patch 4 --dim 16 --depth 1 --heads 2 --mlp-dim 16 --epochs 1 -o out.st
err_has "$detection; a classification dataset (one label per image) is needed here"
[ ! -e out.st ] || fail "a refused run left out.st"

# Scoring a results file: its ids must be the set's, and only a detection set is scored.
echo '[{"image_id": 5, "category_id": 0, "bbox": [0, 0, 2, 2], "score": 0.5}]' >far.json
expect 2 kswap-eval --score-detections far.json --set boxes.st
err_has "far.json: detection 0: image_id is not an image of boxes.st (its 4 images are ids 1 to 4)"
echo '{"annotations": []}' >object.json
expect 2 kswap-eval --score-detections object.json --set boxes.st
err_has "object.json: not COCO results: expected a JSON array of detections"
echo '[]' >none.json
expect 2 kswap-eval --score-detections none.json --set grey.st
err_has "grey.st: a classification dataset (one label per image); a detection dataset (metadata task 'detection', boxes per image) is needed here"
expect 0 kswap-eval --score-detections none.json --set boxes.st --json
grep -q '"ap": 0.0,' out || { cat out; fail "no detections: AP 0"; }
expect 64 kswap-eval vit.st --score-detections none.json --set boxes.st
err_has "--score-detections scores a results file without a model; drop MODEL"
expect 64 kswap-eval --score-detections none.json --set boxes.st --set boxes.st
err_has "--score-detections scores one --set"
expect 64 kswap-eval --score-detections none.json --set boxes.st --adapter a.st
err_has "--adapter applies to a model; --score-detections scores a results file"
expect 64 kswap-eval --set boxes.st
err_has "a MODEL is needed (or --score-detections FILE to score detections without one)"
