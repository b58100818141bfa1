# Bad adapters: exit 2, a message naming the adapter and tensor, and no output left behind.
F=$ROOT/Tests/Fixtures/peft
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
save_file({"blocks.0.mlp.fc1.weight": np.zeros((16, 9), np.float32)}, "other-base.safetensors")
PY
status=0
kswap-merge other-base.safetensors "$F/plain" -o out.safetensors 2>err.txt || status=$?
test "$status" = 2
grep -q "lora_A" err.txt
grep -q "plain" err.txt
test ! -e out.safetensors
test -z "$(ls -A | grep kswap- || true)"
# Usage errors are 64.
status=0; kswap-merge "$F/base.safetensors" 2>/dev/null || status=$?; test "$status" = 64
status=0; kswap-merge "$F/base.safetensors" "$F/plain" --dtype Q4 2>/dev/null || status=$?; test "$status" = 64
# An existing output is kept without -f.
echo keep > exists.safetensors
status=0; kswap-merge "$F/base.safetensors" "$F/plain" -o exists.safetensors 2>/dev/null || status=$?
test "$status" = 2
test "$(cat exists.safetensors)" = keep
# An adapter_config.json is read whole, so one over 16 MiB is refused by its size, before it is read.
cp -r "$F/plain" huge-config
"$PY" -c 'import sys; open(sys.argv[1], "a").write(" " * (16 << 20))' huge-config/adapter_config.json
status=0; kswap-merge "$F/base.safetensors" huge-config -o out.safetensors 2>err.txt || status=$?
test "$status" = 2
grep -qF "huge-config/adapter_config.json: $(stat -c %s huge-config/adapter_config.json) bytes, over the limit of 16777216 for a JSON file" err.txt
test ! -e out.safetensors
