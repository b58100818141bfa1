# kswap-pack --peft-dir writes into a temporary directory beside DIR, made before the input is read: a
# signal while the adapter still streams in removes it (and the files registered in it), and an existing
# DIR stays as it was, even with -f.
. "$ROOT/Tests/CLI/lib.sh"
adapter="$ROOT/Tests/Fixtures/peft-export/adapter.safetensors"
mkdir dir
echo old >dir/adapter_config.json
mkfifo pipe
(head -c 1000 "$adapter"; sleep 30) >pipe &
writer=$!
kswap-pack - --peft-dir dir -f <pipe &
pack=$!
for _ in $(seq 50); do [ -n "$(find . -maxdepth 1 -name '.dir.kswap-*')" ] && break; sleep 0.1; done
[ -n "$(find . -maxdepth 1 -name '.dir.kswap-*')" ] || fail "no temporary directory while the input is read"
kill -TERM "$pack"
status=0
wait "$pack" || status=$?
kill "$writer" 2>/dev/null || true
[ "$status" = 143 ] || fail "exit status $status, expected 143 (SIGTERM)"
[ "$(ls -A dir)" = adapter_config.json ] && [ "$(cat dir/adapter_config.json)" = old ] || fail "dir/ was changed"
no_litter .
