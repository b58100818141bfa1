# --filter lists matching tensors only ('*' crosses dots), repeatable, and totals follow it.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
expect 0 kswap-inspect mixed.safetensors --filter 'blocks.*.mlp.*' --json
"$PY" -c '
import json
r = json.load(open("out"))
assert [t["name"] for t in r["tensors"]] == ["blocks.0.mlp.fc1.weight", "blocks.1.mlp.fc1.weight"], r["tensors"]
assert r["totals"]["tensors"] == 2 and r["filter"] == ["blocks.*.mlp.*"]'
expect 0 kswap-inspect mixed.safetensors --filter head.weight --filter 'l?bels'
[ "$(grep -cE '^(head\.weight|labels) ' out)" = 2 ] || fail "two rows expected"
out_has "total: 2 tensors"
expect 0 kswap-inspect mixed.safetensors --filter 'nothing*'
out_has "total: 0 tensors, 0 elements"
