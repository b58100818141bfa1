# The base streams from a pipe and the result to one; same values as the file-to-file merge.
F=$ROOT/Tests/Fixtures/peft
kswap-merge "$F/base.safetensors" "$F/plain" -o files.safetensors
cat "$F/base.safetensors" | kswap-merge - "$F/plain" | cat > piped.safetensors
kswap-diff files.safetensors piped.safetensors --check
# Merge and unmerge through a pipe give the base back within float32 rounding.
kswap-merge "$F/base.safetensors" "$F/rslora" | kswap-merge --unmerge - "$F/rslora" -o back.safetensors
kswap-diff "$F/base.safetensors" back.safetensors --check --tolerance 1e-6
# Unmerging an adapter with full tensors keeps them, and says so.
kswap-merge "$F/base.safetensors" "$F/plain" | kswap-merge --unmerge - "$F/plain" -o kept.safetensors 2>notes.txt
grep -q "head.weight: replaced by" notes.txt
kswap-diff "$F/merged-plain.safetensors" kept.safetensors --json | "$PY" -c "
import json, sys
r = json.load(sys.stdin)
head = [c for t in r['tensors'] if t['name'] == 'head.weight' for c in t['changes']][0]
assert head['max_abs'] == 0, head"
# The adapter can come from stdin too, with its adapter_config.json named after it.
kswap-merge "$F/base.safetensors" - "$F/rslora/adapter_config.json" < "$F/rslora/adapter_model.safetensors" -o stdin-adapter.safetensors
kswap-diff "$F/merged-rslora.safetensors" stdin-adapter.safetensors --check --tolerance 1e-6
