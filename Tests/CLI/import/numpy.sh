# numpy arrays of many dtypes, byte orders and layouts import bit for bit; an .npz becomes one
# tensor per array, or a dataset with --images-key/--labels-key.
"$PY" - <<'PY'
import numpy as np
arrays = {
    "f4": np.array([[1.5, -2.0], [np.pi, 1e-30]], dtype="<f4"),
    "f8": np.asfortranarray(np.arange(12, dtype="<f8").reshape(3, 4) / 7),
    "f2": np.array([0.5, -65504, 6e-8], dtype="<f2"),
    "i2": np.array([-300, 7, 32767], dtype=">i2"),
    "u1": np.arange(5, dtype="u1"),
    "b1": np.array([True, False, True]),
    "i8": np.array([-(2**62), 2**40], dtype="<i8"),
    "u4": np.array([[4000000000]], dtype=">u4"),
}
for name, a in arrays.items():
    np.save(f"{name}.npy", a)
np.savez("many.npz", **arrays)
np.savez_compressed("set.npz", x=np.arange(24, dtype=np.uint8).reshape(3, 2, 2, 2), y=np.array([1, 0, 1], dtype=np.int32))
PY
for name in f4 f8 f2 i2 u1 b1 i8 u4; do
  kswap-pack "$name.npy" -o "$name.safetensors"
done
kswap-pack many.npz -o many.safetensors
kswap-pack set.npz --images-key x --labels-key y --classes 1 -o set.safetensors
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
names = ["f4", "f8", "f2", "i2", "u1", "b1", "i8", "u4"]
many = load_file("many.safetensors")
for name in names:
    want = np.load(f"{name}.npy")
    got = load_file(f"{name}.safetensors")[name]
    for array in (got, many[name]):
        assert array.dtype == want.dtype.newbyteorder("<"), (name, array.dtype, want.dtype)
        assert array.shape == want.shape and (array == want).all(), name
with safe_open("set.safetensors", "np") as f:
    images, labels, meta = f.get_tensor("images"), f.get_tensor("labels"), f.metadata()
assert images.shape == (2, 2, 2, 2) and labels.tolist() == [1, 1]
assert (images.reshape(2, -1) == np.arange(24).reshape(3, 8)[[0, 2]]).all()
assert json.loads(meta["classes"]) == ["0", "1"] and len(json.loads(meta["mean"])) == 2
PY
