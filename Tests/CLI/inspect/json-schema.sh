# --json follows Formats/inspect-json.md: the documented example comes out byte for byte, and the
# fields agree with what Python's safetensors reads.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" -c '
import numpy as np
from safetensors.numpy import save_file
save_file({"w": np.array([[-1, 2], [0, 1]], dtype=np.float32)}, "tiny.safetensors", metadata={"format": "pt"})'
expect 0 kswap-inspect tiny.safetensors --json --stats
documented=$(grep -A1 '^```json$' "$ROOT/Formats/inspect-json.md" | tail -1)
[ "$(cat out)" = "$documented" ] || { cat out; fail "output differs from the documented example"; }

make_mixed mixed.safetensors
expect 0 kswap-inspect mixed.safetensors --json
"$PY" - <<'PY'
import json
from safetensors import safe_open
report = json.load(open("out"))
assert report["version"] == 1 and report["format"] == "safetensors" and report["filter"] == []
with safe_open("mixed.safetensors", "np") as f:
    assert report["metadata"] == f.metadata()
    names = set(f.keys())
    assert {t["name"] for t in report["tensors"]} == names
    for t in report["tensors"]:
        array = f.get_tensor(t["name"])
        assert t["shape"] == list(array.shape), t
        assert t["elements"] == array.size and t["bytes"] == array.nbytes, t
        assert t["stored_bytes"] == t["bytes"] and t["codec"] == "none" and "stats" not in t
assert report["totals"]["tensors"] == len(names)
assert report["totals"]["bytes"] == sum(t["bytes"] for t in report["tensors"])
PY
