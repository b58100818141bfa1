# A --svg chart whose directory cannot take it (missing, read-only) is refused before the files are
# compared (here FIFOs no one writes to: opening one would block): exit 2, the message names the chart.
. "$ROOT/Tests/CLI/lib.sh"
mkfifo a b
expect 2 timeout 20 kswap-diff a b --svg missing/chart.svg
err_has "kswap-diff: error: missing/chart.svg: cannot create it in missing: No such file or directory"
if read_only_dir ro; then
  expect 2 unprivileged timeout 20 kswap-diff a b --svg ro/chart.svg
  err_has "ro/chart.svg: cannot create it in ro: Permission denied"
  [ -z "$(ls -A ro)" ] || fail "ro/ was written: $(ls -A ro)"
fi
