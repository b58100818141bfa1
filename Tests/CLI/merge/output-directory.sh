# An output whose directory cannot take it (missing, read-only) is refused before any input is read
# (here FIFOs no one writes to: opening one would block): exit 2, the message names the output and why.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo base adapter
expect 2 timeout 20 kswap-merge base adapter -o missing/merged.safetensors
err_has "kswap-merge: error: missing/merged.safetensors: cannot create it in missing: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-merge base adapter -o ro/merged.safetensors
  err_has "ro/merged.safetensors: cannot create it in ro: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
