# A kswap-learn run killed mid-epoch with SIGKILL (no handler runs, nothing is cleaned up) leaves the
# previous adapter at its path untouched and the state of its last finished epoch whole; --resume then
# finishes the run and writes the adapter an uninterrupted run writes. (SIGINT and SIGTERM:
# Tests/CLI/eval/eval-merged-resume.sh.)
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 300 1  # an epoch is a pass over the retain set: 300 steps here
$PY "$blobs" learn.st e,f 30 2
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 4 --batch-size 16 \
  -o vit.st
run=(kswap-learn -q vit.st --learn learn.st --retain base.st --batch-size 4 --seed 3)
"${run[@]}" --epochs 20 -o full.st
"${run[@]}" --epochs 1 -o adapter.st
cp adapter.st previous.st

"${run[@]}" --epochs 20 -o adapter.st -f &
pid=$!
for _ in $(seq 1 600); do [ -e adapter.st.state ] && break; sleep 0.05; done
sleep 0.05  # into the next epoch
kill -KILL $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
cmp adapter.st previous.st || fail "the killed run changed the previous adapter"
if [ -e adapter.st.state ]; then
  kswap-inspect adapter.st.state >/dev/null || fail "the state file is damaged"
  # A kill while the state was being saved leaves that save's temporary file (OutputFile's documented
  # limit: no handler runs on SIGKILL); the saved state itself is whole either way.
  rm -f .adapter.st.state.kswap-*
  no_litter .
  "${run[@]}" --epochs 20 -o adapter.st --resume
  [ ! -e adapter.st.state ] || fail "the state file outlived the finished run"
  cmp adapter.st full.st || fail "the resumed run wrote another adapter than the uninterrupted one"
else
  skip_part "the kill: the run ended before it could be killed (only the previous adapter was checked)"
fi
