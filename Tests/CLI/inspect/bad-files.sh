# Malformed or unreadable files: exit 2 and one message naming the file and what was wrong;
# never a crash.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed good.safetensors
size=$(stat -c %s good.safetensors)
head -c $((size - 5)) good.safetensors >truncated.safetensors
: >empty.safetensors
printf 'not a weight file at all' >text.safetensors
"$PY" -c '
import struct
open("huge-header.safetensors", "wb").write(struct.pack("<Q", 2**40) + b"{}")
h = b"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}"
open("overlap.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(12))
h = b"{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,4]}}"
open("dtype.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + bytes(4))'
kswap-pack good.safetensors --compress -o good.kst
"$PY" -c '
data = bytearray(open("good.kst", "rb").read())
data[len(data) // 2] ^= 0xFF
open("corrupt.kst", "wb").write(data)'
mkdir directory.safetensors
for file in truncated.safetensors empty.safetensors text.safetensors huge-header.safetensors \
  overlap.safetensors dtype.safetensors missing.safetensors directory.safetensors; do
  expect 2 kswap-inspect "$file"
  err_has "kswap-inspect: error: $file"
  [ "$(wc -l <err)" = 1 ] || { cat err; fail "$file: one line of error expected"; }
  [ ! -s out ] || fail "$file: nothing on stdout expected"
done
# A flipped byte inside compressed data is caught when the data is read.
expect 2 kswap-inspect corrupt.kst --stats
err_has "kswap-inspect: error: corrupt.kst"
# The same through a pipe.
expect 2 sh -c 'cat truncated.safetensors | kswap-inspect - --stats'
err_has "kswap-inspect: error:"
