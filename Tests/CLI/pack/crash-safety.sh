# A pack that fails midway (truncated input, full disk, file-size limit, a full stdout, SIGTERM,
# SIGKILL) leaves an existing destination untouched, and (except after SIGKILL) no temporary file.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" -c '
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(1)
save_file({f"blocks.{i}.weight": rng.standard_normal((256, 256)).astype(np.float32) for i in range(8)}, "big.safetensors")'
mkdir target
echo "precious" >target/dest.kst
unchanged() { [ "$(cat target/dest.kst)" = precious ] || fail "destination changed ($1)"; no_litter target; }

# Truncated input on a pipe: the header is fine, the data ends early.
expect 2 sh -c 'head -c 300000 big.safetensors | kswap-pack - --compress -o target/dest.kst -f'
err_has "kswap-pack: error:"
unchanged "truncated input"

# File-size limit (EFBIG), which any user can set.
expect 2 bash -c 'trap "" XFSZ; ulimit -f 64; exec kswap-pack big.safetensors --plain -o target/dest.kst -f'
err_has "target/dest.kst"
unchanged "file-size limit"

# A full disk: a 256 kB tmpfs, where root may mount one.
mkdir small
if mount -t tmpfs -o size=256k tmpfs small 2>/dev/null; then
  trap 'umount small 2>/dev/null || true' EXIT
  echo precious >small/dest.kst
  expect 2 kswap-pack big.safetensors --plain -o small/dest.kst -f
  err_has "No space left on device"
  [ "$(cat small/dest.kst)" = precious ] || fail "destination changed (full disk)"
  leftovers=$(ls -A small)
  umount small
  [ "$leftovers" = dest.kst ] || fail "full disk left: $leftovers"
else
  echo "skipped the tmpfs case: cannot mount here"
fi

# stdout on a full device.
expect 2 sh -c 'kswap-pack big.safetensors --plain >/dev/full'
err_has "No space left on device"

# SIGTERM while the input trickles in: the temporary file is removed, the destination kept.
# (SIGINT and SIGHUP: Tests/CommandsTests/InterruptCleanupTests.swift, since a script's background
# job starts with SIGINT ignored.)
interrupted() {
  local signal=$1
  (head -c 400000 big.safetensors; sleep 10; tail -c +400001 big.safetensors) \
    | kswap-pack - --plain -o target/dest.kst -f 2>term.err &
  local pid=$!
  for _ in $(seq 50); do
    ls -A target | grep -q '^\.dest\.kst\.kswap-' && break
    sleep 0.1
  done
  ls -A target | grep -q '^\.dest\.kst\.kswap-' || fail "no temporary file appeared"
  kill -"$signal" "$pid"
  wait "$pid" 2>/dev/null || true
  [ "$(cat target/dest.kst)" = precious ] || fail "destination changed ($signal)"
}
interrupted TERM
no_litter target
interrupted KILL
# An uncatchable kill may leave the temporary file, never a changed destination.
rm -f target/.dest.kst.*
# And a successful run replaces it.
expect 0 kswap-pack big.safetensors --compress -o target/dest.kst -f
no_litter target
kswap-pack target/dest.kst --plain | cmp - <(kswap-pack big.safetensors --plain)
