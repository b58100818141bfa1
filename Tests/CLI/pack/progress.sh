# On a terminal a progress line is redrawn on stderr; in a pipe or log only the closing summary
# appears; -q silences both.
. "$ROOT/Tests/CLI/lib.sh"
make_mixed m.safetensors
expect 0 kswap-pack m.safetensors --compress -o a.kst
[ "$(wc -l <err)" = 1 ] && grep -qE '^kswap-pack: wrote a\.kst: 14 tensors, 2\.63 kB of data, [0-9.]+ kB on disk$' err \
  || { cat err; fail "one summary line expected"; }
expect 0 kswap-pack m.safetensors --compress -o b.kst -q
[ ! -s err ] || fail "-q should print nothing"
if command -v script >/dev/null; then
  script -qec "kswap-pack m.safetensors --compress -o c.kst" /dev/null >tty.out </dev/null
  grep -q $'\rkswap-pack: pack  step 14/14' tty.out || { od -c tty.out | head; fail "no progress line on a terminal"; }
  grep -q 'kswap-pack: wrote c.kst' tty.out || fail "no summary on a terminal"
  script -qec "kswap-pack m.safetensors --compress -q -o d.kst" /dev/null >quiet.out </dev/null
  [ ! -s quiet.out ] || { od -c quiet.out | head; fail "-q on a terminal should print nothing"; }
fi
