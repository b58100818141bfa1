# Output rules: an existing file or the input itself needs -f; binary output to a terminal is refused
# with a hint; usage errors exit 64.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed m.safetensors
cp m.safetensors original.safetensors
echo old >exists.kst
expect 2 kswap-pack m.safetensors -o exists.kst
err_has "kswap-pack: error: exists.kst: already exists; use -f to replace it"
[ "$(cat exists.kst)" = old ] || fail "existing output changed"
expect 0 kswap-pack m.safetensors -o exists.kst -f
expect 2 kswap-pack m.safetensors -o m.safetensors
err_has "is also the input m.safetensors"
# With -f the input is replaced through a new file, never overwritten in place.
expect 0 kswap-pack m.safetensors --compress -o m.safetensors -f
kswap-pack m.safetensors --plain -o back.safetensors
same_tensors original.safetensors back.safetensors
mkdir dir
expect 2 kswap-pack original.safetensors -o dir -f
err_has "dir: is a directory"
if command -v script >/dev/null; then
  script -qec "kswap-pack original.safetensors" /dev/null >tty.out 2>&1 </dev/null || true
  grep -q "refusing to write binary data to a terminal; use -o FILE" tty.out || { cat tty.out; fail "terminal stdout"; }
fi
for arguments in "--compress --plain" "--dtype F8" "--dtype q4" "--level 0 --compress" "--plain --level 3" \
  "--rename (=x" "--rename nothing" "--set-meta =v" "--lossy" "--no-such-flag"; do
  # shellcheck disable=SC2086
  expect 64 kswap-pack original.safetensors $arguments -o x.kst
  [ ! -e x.kst ] || fail "$arguments: no output expected"
done
expect 64 kswap-pack
expect 0 kswap-pack --help
out_has "--set-meta <k=v>"
