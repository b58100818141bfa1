# What kswap-pack refuses for detection datasets, each with the file and the reason: options that do not
# apply to them, a COCO import without its images, a dataset whose boxes break the layout, --coco-dir on
# another task or beside other options. Nothing is written.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import json
import numpy as np
from safetensors.numpy import save_file
def detection(path, boxes):
    save_file({"images": np.zeros((2, 1, 4, 6), np.uint8), "boxes": np.array(boxes, np.float32).reshape(-1, 4),
               "box_labels": np.zeros(len(boxes), np.int64), "box_offsets": np.array([0, len(boxes), len(boxes)])},
              path, metadata={"dataset": "1", "task": "detection", "classes": '["a"]'})
detection("det.safetensors", [[0, 0, 2, 2]])
detection("outside.safetensors", [[0, 0, 6.5, 2]])
save_file({"images": np.zeros((1, 1, 4, 6), np.uint8), "labels": np.zeros(1, np.int64)}, "labels.safetensors",
          metadata={"dataset": "1", "classes": '["a"]'})
json.dump({"images": [{"id": 1, "file_name": "gone.png"}], "categories": [], "annotations": []},
          open("instances.json", "w"))
PY
check() {  # check STATUS MESSAGE ARGUMENTS...
  local status=$1 message=$2
  shift 2
  expect "$status" kswap-pack "$@"
  err_has "$message"
}
check 2 "det.safetensors: --classes applies to classification datasets, not to detection" det.safetensors --classes a -o x.st
check 2 "det.safetensors: --label-offset applies to classification datasets, not to detection" \
  det.safetensors --label-offset 3 -o x.st
check 2 "det.safetensors: --class-names does not apply to a detection dataset" det.safetensors --class-names b -o x.st
check 2 "det.safetensors: --tile does not apply to a detection dataset" det.safetensors --tile 2x2 -o x.st
check 2 "outside.safetensors: box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.5 2.0) is not inside its 6x4 image" \
  outside.safetensors --split test -o x.st
check 2 "instances.json: a COCO import needs --coco-images DIR" instances.json --format coco -o x.st
check 2 "photos/gone.png" instances.json --coco-images photos -o x.st
check 2 "instances.json: --coco-images applies to coco input, not to idx" instances.json --format idx --coco-images . -o x.st
check 2 "labels.safetensors: not a detection dataset: its task is classification (no task key)" \
  labels.safetensors --coco-dir d
check 2 "outside.safetensors: box 0 (image 0, x0 y0 x1 y1 = 0.0 0.0 6.5 2.0) is not inside its 6x4 image" \
  outside.safetensors --coco-dir d
check 64 "--coco-dir writes the dataset as it is; -o does not apply to it" det.safetensors --coco-dir d -o x.st
check 64 "--coco-dir writes the dataset as it is; --split does not apply to it" det.safetensors --coco-dir d --split test
check 64 "--peft-dir and --coco-dir write different inputs; give one" det.safetensors --coco-dir d --peft-dir e
[ ! -e x.st ] && [ ! -e d ] || fail "an output was written"
no_litter .
