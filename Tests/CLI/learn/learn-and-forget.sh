# A tiny end-to-end swap: pretrain a ViT on blobs a-d, learn e and f, then forget a.
#
# Thresholds, and why they have room: every blob sits inside one 4x4 patch at an in-patch offset no
# other class uses (make-blobs.py), so the frozen patch embedding alone tells all classes apart and
# every stage ends decisively. Test sets hold 50 images per class (one image is 2% of the forget set,
# 1% of learn, 0.67% of retain, 0.5% of base). Measured with the settings below, seeds 0-4 (the case
# runs seed 0), and with OPENBLAS_NUM_THREADS=1, training with the default dropout 0.1 and the
# forgetting stage continuing the learning stage's AdamW (the default since the adapter carries it):
#   base after pretraining 100%; forget set before forgetting 100%; learn after learning 100%;
#   after forgetting: forget 0%, retain 97-100%, learn 98-100%
# (with a fresh AdamW in the forgetting stage: retain 97.3-100%, learn 97-100%; with that and
# --dropout 0: learn after learning 99-100%; after forgetting retain 98.7-100%, learn 98-100%).
# Each threshold sits at least 10 images away from every measured value, so a change of float rounding
# (which moved an earlier, 20-images-per-class version of this case from 92% to 88% against 90%) cannot
# cross it; a real regression (no learning, no forgetting, a collapsed retain set) still does.
# Base accuracy on a-d right after learning is not checked: it varies with the seed (52-98%).
# Takes about 5 s of CPU (10 s on a busy 2-core machine); it took 14 s of pretraining alone before.
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 60 1
$PY "$blobs" base-test.st a,b,c,d 50 2
$PY "$blobs" learn.st e,f 60 3
$PY "$blobs" learn-test.st e,f 50 4
$PY "$blobs" forget.st a 60 5
$PY "$blobs" forget-test.st a 50 6
$PY "$blobs" retain.st b,c,d 60 7
$PY "$blobs" retain-test.st b,c,d 50 8
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 8 --batch-size 16 \
  --warmup 10 --lr 5e-3 --seed 0 -o vit.st
acc() { kswap-eval -q "$@" --json | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["sets"][0]["accuracy"]))'; }
check() {  # check NAME VALUE OP LIMIT: VALUE OP LIMIT holds, else the case fails naming both
  echo "$1: $2%"
  [ "$2" "$3" "$4" ] || { echo "FAILED: $1 is $2%, the case wants $3 $4"; exit 1; }
}
check "base accuracy after pretraining" "$(acc vit.st --set base-test.st)" -ge 90
check "forget-set accuracy before forgetting" "$(acc vit.st --set forget-test.st)" -ge 80

kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 8 --batch-size 20 --seed 0 -o learned.st
check "learn accuracy after learning" "$(acc vit.st --adapter learned.st --set learn-test.st)" -ge 80

kswap-forget -q vit.st --adapter learned.st --forget forget.st --retain retain.st --retain learn.st \
  --epochs 2 --batch-size 20 --seed 0 -o swapped.st
check "forget accuracy after forgetting" "$(acc vit.st --adapter swapped.st --set forget-test.st)" -le 20
check "retain accuracy after forgetting" "$(acc vit.st --adapter swapped.st --set retain-test.st)" -ge 80
check "learn accuracy after forgetting" "$(acc vit.st --adapter swapped.st --set learn-test.st)" -ge 80
