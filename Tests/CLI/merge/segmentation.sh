# An adapter learned on scenes (a new class, so a full head of five rows) merges into a segmentation
# model: the merged file keeps task 'segmentation' and takes the adapter's classes, and kswap-eval reads
# it and gives the IoUs of base + adapter unmerged (predicted masks equal but for float rounding at
# ties). kswap-diff reads both too.
. "$ROOT/Tests/CLI/lib.sh"
make_segmentation_swap
kswap-learn -q seg.st --learn learn.st --retain retain.st --epochs 2 --batch-size 10 --seed 1 -o learned.st
kswap-merge seg.st learned.st -o merged.st
sets=(--set learn=learn-test.st --set forget=forget-test.st --set retain=retain-test.st)
kswap-eval -q seg.st --adapter learned.st "${sets[@]}" --json --predictions unmerged.st >unmerged.json
kswap-eval -q merged.st "${sets[@]}" --json --predictions merged-predictions.st >merged.json
$PY - <<'PY'
import json
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
with safe_open("merged.st", "np") as f:
    meta = f.metadata()
    assert meta["task"] == "segmentation", meta
    assert json.loads(meta["classes"]) == ["background", "a", "b", "c", "e"], meta["classes"]
    assert f.get_tensor("head.weight").shape == (5, 16)
u, m = json.load(open("unmerged.json")), json.load(open("merged.json"))
assert u["classes"] == m["classes"]
a, b = load_file("unmerged.st"), load_file("merged-predictions.st")
exact = 0
for x, y in zip(u["sets"], m["sets"]):
    differ = (a[x["name"]] != b[x["name"]]).sum()
    assert differ <= 2, (x["name"], differ)
    if differ == 0:
        assert x["per_class"] == y["per_class"] and x["miou"] == y["miou"], (x, y)
        exact += 1
    assert abs(x["miou"] - y["miou"]) < 1, (x["miou"], y["miou"])
# Measured: every set's masks the same, byte for byte.
assert exact >= 2, exact
PY
kswap-diff seg.st merged.st --by block >/dev/null
kswap-diff learned.st --by block >/dev/null
