# --grad-log: one header line and one line per step with a running average per trainable tensor,
# written atomically; refused with --resume; Scripts/plot-grad-log draws it.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 20 1
$PY "$blobs" learn.st e,f 20 3
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 1 --batch-size 16 \
  --warmup 1 --seed 0 -o vit.st
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 2 --batch-size 20 --seed 0 --grad-log grads.jsonl \
  -o learned.st
# 80 retain images in batches of 20: 4 steps an epoch, 8 in all.
$PY - <<'PY'
import json
lines = [json.loads(l) for l in open("grads.jsonl")]
header, steps = lines[0], lines[1:]
assert header["format"] == "kswap.grad-log" and header["stage"] == "learn", header
assert header["steps_per_epoch"] == 4 and header["epochs"] == 2, header
# LoRA A and B on fc1 and fc2 of 2 blocks.
assert len(header["parameters"]) == 8 and all(".lora_" in p for p in header["parameters"]), header
assert [s["step"] for s in steps] == list(range(1, 9)), [s["step"] for s in steps]
assert [s["epoch"] for s in steps] == [1] * 4 + [2] * 4
for s in steps:
    assert len(s["mean"]) == 8 and len(s["mean_abs"]) == 8
    assert all(a >= abs(m) for m, a in zip(s["mean"], s["mean_abs"])), s
    assert all(a > 0 for a in s["mean_abs"]), s
PY
expect 64 kswap-learn -q vit.st --learn learn.st --retain base.st --grad-log g2.jsonl --resume -o again.st
err_has "cannot be combined with --resume"
expect 2 kswap-learn -q vit.st --learn learn.st --retain base.st --grad-log grads.jsonl -o again.st
err_has "grads.jsonl: already exists"
[ ! -e g2.jsonl ] && [ ! -e again.st ] || fail "a refused run wrote something"
no_litter .
$PY "$ROOT/Scripts/plot-grad-log" grads.jsonl -o grads.svg >plot.txt
grep -q "<polyline" grads.svg || fail "no curves in the chart"
grep -q "learn): blocks by" plot.txt || fail "no block ordering printed"
