# Exit statuses as diff(1): 0 same, 1 differs (--check), 2 trouble, 64 usage; stdin as an operand.
F=$ROOT/Tests/Fixtures/peft
kswap-diff "$F/base.safetensors" "$F/base.safetensors" --check
status=0; kswap-diff "$F/base.safetensors" "$F/merged-plain.safetensors" --check || status=$?; test "$status" = 1
status=0; kswap-diff "$F/base.safetensors" nothing.safetensors 2>err.txt || status=$?; test "$status" = 2
grep -q "nothing.safetensors" err.txt
status=0; kswap-diff "$F/base.safetensors" 2>/dev/null || status=$?; test "$status" = 64
status=0; kswap-diff a b --by row 2>/dev/null || status=$?; test "$status" = 64
kswap-diff - "$F/base.safetensors" --check < "$F/base.safetensors"
kswap-diff "$F/base.safetensors" - < "$F/merged-plain.safetensors" | grep -q "blocks.0.mlp.fc1.weight"
