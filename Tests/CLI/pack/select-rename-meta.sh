# --select/--exclude (globs on input names), --rename (regex, in order), --set-meta/--drop-meta.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
expect 0 kswap-pack mixed.safetensors --select 'blocks.*' --exclude '*.bias' \
  --rename '^blocks\.([0-9]+)\.=encoder.layer.$1.' --rename 'mlp\.fc1=intermediate' \
  --set-meta stage=backbone --set-meta note=changed --drop-meta format -o out.safetensors
"$PY" -c '
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
out, src = load_file("out.safetensors"), load_file("mixed.safetensors")
assert sorted(out) == ["encoder.layer.0.attn.qkv.weight", "encoder.layer.0.intermediate.weight", "encoder.layer.1.intermediate.weight"], sorted(out)
assert np.array_equal(out["encoder.layer.0.intermediate.weight"], src["blocks.0.mlp.fc1.weight"])
with safe_open("out.safetensors", "np") as f:
    assert f.metadata() == {"note": "changed", "stage": "backbone"}, f.metadata()'
# A selection that matches nothing, and renames that collide, are errors naming the problem.
expect 2 kswap-pack mixed.safetensors --select 'nothing.*' -o x.safetensors
err_has "kswap-pack: error: mixed.safetensors: --select 'nothing.*' matches no tensor"
expect 2 kswap-pack mixed.safetensors --rename '[0-9]=N' -o x.safetensors
err_has "would both be named 'blocks.N.mlp.fcN.weight'"
[ ! -e x.safetensors ] || fail "no output expected"
