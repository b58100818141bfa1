# Pipes both ways: cat x.kst | kswap-pack - --plain | python gives the right values; a compressed
# stream goes through several tools; stdout is used when there is no -o.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
kswap-pack mixed.safetensors --compress -o mixed.kst
cat mixed.kst | kswap-pack - --plain | "$PY" -c '
import sys
import numpy as np
from safetensors.numpy import load, load_file
piped, original = load(sys.stdin.buffer.read()), load_file("mixed.safetensors")
assert sorted(piped) == sorted(original)
for name in original:
    assert piped[name].dtype == original[name].dtype and np.array_equal(piped[name], original[name], equal_nan=True), name'
# kst -> kst through a pipe, selecting on the way; then plain from the pipe.
cat mixed.kst | kswap-pack - --select 'blocks.*' --compress | kswap-pack - --plain -o blocks.safetensors
"$PY" -c '
from safetensors.numpy import load_file
names = sorted(load_file("blocks.safetensors"))
assert names == ["blocks.0.attn.qkv.bias", "blocks.0.attn.qkv.weight", "blocks.0.mlp.fc1.weight", "blocks.1.mlp.fc1.weight"], names'
# -o - is stdout too.
kswap-pack mixed.safetensors -o - --plain >stdout.safetensors
same_tensors mixed.safetensors stdout.safetensors
