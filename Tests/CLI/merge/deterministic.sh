# Same inputs, same bytes: two merges, and two diff reports, are identical.
F=$ROOT/Tests/Fixtures/peft
kswap-merge "$F/base.safetensors" "$F/plain" "$F/rslora" --weight 0.5 --weight 2 -o one.safetensors
kswap-merge "$F/base.safetensors" "$F/plain" "$F/rslora" --weight 0.5 --weight 2 -o two.safetensors
cmp one.safetensors two.safetensors
kswap-diff "$F/base.safetensors" one.safetensors --json > one.json
kswap-diff "$F/base.safetensors" two.safetensors --json > two.json
sed 's/two\.safetensors/one.safetensors/g' two.json | cmp one.json -
kswap-diff "$F/base.safetensors" one.safetensors --by block --svg one.svg > /dev/null
kswap-diff "$F/base.safetensors" two.safetensors --by block --svg two.svg > /dev/null
sed 's/two\.safetensors/one.safetensors/g' two.svg | cmp one.svg -
# Python's safetensors reads the merged file, and its metadata is the base's.
"$PY" - "$F/base.safetensors" <<'PY'
import sys
from safetensors import safe_open
from safetensors.numpy import load_file
assert load_file("one.safetensors").keys() == load_file(sys.argv[1]).keys()
with safe_open("one.safetensors", "np") as a, safe_open(sys.argv[1], "np") as b:
    assert a.metadata() == b.metadata(), (a.metadata(), b.metadata())
PY
