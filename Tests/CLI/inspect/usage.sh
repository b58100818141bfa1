# Usage errors exit 64 with the usage line; --help and --version exit 0 on stdout.
. "$ROOT/Tests/CLI/lib.sh"
expect 64 kswap-inspect
grep -qi "usage: kswap-inspect <file>" err || fail "usage line"
expect 64 kswap-inspect x.safetensors --no-such-option
err_has "Unknown option '--no-such-option'"
expect 64 kswap-inspect x.safetensors --filter
expect 0 kswap-inspect --help
out_has "USAGE: kswap-inspect"
out_has "--stats"
expect 0 kswap-inspect --version
grep -qE '^kswap [0-9]+\.[0-9]+\.[0-9]+$' out || fail "version line"
expect 0 kswap inspect --version
# stdin that is a terminal is refused rather than waited on.
if command -v script >/dev/null; then
  make_mixed m.safetensors
  script -qec "kswap-inspect -" /dev/null >tty.out 2>&1 </dev/null || true
  grep -q "refusing to read binary data from a terminal" tty.out || { cat tty.out; fail "terminal stdin"; }
fi
