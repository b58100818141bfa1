# A gzip CSV table inside a wheel (a zip) imports through --member; picking, compact relabelling
# with an offset and the seeded split give disjoint, stratified, reproducible parts.
"$PY" - <<'PY'
import gzip, io, zipfile, numpy as np
rng = np.random.default_rng(1)
pixels = rng.integers(0, 256, size=(60, 9))
labels = np.repeat(np.arange(6), 10)
table = "\n".join(",".join(map(str, list(p) + [l])) for p, l in zip(pixels, labels)) + "\n"
with zipfile.ZipFile("pkg-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("pkg/data/digits.csv.gz", gzip.compress(table.encode()))
    z.writestr("pkg/__init__.py", "")
np.save("pixels.npy", pixels); np.save("labels.npy", labels)
PY
common=(pkg-1.0-py3-none-any.whl --member pkg/data/digits.csv.gz --classes 4,1,5 --relabel compact --label-offset 10 --seed 3)
kswap-pack "${common[@]}" --split train --test-fraction 0.3 -o train.safetensors
kswap-pack "${common[@]}" --split test --test-fraction 0.3 -o test.safetensors
kswap-pack "${common[@]}" --split test --test-fraction 0.3 -o test-again.safetensors
cmp test.safetensors test-again.safetensors
kswap-pack "${common[@]}" --split test --test-fraction 0.3 --seed 4 -o test-other-seed.safetensors
if cmp -s test.safetensors test-other-seed.safetensors; then echo "another seed gave the same split"; exit 1; fi
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
pixels, labels = np.load("pixels.npy"), np.load("labels.npy")
parts = {}
for part in ("train", "test"):
    with safe_open(f"{part}.safetensors", "np") as f:
        parts[part] = (f.get_tensor("images").reshape(-1, 9), f.get_tensor("labels"), f.metadata())
(tri, trl, trm), (tei, tel, tem) = parts["train"], parts["test"]
assert json.loads(trm["classes"]) == [None] * 10 + ["4", "1", "5"], trm["classes"]
assert trm["split"] == "train" and tem["split"] == "test"
assert trm["source"] == "pkg-1.0-py3-none-any.whl:pkg/data/digits.csv.gz"
assert np.bincount(tel).tolist()[10:] == [3, 3, 3] and np.bincount(trl).tolist()[10:] == [7, 7, 7]
rows = {tuple(p): l for p, l in zip(pixels, labels)}
for images, labs in ((tri, trl), (tei, tel)):
    for p, l in zip(images, labs):
        assert {10: 4, 11: 1, 12: 5}[int(l)] == rows[tuple(int(v) for v in p)]
assert not {tuple(p) for p in tri} & {tuple(p) for p in tei}
PY
