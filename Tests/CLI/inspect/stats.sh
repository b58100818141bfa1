# --stats: min, max, mean, std, L2 over finite values and NaN/Inf/zero counts agree with numpy, for
# files and for a compressed stream on a pipe.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(3)
w = rng.standard_normal((40, 30)).astype(np.float32) * 3 + 100
w[0, 0], w[1, 1], w[2, 2], w[3, 3] = np.nan, np.inf, -np.inf, 0
save_file({
    "w": w,
    "h": rng.standard_normal(50).astype(np.float16),
    "labels": np.array([0, 3, 3, 9], dtype=np.int64),
    "nothing": np.array([np.nan, np.inf], dtype=np.float32),
}, "values.safetensors")
PY
check() {
  "$PY" - "$1" <<'PY'
import json, sys
import numpy as np
from safetensors.numpy import load_file
report = json.load(open(sys.argv[1]))
arrays = load_file("values.safetensors")
for t in report["tensors"]:
    a = arrays[t["name"]].astype(np.float64).ravel()
    finite = a[np.isfinite(a)]
    s = t["stats"]
    assert s["nan"] == np.isnan(a).sum() and s["inf"] == np.isinf(a).sum(), t
    assert s["zeros"] == (a == 0).sum(), t
    if finite.size == 0:
        assert all(s[k] is None for k in ("min", "max", "mean", "std", "l2")), t
        continue
    expected = dict(min=finite.min(), max=finite.max(), mean=finite.mean(), std=finite.std(), l2=np.sqrt((finite ** 2).sum()))
    for key, value in expected.items():
        assert abs(s[key] - value) <= 1e-9 * max(1.0, abs(value)), (t["name"], key, s[key], value)
PY
}
expect 0 kswap-inspect values.safetensors --stats --json
check out
kswap-pack values.safetensors --compress -o values.kst
cat values.kst | kswap-inspect - --stats --json >piped.json
check piped.json
grep -q '"stored_bytes":null' piped.json && fail "stored sizes should be known after reading a stream"
# The table shows the same counts.
expect 0 kswap-inspect values.safetensors --stats --filter w
grep -qE '^w +F32 +\[40, 30\] .* 1 +2 +1$' out || { cat out; fail "table row of w"; }
