# Dataset options on a segmentation dataset file: --fraction keeps whole scenes at random (their masks
# with them), --class-names, --mean and --std apply, a plain copy keeps every byte; the options that need
# one class per image are refused, and so is a file whose masks disagree with it.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
# 10 scenes of 2x3: pixel values = 10 * index + position, masks = index % 3 with one ignored pixel.
images = (np.arange(10)[:, None, None, None] * 10 + np.arange(6).reshape(1, 1, 2, 3)).astype(np.uint8)
masks = np.repeat(np.arange(10) % 3, 6).reshape(10, 2, 3).astype(np.uint8)
masks[:, 1, 2] = 255
meta = {"dataset": "1", "task": "segmentation", "classes": '["background","x","y"]', "note": "kept"}
save_file({"images": images, "masks": masks}, "set.safetensors", metadata=meta)
def bad(name, **changes):
    tensors = {"images": images, "masks": masks}
    tensors.update({k: v for k, v in changes.items() if k in tensors})
    save_file(tensors, name, metadata={**meta, **{k: v for k, v in changes.items() if k not in tensors}})
high = masks.copy(); high[4, 0, 0] = 3
bad("high.safetensors", masks=high)
bad("wide.safetensors", masks=masks.astype(np.int64))
bad("small.safetensors", masks=masks[:, :, :2].copy())
bad("detection.safetensors", task="detection")
save_file({"images": images, "masks": masks}, "untagged.safetensors", metadata={"dataset": "1", "classes": '["a"]'})
PY
kswap-pack set.safetensors --plain -o copy.safetensors
same_tensors set.safetensors copy.safetensors
for seed in 1 2; do kswap-pack set.safetensors --fraction 0.5 --seed $seed -o half-$seed.safetensors; done
kswap-pack set.safetensors --fraction 0.5 --seed 1 --sampling random -o random.safetensors
cmp half-1.safetensors random.safetensors
kswap-pack set.safetensors --class-names background,cat,dog --mean 0.5 --std 0.25 -o renamed.safetensors
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
picks = []
for seed in (1, 2):
    with safe_open(f"half-{seed}.safetensors", "np") as f:
        images, masks, meta = f.get_tensor("images"), f.get_tensor("masks"), f.metadata()
    # int(0.5 * 10) = 5 scenes in the input's order, each with its own mask.
    index = images[:, 0, 0, 0] // 10
    assert len(index) == 5 and (np.diff(index) > 0).all(), index
    assert (masks[:, 0, 0] == index % 3).all() and (masks[:, 1, 2] == 255).all()
    assert meta["task"] == "segmentation" and meta["note"] == "kept" and "mean" in meta
    picks.append(tuple(index))
assert picks[0] != picks[1]
with safe_open("renamed.safetensors", "np") as f:
    meta = f.metadata()
assert json.loads(meta["classes"]) == ["background", "cat", "dog"] and meta["mean"] == "[0.5]", meta
PY

refused() {  # refused INPUT MESSAGE ARGS...: exit status 2 with MESSAGE
  local input=$1 message=$2
  shift 2
  expect 2 kswap-pack "$input" "$@" -o out.safetensors
  err_has "$message"
}
prefix="set.safetensors: "
refused set.safetensors "$prefix--classes does not apply to a segmentation dataset: pick the classes of the source before --scenes" \
  --classes x
refused set.safetensors "$prefix--split does not apply to a segmentation dataset: split the source before --scenes" \
  --split train
refused set.safetensors "$prefix--relabel does not apply to a segmentation dataset: relabel the source, with --scenes" \
  --relabel compact
refused set.safetensors \
  "$prefix--label-offset does not apply to a segmentation dataset: give it with --scenes, where it sets the objects' first label" \
  --label-offset 3
refused set.safetensors \
  "$prefix--resize does not apply to a segmentation dataset: masks are not resampled; compose the scenes at the size wanted (--scene-size)" \
  --resize 4x6
refused set.safetensors \
  "$prefix--sampling stratified does not apply to a segmentation dataset: --fraction keeps whole scenes at random (--sampling random)" \
  --fraction 0.5 --sampling stratified
refused set.safetensors "${prefix}mask value 2 (image 2) has no class (2 classes; 255 is ignore)" --class-names background,x
refused high.safetensors "high.safetensors: mask value 3 (image 4) has no class (3 classes; 255 is ignore)" --fraction 0.5
refused wide.safetensors \
  "wide.safetensors: tensor masks must be U8 (N, H, W) = [10, 2, 3] like the images, found I64 [10, 2, 3]" --fraction 0.5
refused small.safetensors \
  "small.safetensors: tensor masks must be U8 (N, H, W) = [10, 2, 3] like the images, found U8 [10, 2, 2]" --fraction 0.5
refused detection.safetensors \
  "detection.safetensors: metadata \"task\" is \"detection\"; expected \"classification\" or \"segmentation\"" --fraction 0.5
refused untagged.safetensors "untagged.safetensors: not a dataset: it has \"masks\" but no metadata task \"segmentation\"" \
  --fraction 0.5
[ ! -e out.safetensors ] || fail "no output expected"
