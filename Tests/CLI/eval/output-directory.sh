# A --logits file whose directory cannot take it (missing, read-only) is refused before the model is
# read (here a FIFO no one writes to: opening it would block): exit 2, the message names the file.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo model images
expect 2 timeout 20 kswap-eval model --set images --logits missing/logits.safetensors
err_has "kswap-eval: error: missing/logits.safetensors: cannot create it in missing: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-eval model --set images --logits ro/logits.safetensors
  err_has "ro/logits.safetensors: cannot create it in ro: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
