# --dtype rounds floats to nearest even (as numpy does for F16), keeps integers unless asked, and
# refuses conversions that would change values unless --lossy.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(5)
save_file({
    "w": rng.standard_normal(1000).astype(np.float32),
    "d": rng.standard_normal(100),
    "labels": np.array([1, 2, 2048], np.int64),
}, "in.safetensors")
save_file({"big": np.array([1.0, 70000.0], np.float32)}, "overflow.safetensors")
save_file({"labels": np.array([1, 2049], np.int64)}, "inexact.safetensors")
PY
expect 0 kswap-pack in.safetensors --dtype f16 -o half.safetensors
"$PY" -c '
import numpy as np
from safetensors.numpy import load_file
a, b = load_file("in.safetensors"), load_file("half.safetensors")
assert b["w"].dtype == np.float16 and np.array_equal(b["w"], a["w"].astype(np.float16))
assert b["d"].dtype == np.float16 and np.array_equal(b["d"], a["d"].astype(np.float16))
assert b["labels"].dtype == np.int64 and np.array_equal(b["labels"], a["labels"])'
# F16 -> F32 is exact, so the round trip through F32 changes nothing.
kswap-pack half.safetensors --dtype F32 | kswap-pack - --dtype F16 --plain | cmp - half.safetensors
# Integers convert when asked and exact; not when a value would change.
expect 0 kswap-pack in.safetensors --dtype F16 --convert-integers -o ints.safetensors
"$PY" -c '
import numpy as np
from safetensors.numpy import load_file
b = load_file("ints.safetensors")["labels"]
assert b.dtype == np.float16 and b.tolist() == [1.0, 2.0, 2048.0]'
expect 2 kswap-pack inexact.safetensors --dtype F16 --convert-integers -o x.safetensors
err_has "kswap-pack: error: inexact.safetensors: tensor 'labels': 1 of 2 I64 values are not exactly representable in F16 (first: 2049 at index 1)"
[ ! -e x.safetensors ] || fail "no output expected"
expect 0 kswap-pack inexact.safetensors --dtype F16 --convert-integers --lossy -o x.safetensors
"$PY" -c '
from safetensors.numpy import load_file
assert load_file("x.safetensors")["labels"].tolist() == [1.0, 2048.0]'
# A finite value that overflows F16 is refused, then accepted with --lossy as infinity.
expect 2 kswap-pack overflow.safetensors --dtype f16 -o o.safetensors
err_has "tensor 'big': 1 finite F32 values are too large for F16"
expect 0 kswap-pack overflow.safetensors --dtype f16 --lossy -o o.safetensors
"$PY" -c '
import numpy as np
from safetensors.numpy import load_file
assert load_file("o.safetensors")["big"].tolist() == [1.0, np.inf]'
no_litter .
