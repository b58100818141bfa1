# --fraction with --sampling: stratified (the default) keeps round(f * n) of each class; random keeps
# int(f * N) images of the whole set whatever their class, in the input's order, the same for the same
# seed. --sampling without --fraction is a usage error.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
# 103 images, pixel = index, classes of 50, 50 and 3 images.
labels = np.array([0] * 50 + [1] * 50 + [2] * 3, dtype=np.int64)
images = np.arange(103, dtype=np.uint8).reshape(103, 1, 1, 1)
save_file({"images": images, "labels": labels}, "set.safetensors",
          metadata={"dataset": "1", "classes": '["a","b","c"]', "mean": "[0.5]", "std": "[0.25]"})
PY
kswap-pack set.safetensors --fraction 0.1 --seed 2 -o default.safetensors
kswap-pack set.safetensors --fraction 0.1 --seed 2 --sampling stratified -o stratified.safetensors
cmp default.safetensors stratified.safetensors
for seed in 0 1 2 3 4 5 6 7; do
  kswap-pack set.safetensors --fraction 0.1 --seed $seed --sampling random -o random-$seed.safetensors
done
kswap-pack set.safetensors --fraction 0.1 --seed 7 --sampling random -o again.safetensors
cmp random-7.safetensors again.safetensors
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import load_file
stratified = load_file("stratified.safetensors")
assert np.bincount(stratified["labels"], minlength=3).tolist() == [5, 5, 0], stratified["labels"]
picks = []
for seed in range(8):
    part = load_file(f"random-{seed}.safetensors")
    pixels = part["images"].reshape(-1)
    # int(0.1 * 103) = 10 images (stratified rounding would keep 5 + 5 + 0), in the input's order,
    # each with its own label.
    assert len(pixels) == 10 and (np.diff(pixels.astype(int)) > 0).all(), pixels
    assert (part["labels"] == np.where(pixels < 50, 0, np.where(pixels < 100, 1, 2))).all()
    picks.append(tuple(pixels))
assert len(set(picks)) == 8, "seeds give different subsets"
counts = [np.bincount(load_file(f"random-{seed}.safetensors")["labels"], minlength=3).tolist() for seed in range(8)]
assert any(c[:2] != [5, 5] for c in counts), counts  # not stratified
PY
expect 64 kswap-pack set.safetensors --sampling random --seed 1 -o x.safetensors
err_has "--sampling says how --fraction picks images; give --fraction too"
expect 64 kswap-pack set.safetensors --fraction 0.1 --sampling uniform -o x.safetensors
err_has "uniform"
[ ! -e x.safetensors ] || fail "no output expected"
