# Every refusal of kswap-pack --scenes: malformed or stray scene flags are usage errors (64); scenes that
# cannot be composed from the given data are refused naming the file (2). No output is left behind.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
images = np.arange(4 * 64, dtype=np.uint8).reshape(4, 1, 8, 8)
save_file({"images": images, "labels": np.array([0, 1, 0, 1], np.int64)}, "objects.safetensors",
          metadata={"dataset": "1", "classes": '["a","b"]'})
save_file({"images": images, "labels": np.array([0, 1, 0, 1], np.int64)}, "named.safetensors",
          metadata={"dataset": "1", "classes": '["background","b"]'})
save_file({"images": np.zeros((2, 3, 8, 8), np.uint8), "labels": np.zeros(2, np.int64)}, "colour.safetensors",
          metadata={"dataset": "1", "classes": '["red"]'})
save_file({"images": np.zeros((2, 2, 8, 8), np.uint8), "labels": np.zeros(2, np.int64)}, "two.safetensors",
          metadata={"dataset": "1", "classes": '["t"]'})
save_file({"weight": np.zeros((2, 2), np.float32)}, "weights.safetensors")
PY
kswap-pack objects.safetensors --scenes 2 -o scenes.safetensors

usage() {  # usage MESSAGE ARGS...: exit status 64 with MESSAGE
  local message=$1
  shift
  expect 64 kswap-pack objects.safetensors "$@" -o out.safetensors
  err_has "$message"
}
usage "--scenes must be 1 to 10000000, got 0" --scenes 0
usage "--scene-size applies with --scenes" --scene-size 16x16
usage "--objects applies with --scenes" --objects 2
usage "--object-scale applies with --scenes" --object-scale 1
usage "--object-threshold applies with --scenes" --object-threshold 0.3
usage "--scene-background applies with --scenes" --scene-background objects.safetensors
usage "--scene-size expects HxW, e.g. 56x56, got '16'" --scenes 2 --scene-size 16
for objects in 0 0-2 3-1 1-1001 x 1-2-3 -2; do
  usage "--objects expects a count or MIN-MAX, 1 <= MIN <= MAX <= 1000, e.g. 1-3, got '$objects'" \
    --scenes 2 "--objects=$objects"
done
for scale in 0 2-1 -1 x inf 1-; do
  usage "--object-scale expects a positive number or LOW-HIGH with LOW <= HIGH, e.g. 0.75-1.5, got '$scale'" \
    --scenes 2 "--object-scale=$scale"
done
usage "--object-threshold must be at least 0 and below 1, got 1.0" --scenes 2 --object-threshold 1
usage "--object-threshold must be at least 0 and below 1, got -0.1" --scenes 2 --object-threshold=-0.1
usage "--resize does not apply with --scenes: --object-scale sizes the objects, --scene-size the scenes" \
  --scenes 2 --resize 4x4

refused() {  # refused INPUT MESSAGE ARGS...: exit status 2 with MESSAGE
  local input=$1 message=$2
  shift 2
  expect 2 kswap-pack "$input" "$@" -o out.safetensors
  err_has "$message"
}
refused objects.safetensors "objects.safetensors: objects up to 12x12 (scale 1.5) do not fit a 10x10 canvas" \
  --scenes 2 --scene-size 10x10
refused objects.safetensors "objects.safetensors: objects up to 16777216x16777216 (scale 1e+30) do not fit a 16x16 canvas" \
  --scenes 2 --object-scale 1e30
refused objects.safetensors \
  "objects.safetensors: 10000000 scenes of 1x16384x16384 are more than 4294967296 pixel values" \
  --scenes 10000000 --scene-size 16384x16384
refused named.safetensors \
  "named.safetensors: a class is named \"background\", the name scenes give their background" --scenes 2
refused objects.safetensors \
  "objects.safetensors: scene labels 254...255 for 2 classes after the background do not fit a mask (1 to 254; 255 is ignore)" \
  --scenes 2 --label-offset 254
refused objects.safetensors "objects.safetensors: no images to compose scenes from" \
  --scenes 2 --fraction 0.1
refused scenes.safetensors \
  "scenes.safetensors: --scenes applies to classification datasets, not to segmentation" \
  --scenes 2
refused objects.safetensors "weights.safetensors: not a dataset" --scenes 2 --scene-background weights.safetensors
refused objects.safetensors "missing.safetensors" --scenes 2 --scene-background missing.safetensors
refused colour.safetensors "two.safetensors: background images have 2 channels, the objects 3" \
  --scenes 2 --scene-background two.safetensors
[ ! -e out.safetensors ] || fail "no output expected"
no_litter .
