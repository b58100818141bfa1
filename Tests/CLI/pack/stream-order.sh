# A stream whose tensors are not in the output's (aligned) order is spooled to TMPDIR, reordered, and
# the spool removed; the result equals packing the same file from disk.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import json, struct
import numpy as np
# Written by hand in name order (a: F16 with 3 elements, then b: F32), which leaves b misaligned:
# the reference order puts the wider F32 first.
a = np.array([1, 2, 3], np.float16).tobytes()
b = np.array([4.5, -1], np.float32).tobytes()
header = {"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 6]},
          "b": {"dtype": "F32", "shape": [2], "data_offsets": [6, 14]}}
text = json.dumps(header).encode()
open("unordered.safetensors", "wb").write(struct.pack("<Q", len(text)) + text + a + b)
PY
mkdir spool
export TMPDIR=$PWD/spool
cat unordered.safetensors | kswap-pack - --plain -o piped.safetensors
kswap-pack unordered.safetensors --plain -o direct.safetensors
cmp piped.safetensors direct.safetensors
[ -z "$(ls -A spool)" ] || fail "spool left behind: $(ls -A spool)"
"$PY" -c '
import json, struct
from safetensors.numpy import load_file
t = load_file("piped.safetensors")
assert t["a"].tolist() == [1, 2, 3] and t["b"].tolist() == [4.5, -1]
data = open("piped.safetensors", "rb").read()
header = json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])
assert header["b"]["data_offsets"][0] % 4 == 0, header'
