# kswap-learn and kswap-forget on a segmentation model with segmentation datasets (lib.sh's
# make_segmentation_swap): the paper's segmentation recipe is the default (beta 0.9 on the learn loss,
# alpha 0.01, BND 115, a fresh AdamW when a stage continues an adapter), the learn set's new class gets
# a head row while its background is matched by name, the forget set's background is kept, --eval
# reports mIoU, --grad-log and --resume work, --continue-optimizer continues the AdamW, and --beta,
# --alpha and --bound override the defaults. About 5 s.
. "$ROOT/Tests/CLI/lib.sh"
make_segmentation_swap
train=(--epochs 2 --batch-size 10 --seed 1)

# training FILE KEY...: the values of kswap.training's keys in the adapter FILE, space-separated, and
# its optimizer step count last.
training() {
  $PY - "$@" <<'PY'
import json, sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    meta = f.metadata()
settings = json.loads(meta["kswap.training"])
print(" ".join([settings[k] for k in sys.argv[2:]] + [meta["kswap.optimizer_step"]]))
PY
}

expect 0 kswap-learn seg.st --learn learn.st --retain retain.st "${train[@]}" --eval learn=learn-test.st \
  --grad-log grad.jsonl -o learned.st
err_has "learn_mIoU%"
# 30 retain scenes in batches of 10: 3 steps an epoch, 6 in all.
got=$(training learned.st task beta alpha beta_scales)
[ "$got" = "segmentation 0.9 0.01 learn 6" ] || fail "learned.st: settings and step '$got'"
$PY - <<'PY'
import json
from safetensors import safe_open
with safe_open("learned.st", "np") as f:
    classes = json.loads(f.metadata()["classes"])
    head = f.get_tensor("base_model.model.head.weight")
# The scenes' background is the model's; e is new and takes a fifth row.
assert classes == ["background", "a", "b", "c", "e"], classes
assert head.shape == (5, 16), head.shape
lines = open("grad.jsonl").read().splitlines()
assert len(lines) == 1 + 6, len(lines)
PY

# Forgetting continues the adapter with a fresh AdamW (the retain stream is retain + learn: 60 scenes,
# 6 steps an epoch); the forget set's background, which the retain sets hold too, is kept.
expect 0 kswap-forget seg.st --adapter learned.st --forget forget.st --retain retain.st --retain learn.st "${train[@]}" \
  -o swapped.st
err_has "forgetting a; the forget set's pixels of background, which a retain set holds too, count in no term"
got=$(training swapped.st task beta alpha bound fresh_optimizer)
[ "$got" = "segmentation 0.2 0.01 115.0 true 12" ] || fail "swapped.st: settings and step '$got'"
expect 0 kswap-forget -q seg.st --adapter learned.st --forget forget.st --retain retain.st --retain learn.st \
  "${train[@]}" --continue-optimizer -o continued.st
got=$(training continued.st fresh_optimizer)
[ "$got" = "false 18" ] || fail "continued.st: --continue-optimizer gave '$got', expected step 6 + 12"
cmp -s continued.st swapped.st && fail "--continue-optimizer wrote the same adapter as a fresh AdamW"

# The flags win over the task's defaults.
expect 0 kswap-learn -q seg.st --learn learn.st --retain retain.st "${train[@]}" --beta 0.5 --alpha 0.002 -o b.st
got=$(training b.st beta alpha)
[ "$got" = "0.5 0.002 6" ] || fail "b.st: --beta/--alpha gave '$got'"
expect 0 kswap-forget -q seg.st --forget forget.st --retain retain.st "${train[@]}" --beta 0.3 --bound 7 -o f.st
got=$(training f.st beta bound)
[ "$got" = "0.3 7.0 6" ] || fail "f.st: --beta/--bound gave '$got'"

# The swapped model evaluates on every set, by class name.
expect 0 kswap-eval -q seg.st --adapter swapped.st --set learn=learn-test.st --set forget=forget-test.st \
  --set retain=retain-test.st --json
$PY -c 'import json,sys; j=json.load(open("out")); assert [s["name"] for s in j["sets"]] == ["learn", "forget", "retain"]'

# Reproducible to the byte; an interrupted run resumed writes what an uninterrupted one does.
long=(--epochs 12 --batch-size 2 --seed 3)
kswap-learn -q seg.st --learn learn.st --retain retain.st "${long[@]}" -o full.st
kswap-learn -q seg.st --learn learn.st --retain retain.st "${long[@]}" -o again.st
cmp full.st again.st
kswap-learn -q seg.st --learn learn.st --retain retain.st "${long[@]}" -o part.st &
pid=$!
for _ in $(seq 1 600); do [ -e part.st.state ] && break; sleep 0.05; done
kill -TERM $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
if [ -e part.st.state ]; then
  [ ! -e part.st ]
  kswap-learn -q seg.st --learn learn.st --retain retain.st "${long[@]}" -o part.st --resume
  [ ! -e part.st.state ]
  cmp full.st part.st
else
  skip_part "the resume check: the run ended before it could be interrupted"
fi
