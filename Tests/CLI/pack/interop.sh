# Files kswap writes load in Python safetensors, files Python writes load in kswap, value for value,
# across F64, F32, F16, BF16 and the integer types, including from a compressed round trip.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(11)
header_tensors = {
    "f64": rng.standard_normal(9), "f32": rng.standard_normal((33, 7)).astype(np.float32), "f16": rng.standard_normal(17).astype(np.float16),
    "i64": rng.integers(-2**62, 2**62, 5), "i32": rng.integers(-2**31, 2**31 - 1, 5).astype(np.int32),
    "u16": np.array([0, 65535], np.uint16), "bool": np.array([True, False]),
}
save_file(header_tensors, "python.safetensors", metadata={"source": "numpy"})
PY
kswap-pack python.safetensors --compress -o python.kst
kswap-pack python.kst --plain -o kswap.safetensors
same_tensors python.safetensors kswap.safetensors
# numpy has no bfloat16: check kswap's BF16 bits against round-to-nearest-even done on the F32 bits.
kswap-pack python.safetensors --select f32 --dtype bf16 -o bf16.safetensors
"$PY" - <<'PY'
import json, struct
import numpy as np
data = open("bf16.safetensors", "rb").read()
n = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + n])
entry = header["f32"]
assert entry["dtype"] == "BF16" and entry["shape"] == [33, 7], entry
begin, end = entry["data_offsets"]
bits = np.frombuffer(data[8 + n + begin:8 + n + end], "<u2").reshape(33, 7)
from safetensors.numpy import load_file
x = load_file("python.safetensors")["f32"].view(np.uint32).astype(np.uint64)
expected = ((x + 0x7FFF + ((x >> 16) & 1)) >> 16).astype(np.uint16)
assert np.array_equal(bits, expected.reshape(33, 7))
# The reference reader accepts the file's layout (it validates offsets on open).
from safetensors import safe_open
with safe_open("bf16.safetensors", "np") as f:
    assert list(f.keys()) == ["f32"]
PY
