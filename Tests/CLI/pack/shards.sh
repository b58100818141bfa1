# A sharded checkpoint (model.safetensors.index.json) joins into one file with every tensor.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import json
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(2)
shards = {
    "model-00001-of-00002.safetensors": {f"blocks.{i}.weight": rng.standard_normal((4, 4)).astype(np.float32) for i in range(3)},
    "model-00002-of-00002.safetensors": {"head.weight": rng.standard_normal((2, 4)).astype(np.float32), "head.bias": np.zeros(2, np.float32)},
}
weight_map = {}
for shard, tensors in shards.items():
    save_file(tensors, shard, metadata={"format": "pt"})
    weight_map.update({name: shard for name in tensors})
json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, open("model.safetensors.index.json", "w"))
everything = {k: v for tensors in shards.values() for k, v in tensors.items()}
save_file(everything, "expected.safetensors", metadata={"format": "pt"})
PY
expect 0 kswap-pack model.safetensors.index.json --compress -o joined.kst
kswap-pack joined.kst --plain -o joined.safetensors
same_tensors expected.safetensors joined.safetensors
expect 0 kswap-inspect model.safetensors.index.json
out_has "file: model.safetensors.index.json (sharded)"
out_has "total: 5 tensors"
rm model-00002-of-00002.safetensors
expect 2 kswap-pack model.safetensors.index.json -o broken.kst
err_has "model-00002-of-00002.safetensors"
[ ! -e broken.kst ] || fail "no output expected"
