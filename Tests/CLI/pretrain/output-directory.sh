# A model whose directory cannot take it (missing, read-only) is refused before any training, before the
# data is even read (here a FIFO no one writes to: opening it would block): exit 2, the message names
# the output and why.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo train
expect 2 timeout 20 kswap-pretrain --train train -o missing/model.safetensors
err_has "kswap-pretrain: error: missing/model.safetensors: cannot create it in missing: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-pretrain --train train -o ro/model.safetensors
  err_has "ro/model.safetensors: cannot create it in ro: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
