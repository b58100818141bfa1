# Listing a 2 GB file reads only its header: it takes well under a second, even in a debug build.
# The file is sparse, so it costs no disk.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import json, struct
count, per = 64, 2**31 // 64
header, offset = {"__metadata__": {"format": "pt"}}, 0
for i in range(count):
    header[f"blocks.{i}.weight"] = {"dtype": "F32", "shape": [per // 4], "data_offsets": [offset, offset + per]}
    offset += per
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
with open("big.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text)
    f.truncate(8 + len(text) + offset)
PY
start=$(date +%s%N)
expect 0 kswap-inspect big.safetensors
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
out_has "total: 64 tensors, 536870912 elements, 2147483648 bytes (2.15 GB)"
echo "listed a 2.1 GB file in $elapsed_ms ms"
[ "$elapsed_ms" -lt 1000 ] || fail "listing took $elapsed_ms ms"
