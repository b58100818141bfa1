# Every figure of kswap-diff --json against numpy in float64, on the PEFT fixture's base and merge.
F=$ROOT/Tests/Fixtures/peft
kswap-diff "$F/base.safetensors" "$F/merged-plain.safetensors" "$F/merged-rslora.safetensors" --json > report.json
"$PY" - "$F" <<'PY'
import json, sys, numpy as np
from safetensors.numpy import load_file
F = sys.argv[1]
files = [load_file(F + f) for f in ["/base.safetensors", "/merged-plain.safetensors", "/merged-rslora.safetensors"]]
report = json.load(open("report.json"))
assert report["version"] == 1 and report["mode"] == "checkpoints" and report["differs"] is True
names = [t["name"] for t in report["tensors"]]
assert sorted(names) == sorted(files[0].keys())
blocks = {}
for t in report["tensors"]:
    a = files[0][t["name"]].astype(np.float64).ravel()
    for change in t["changes"]:
        b = files[change["file"]][t["name"]].astype(np.float64).ravel()
        d = b - a
        l2, na, nb = np.linalg.norm(d), np.linalg.norm(a), np.linalg.norm(b)
        assert change["status"] == "compared"
        assert abs(change["l2"] - l2) <= 1e-5 * l2 + 1e-12, (t["name"], change["l2"], l2)
        if na > 0:
            assert abs(change["relative"] - l2 / na) <= 1e-5 * l2 / na + 1e-12
        else:
            assert change["relative"] == (0 if l2 == 0 else None)
        if na > 0 and nb > 0:
            assert abs(change["cosine"] - a @ b / (na * nb)) <= 1e-6
        assert abs(change["max_abs"] - np.max(np.abs(d))) <= 1e-6 * np.max(np.abs(d))
        key = (t["group"], change["file"])
        s = blocks.setdefault(key, [0.0, 0.0])
        s[0] += d @ d; s[1] += a @ a
for block in report["blocks"]:
    for change in block["changes"]:
        dd, aa = blocks[(block["group"], change["file"])]
        assert abs(change["l2"] - np.sqrt(dd)) <= 1e-5 * np.sqrt(dd) + 1e-12
        if aa > 0:
            assert abs(change["relative"] - np.sqrt(dd / aa)) <= 1e-5 * np.sqrt(dd / aa) + 1e-12
assert [b["group"] for b in report["blocks"]] == ["embed", "0", "1", "head"], [b["group"] for b in report["blocks"]]
print("ok")
PY
