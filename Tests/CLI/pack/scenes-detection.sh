# kswap-pack --scenes --task detection: the same scenes as for segmentation (same seed, same images),
# each visible object with the smallest box around its visible pixels. Checked here from the
# segmentation scenes' masks: with one object per scene the box is the extent of the mask's object
# pixels; with several, every object pixel of a class lies in a box of that class and every box's four
# edges touch a pixel of its class. No background class; --label-offset puts null classes first.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(3)
images = rng.integers(0, 256, size=(6, 1, 8, 8)).astype(np.uint8)
images[:, :, 0, :] = 0
images[:, :, 3:5, 2:6] = 40
save_file({"images": images, "labels": np.array([0, 1, 2, 0, 1, 2], np.int64)}, "objects.safetensors",
          metadata={"dataset": "1", "classes": '["a","b","c"]', "source": "test objects"})
PY
for objects in 1 2-3; do
  kswap-pack -q objects.safetensors --scenes 40 --scene-size 16x16 --objects $objects --seed 5 -o seg-$objects.safetensors
  kswap-pack -q objects.safetensors --scenes 40 --scene-size 16x16 --objects $objects --seed 5 --task detection \
    -o det-$objects.safetensors
done
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
def load(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
for objects in ["1", "2-3"]:
    seg, _ = load(f"seg-{objects}.safetensors")
    det, meta = load(f"det-{objects}.safetensors")
    assert (seg["images"] == det["images"]).all()
    assert meta["task"] == "detection" and json.loads(meta["classes"]) == ["a", "b", "c"]
    assert json.loads(meta["scenes"])["first_label"] == 0 and meta["source"] == "scenes from test objects"
    offsets, boxes, labels = det["box_offsets"], det["boxes"], det["box_labels"]
    assert boxes.dtype == np.float32 and (boxes == np.round(boxes)).all()
    for scene, mask in enumerate(seg["masks"].astype(int)):
        rows = range(offsets[scene], offsets[scene + 1])
        if objects == "1":
            ys, xs = np.nonzero(mask)
            want = [] if len(xs) == 0 else [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            assert boxes[rows.start:rows.stop].tolist() == want, (scene, boxes[rows.start:rows.stop], want)
            assert labels[rows.start:rows.stop].tolist() == [int(mask.max()) - 1] * len(want)
            continue
        for label in range(3):
            mine = [boxes[r].astype(int) for r in rows if labels[r] == label]
            covered = np.zeros_like(mask, bool)
            for x0, y0, x1, y1 in mine:
                covered[y0:y1, x0:x1] = True
                inside = mask[y0:y1, x0:x1] == label + 1
                assert inside[:, 0].any() and inside[:, -1].any() and inside[0].any() and inside[-1].any()
            assert covered[mask == label + 1].all(), scene
    if objects == "2-3":  # some object is partly covered, some scene has boxes of one class that overlap
        assert (np.diff(offsets) >= 2).any()
PY
# New classes after a detector's 10: null classes first, labels from 10.
kswap-pack -q objects.safetensors --classes c,a --relabel compact --label-offset 10 --scenes 10 --seed 1 \
  --task detection -o new.safetensors
kswap-pack -q objects.safetensors --classes c,a --relabel compact --label-offset 10 --scenes 10 --seed 1 \
  --task detection -o again.safetensors
cmp new.safetensors again.safetensors
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
with safe_open("new.safetensors", "np") as f:
    classes, labels = json.loads(f.metadata()["classes"]), f.get_tensor("box_labels")
assert classes == [None] * 10 + ["c", "a"] and set(labels.tolist()) == {10, 11}, (classes, labels)
PY
kswap-inspect new.safetensors >out
out_has "task: detection"
grep -Eq '^box_offsets +I64 +\[11\]' out || { cat out; fail "no box_offsets row"; }
# --task applies with --scenes, and scenes are segmentation or detection.
expect 64 kswap-pack objects.safetensors --task detection -o x.safetensors
err_has "--task applies with --scenes"
expect 64 kswap-pack objects.safetensors --scenes 2 --task classification -o x.safetensors
err_has "--task of scenes is segmentation or detection"
# A detection dataset composes no scenes.
expect 2 kswap-pack new.safetensors --scenes 2 -o x.safetensors
err_has "new.safetensors: --scenes applies to classification datasets, not to detection"
[ ! -e x.safetensors ] || fail "an output was written"
