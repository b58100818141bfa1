# kswap-pack ... --compress | kswap-inspect - lists the same tensors; a plain file from a pipe too,
# and the writer is not killed by SIGPIPE (pipefail is on).
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
kswap-inspect mixed.safetensors --json >direct.json
kswap-pack mixed.safetensors --compress | kswap-inspect - --json >compressed.json
cat mixed.safetensors | kswap-inspect - --json >plain.json
"$PY" - <<'PY'
import json
direct, compressed, plain = (json.load(open(f)) for f in ("direct.json", "compressed.json", "plain.json"))
key = lambda r: sorted((t["name"], t["dtype"], t["shape"], t["bytes"]) for t in r["tensors"])
assert key(direct) == key(compressed) == key(plain)
assert compressed["format"] == "kst" and compressed["file"] == "-" and compressed["file_bytes"] is None
assert plain["format"] == "safetensors" and direct["metadata"] == compressed["metadata"] == plain["metadata"]
assert all(t["codec"] == "zstd-planes" and t["stored_bytes"] > 0 for t in compressed["tensors"])
assert compressed["totals"]["stored_bytes"] == sum(t["stored_bytes"] for t in compressed["tensors"])
PY
# The table reads the same from the pipe.
kswap-pack mixed.safetensors --compress | kswap-inspect - >table.txt
grep -q '^file: <stdin> (kst)$' table.txt || { cat table.txt; fail "file line"; }
