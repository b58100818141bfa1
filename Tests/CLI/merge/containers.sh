# Bases in kswap's compressed container (through a pipe both ways) and as a sharded checkpoint.
F=$ROOT/Tests/Fixtures/peft
kswap-pack "$F/base.safetensors" --compress -q -o base.kst
cat base.kst | kswap-merge - "$F/rslora" | kswap-pack - --compress -q -o merged.kst
kswap-diff "$F/merged-rslora.safetensors" merged.kst --check --tolerance 1e-6
"$PY" - "$F/base.safetensors" <<'PY'
import json, sys
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])
names = sorted(tensors)
shards = {"model-00001-of-00002.safetensors": names[::2], "model-00002-of-00002.safetensors": names[1::2]}
for shard, members in shards.items():
    save_file({n: tensors[n] for n in members}, shard)
json.dump({"metadata": {}, "weight_map": {n: s for s, m in shards.items() for n in m}},
          open("model.safetensors.index.json", "w"))
PY
kswap-merge model.safetensors.index.json "$F/rslora" -o from-shards.safetensors
kswap-diff "$F/merged-rslora.safetensors" from-shards.safetensors --check --tolerance 1e-6
