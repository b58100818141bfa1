# IDX images and labels (gzip and plain) become a dataset file that Python's safetensors reads back
# with the same pixels, I64 labels, class names and statistics.
"$PY" - <<'PY'
import gzip, numpy as np
rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(6, 4, 5), dtype=np.uint8)
labels = np.array([2, 0, 1, 2, 1, 0], dtype=np.uint8)
header = lambda code, dims: bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
with gzip.open("images-idx3-ubyte.gz", "wb") as f: f.write(header(8, images.shape) + images.tobytes())
open("labels-idx1-ubyte", "wb").write(header(8, labels.shape) + labels.tobytes())
np.save("expected-images.npy", images); np.save("expected-labels.npy", labels)
PY
kswap-pack images-idx3-ubyte.gz --labels labels-idx1-ubyte --class-names 'cat,dog/puppy,"bird"' -o set.safetensors
kswap pack images-idx3-ubyte.gz --labels labels-idx1-ubyte --class-names 'cat,dog/puppy,"bird"' --compress -o set.kst
kswap-pack set.kst --plain -o again.safetensors
cmp set.safetensors again.safetensors
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
with safe_open("set.safetensors", "np") as f:
    meta, images, labels = f.metadata(), f.get_tensor("images"), f.get_tensor("labels")
expected = np.load("expected-images.npy")
assert images.dtype == np.uint8 and images.shape == (6, 1, 4, 5), images.shape
assert (images[:, 0] == expected).all()
assert labels.dtype == np.int64 and labels.tolist() == [2, 0, 1, 2, 1, 0]
assert json.loads(meta["classes"]) == ["cat", "dog/puppy", '"bird"'], meta
assert meta["dataset"] == "1" and meta["source"] == "images-idx3-ubyte.gz, labels-idx1-ubyte"
mean, std = json.loads(meta["mean"]), json.loads(meta["std"])
assert abs(mean[0] - (expected / 255).mean()) < 1e-5 and abs(std[0] - (expected / 255).std()) < 1e-5, (mean, std)
PY
