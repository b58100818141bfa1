# The table lists every tensor with dtype, shape, sizes and codec, the metadata, and exact totals.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed mixed.safetensors
expect 0 kswap-inspect mixed.safetensors
out_has "file: mixed.safetensors (safetensors, $(stat -c %s mixed.safetensors) bytes)"
out_has "  format: pt"
out_has "  note: mixed dtypes"
grep -qE '^blocks\.0\.attn\.qkv\.weight +F32 +\[24, 8\] +192 +768 +768 +none$' out || fail "qkv row"
grep -qE '^scale +F32 +\[\] +1 +4 +4 +none$' out || fail "scalar row"
grep -qE '^empty +F32 +\[0, 4\] +0 +0 +0 +none$' out || fail "empty row"
grep -qE '^mask +BOOL +\[3\] +3 +3 +3 +none$' out || fail "bool row"
# 192+24+128+128+40+10+3+3+3+3+1+0+2+2 elements; 768+48+1024+512+160+80+3+3+6+3+4+0+16+8 bytes.
out_has "total: 14 tensors, 539 elements, 2635 bytes (2.63 kB)"
[ ! -s err ] || fail "stderr should be empty"
