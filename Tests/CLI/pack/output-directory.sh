# An output whose directory cannot take it (missing, a file, read-only) is refused before the input is
# read (here a FIFO no one writes to: opening it would block): exit 2, the message names the output and
# why, nothing is written. The same for --peft-dir, whose temporary directory is made before the input
# is read.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo never
touch plain
expect 2 timeout 20 kswap-pack never -o missing/out.kst
err_has "kswap-pack: error: missing/out.kst: cannot create it in missing: No such file or directory"
expect 2 timeout 20 kswap-pack never -o plain/out.kst
err_has "plain/out.kst: cannot create it in plain: Not a directory"
expect 2 timeout 20 kswap-pack never --peft-dir missing/peft
err_has "missing/peft: cannot create a temporary directory beside it: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-pack never -o ro/out.kst
  err_has "ro/out.kst: cannot create it in ro: Permission denied"
  expect 2 unprivileged timeout 20 kswap-pack never --peft-dir ro/peft
  err_has "ro/peft: cannot create a temporary directory beside it: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
[ ! -e missing ] || fail "missing/ was created"
