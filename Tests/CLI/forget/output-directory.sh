# An adapter (or --grad-log) whose directory cannot take it (missing, read-only) is refused before any
# training, before any input is even read (here FIFOs no one writes to: opening one would block):
# exit 2, the message names the output and why. The saved state (OUTPUT.state) would go there too.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo model stage retain
expect 2 timeout 20 kswap-forget model --forget stage --retain retain -o missing/adapter.safetensors
err_has "kswap-forget: error: missing/adapter.safetensors: cannot create it in missing: No such file or directory"
expect 2 timeout 20 kswap-forget model --forget stage --retain retain -o adapter.safetensors --grad-log missing/g.jsonl
err_has "missing/g.jsonl: cannot create it in missing: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-forget model --forget stage --retain retain -o ro/adapter.safetensors
  err_has "ro/adapter.safetensors: cannot create it in ro: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
[ ! -e adapter.safetensors ] || fail "an adapter was written"
