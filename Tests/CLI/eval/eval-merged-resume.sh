# kswap-eval: base + adapter unmerged gives the numbers of the merged model; --json follows
# Formats/eval-json.md; --logits writes one tensor per set. Training is reproducible to the byte with
# --seed, and a run interrupted after an epoch and resumed writes the same adapter as an uninterrupted one.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 30 1
$PY "$blobs" learn.st e,f 30 2
$PY "$blobs" learn-test.st e,f 10 3
$PY "$blobs" test.st a,b,c,d 10 4
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 6 --batch-size 16 -o vit.st
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 3 --batch-size 16 --seed 3 -o a.st
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 3 --batch-size 16 --seed 3 -o b.st
cmp a.st b.st

# Unmerged and merged: same accuracies, logits equal to rounding.
kswap-eval vit.st --adapter a.st --set learn=learn-test.st --set old=test.st --json --logits l1.st > unmerged.json
kswap-merge vit.st a.st -o merged.st
kswap-eval merged.st --set learn=learn-test.st --set old=test.st --json --logits l2.st > merged.json
$PY - <<'PY'
import json
import numpy as np
from safetensors.numpy import load_file
u, m = json.load(open("unmerged.json")), json.load(open("merged.json"))
assert u["classes"] == m["classes"] == ["a", "b", "c", "d", "e", "f"], u["classes"]
assert [s["correct"] for s in u["sets"]] == [s["correct"] for s in m["sets"]], (u, m)
s = u["sets"][0]
assert s["name"] == "learn" and s["images"] == 20 and abs(s["accuracy"] - 100 * s["correct"] / 20) < 1e-9
assert [c["class"] for c in s["per_class"]] == ["e", "f"] and [c["row"] for c in s["per_class"]] == [4, 5]
a, b = load_file("l1.st"), load_file("l2.st")
assert a["learn"].shape == (20, 6) and a["old"].shape == (40, 6)
for k in a: assert np.abs(a[k] - b[k]).max() < 1e-3, k
PY

# Resume: stop after the first epoch's state is saved (SIGTERM: a background job of a script ignores
# SIGINT), then --resume; compare with the full run.
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 3 -o full.st
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 3 -o part.st &
pid=$!
for _ in $(seq 1 600); do [ -e part.st.state ] && break; sleep 0.05; done
kill -TERM $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
if [ -e part.st.state ]; then
  [ ! -e part.st ]
  kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 3 -o part.st --resume
  [ ! -e part.st.state ]
else
  skip_part "the resume check: the run ended before it could be interrupted (only its output was compared)"
fi
cmp full.st part.st
# A different run is not resumed from that state.
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 3 -o x.st &
pid=$!
for _ in $(seq 1 600); do [ -e x.st.state ] && break; sleep 0.05; done
kill -TERM $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
if [ -e x.st.state ]; then
  set +e
  kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 4 -o x.st --resume 2>err.txt
  status=$?
  set -e
  [ "$status" = 2 ] || fail "resuming with other options: status $status, expected 2"
  grep -q "saved by a run with other inputs or options" err.txt
  # The dropout probability is part of the run too (the state was saved at the default 0.1).
  set +e
  kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 12 --batch-size 4 --seed 3 --dropout 0 -o x.st \
    --resume 2>err.txt
  status=$?
  set -e
  [ "$status" = 2 ] || fail "resuming with another --dropout: status $status, expected 2"
  grep -q "saved by a run with other inputs or options" err.txt
else
  skip_part "the foreign-state check: the run ended before it could be interrupted"
fi
