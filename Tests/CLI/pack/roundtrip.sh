# plain -> compressed -> plain is lossless for every common dtype, scalars and empty tensors; the
# compressed file is smaller on real-looking weights; output bytes are deterministic.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
expect 0 kswap-pack mixed.safetensors --compress -o mixed.kst
err_has "kswap-pack: wrote mixed.kst: 14 tensors"
expect 0 kswap-pack mixed.kst --plain -o back.safetensors
same_tensors mixed.safetensors back.safetensors
# Python reads the metadata back too.
"$PY" -c '
from safetensors import safe_open
with safe_open("back.safetensors", "np") as f:
    assert f.metadata() == {"format": "pt", "note": "mixed dtypes"}, f.metadata()'
# Same input, same bytes; and plain -> plain equals plain -> kst -> plain.
kswap-pack mixed.safetensors --compress -o again.kst
cmp mixed.kst again.kst
kswap-pack mixed.safetensors --plain -o direct.safetensors
cmp direct.safetensors back.safetensors
# Without --compress/--plain the input's form is kept.
kswap-pack mixed.kst -o kept.kst
cmp mixed.kst kept.kst
[ "$(kswap-inspect kept.kst --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["format"])')" = kst ]
# Weights with a narrow exponent range compress below their raw size.
"$PY" -c '
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
save_file({"w": (rng.standard_normal((256, 256)) * 0.02).astype(np.float32)}, "weights.safetensors")'
kswap-pack weights.safetensors --compress --level 9 -o weights.kst
[ "$(stat -c %s weights.kst)" -lt "$(stat -c %s weights.safetensors)" ] || fail "no compression"
kswap-pack weights.kst --plain | cmp - <(kswap-pack weights.safetensors --plain)
