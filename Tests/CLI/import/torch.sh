# A PyTorch zip checkpoint (Tests/Fixtures/torch-checkpoint, made by Scripts/make-torch-fixtures.py)
# imports without running its pickle, byte for byte what Python's safetensors wrote from the same
# state dict (newer dtypes too), also from inside a wheel; the pre-1.6 format is refused with a hint.
fixtures="$ROOT/Tests/Fixtures/torch-checkpoint"
kswap-pack "$fixtures/state.pt" --drop-meta format -o state.safetensors
cmp state.safetensors "$fixtures/expected.safetensors"
# U16/U32/U64/F8 tensors, which torch.save writes through _rebuild_tensor_v3.
kswap-pack "$fixtures/new-dtypes.pt" --drop-meta format -o new-dtypes.safetensors
cmp new-dtypes.safetensors "$fixtures/new-dtypes.safetensors"
"$PY" - "$fixtures/state.pt" <<'PY'
import sys, zipfile
with zipfile.ZipFile("weights-1.0-py3-none-any.whl", "w") as z:
    z.write(sys.argv[1], "weights/model.pth")
PY
kswap-pack weights-1.0-py3-none-any.whl --member weights/model.pth --select 'model.fc.*' -o fc.safetensors
kswap-inspect fc.safetensors | grep -q 'model.fc.weight'
[ "$(kswap-inspect --json fc.safetensors | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["tensors"]))')" = 2 ]
set +e
kswap-pack "$fixtures/legacy.pt" -o legacy.safetensors 2>err.txt; status=$?
set -e
[ "$status" = 2 ] || { echo "legacy.pt: exit $status, expected 2"; exit 1; }
grep -q 'legacy.pt: not a zip-format PyTorch checkpoint' err.txt
[ ! -e legacy.safetensors ]
# A safetensors file named .bin is still a tensor file, not a checkpoint.
cp state.safetensors weights.bin
kswap-pack weights.bin -o from-bin.safetensors
cmp state.safetensors from-bin.safetensors
