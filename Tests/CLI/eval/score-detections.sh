# kswap-eval --score-detections: COCO-style AP of a results file against a detection dataset, without a
# model, equal to pycocotools' COCOeval (bbox, area "all", 100 detections) on the same boxes. Python writes
# random ground truth (empty images, overlapping boxes, a class without boxes) and detections (jittered
# and duplicated true boxes, false positives, tied scores, a class without detections, an image with over
# 100 detections of one class); pycocotools scores kswap-pack --coco-dir's export of the truth.
. "$ROOT/Tests/CLI/lib.sh"
if ! "$PY" -c "import pycocotools" 2>/dev/null; then
  [ "${CI:-}" != true ] || fail "CI=true and pycocotools not installed in .venv (Scripts/setup installs it)"
  skip "pycocotools not installed in .venv (Scripts/setup installs it)"
fi
for seed in 1 2 3; do
  "$PY" - "$seed" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import save_file
seed = int(sys.argv[1])
rng = np.random.default_rng(seed)
n, h, w, k = 40, 32, 48, 6  # class 5 has detections and no true box, class 4 true boxes and no detection
def box(around=None):
    if around is None:
        x0, y0 = rng.uniform(0, w - 2), rng.uniform(0, h - 2)
        x1, y1 = rng.uniform(x0 + 1, w), rng.uniform(y0 + 1, h)
    else:  # a jittered copy of a true box, kept inside the image
        x0, y0, x1, y1 = around + rng.normal(0, 0.3 * seed, 4)
        x0, y0 = np.clip(x0, 0, w - 1), np.clip(y0, 0, h - 1)
        x1, y1 = np.clip(x1, x0 + 0.5, w), np.clip(y1, y0 + 0.5, h)
    b = np.array([x0, y0, x1, y1], np.float32)
    assert b[0] < b[2] and b[1] < b[3]
    return b
boxes, labels, offsets, results = [], [], [0], []
def score():  # float32 scores, a third of them on a coarse grid so that ties occur
    s = rng.uniform(0.01, 1) if rng.random() < 0.67 else rng.integers(1, 9) / 8
    return float(np.float32(s))
def detect(image, label, b):
    x0, y0, x1, y1 = (float(v) for v in b)
    results.append({"image_id": image + 1, "category_id": int(label), "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": score()})
for image in range(n):
    count = 0 if image % 7 == 3 else int(rng.integers(1, 9))
    truths = [(box(), int(rng.integers(0, 5))) for _ in range(count)]
    for b, label in truths:
        boxes.append(b); labels.append(label)
        if label != 4:
            for _ in range(int(rng.integers(0, 3))):  # none, one or a duplicate
                detect(image, label, box(b))
    offsets.append(len(labels))
    if image % 5 != 1:
        for _ in range(int(rng.integers(0, 6))):  # false positives, class 5 among them
            detect(image, int(rng.choice([0, 1, 2, 3, 5])), box())
# Image 0 gets 130 more detections of class 0, of low scores: only its 100 best count.
for _ in range(130):
    detect(0, 0, box())
    results[-1]["score"] = float(np.float32(results[-1]["score"] / 4))
order = rng.permutation(len(results))
results = [results[i] for i in order]
save_file({"images": np.zeros((n, 1, h, w), np.uint8), "boxes": np.array(boxes, np.float32).reshape(-1, 4),
           "box_labels": np.array(labels, np.int64), "box_offsets": np.array(offsets, np.int64)},
          "truth.safetensors",
          metadata={"dataset": "1", "task": "detection", "classes": json.dumps([f"c{i}" for i in range(k)])})
json.dump(results, open("results.json", "w"))
PY
  kswap-eval --score-detections results.json --set truth=truth.safetensors --json >kswap.json
  kswap-pack -q truth.safetensors --coco-dir coco -f
  "$PY" - <<'PY'
import contextlib, io, json
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from safetensors.numpy import load_file
with contextlib.redirect_stdout(io.StringIO()):
    truth = COCO("coco/instances.json")
    found = truth.loadRes("results.json")
    evaluation = COCOeval(truth, found, "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
# The export is the dataset's boxes: [x0, y0, x1 - x0, y1 - y0] of its F32 values, category = label.
t = load_file("truth.safetensors")
annotations = truth.dataset["annotations"]
assert len(annotations) == len(t["box_labels"])
for a, b, label in zip(annotations, t["boxes"].astype(np.float64), t["box_labels"]):
    assert a["bbox"] == [b[0], b[1], b[2] - b[0], b[3] - b[1]] and a["category_id"] == label, (a, b)
image_of = np.searchsorted(t["box_offsets"], np.arange(len(annotations)), side="right")
assert [a["image_id"] for a in annotations] == list(image_of)
ours = json.load(open("kswap.json"))
assert ours["model"] is None and ours["results"] == "results.json" and ours["task"] == "detection"
s = ours["sets"][0]
worst = 0
for key, index in (("ap", 0), ("ap50", 1), ("ap75", 2)):
    worst = max(worst, abs(s[key] / 100 - evaluation.stats[index]))
precision = evaluation.eval["precision"][:, :, :, 0, 2]  # T, R, K at area "all", 100 detections
cats = evaluation.params.catIds
present = [c for i, c in enumerate(cats) if (precision[:, :, i] > -1).any()]
assert [c["row"] for c in s["per_class"]] == present == [0, 1, 2, 3, 4], (s["per_class"], present)
for c in s["per_class"]:
    p = precision[:, :, cats.index(c["row"])]
    worst = max(worst, abs(c["ap"] / 100 - p.mean()), abs(c["ap50"] / 100 - p[0].mean()),
                abs(c["ap75"] / 100 - p[5].mean()))
assert worst < 1e-9, worst
assert s["per_class"][4]["ap"] == 0 and s["per_class"][4]["detections"] == 0  # class 4: no detection
assert 0.03 < evaluation.stats[0] < 0.97, evaluation.stats  # neither trivial nor perfect
assert s["images"] == 40 and s["boxes"] == len(annotations) and s["detections"] == len(found.dataset["annotations"])
print(f"AP {s['ap']:.3f} AP50 {s['ap50']:.3f} AP75 {s['ap75']:.3f}, largest difference from pycocotools {worst:.1e}")
PY
done
# The table: one line per set, a line per class with --per-class.
kswap-eval --score-detections results.json --set truth.safetensors --per-class >table
head -1 table | grep -q "^set  *images  *boxes  *detections  *AP%  *AP50%  *AP75%$" || { cat table; fail "table header"; }
grep -q "^truth  *40 " table && grep -q "^  c4  " table || { cat table; fail "table rows"; }
