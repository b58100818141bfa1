# A tiny end-to-end swap: pretrain a ViT on blobs a-d, learn e and f, then forget a.
# Learn accuracy must rise from nothing (the base has no rows for e and f) to >= 80%, forget accuracy
# fall from >= 90% to <= 10%, while retain keeps >= 60% (of 6 classes; chance is 17%) and learn >= 70%.
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 60 1
$PY "$blobs" base-test.st a,b,c,d 20 2
$PY "$blobs" learn.st e,f 60 3
$PY "$blobs" learn-test.st e,f 20 4
$PY "$blobs" forget.st a 60 5
$PY "$blobs" forget-test.st a 20 6
$PY "$blobs" retain.st b,c,d 60 7
$PY "$blobs" retain-test.st b,c,d 20 8
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 40 --batch-size 16 \
  --warmup 10 --lr 5e-3 -o vit.st
acc() { kswap-eval -q "$@" --json | $PY -c 'import json,sys; print(round(json.load(sys.stdin)["sets"][0]["accuracy"]))'; }
[ "$(acc vit.st --set base-test.st)" -ge 90 ]

kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 16 --batch-size 20 -o learned.st
learn=$(acc vit.st --adapter learned.st --set learn-test.st)
echo "learn accuracy after learning: $learn%"
[ "$learn" -ge 80 ]

kswap-forget -q vit.st --adapter learned.st --forget forget.st --retain retain.st --retain learn.st \
  --epochs 4 --batch-size 20 -o swapped.st
forget=$(acc vit.st --adapter swapped.st --set forget-test.st)
retain=$(acc vit.st --adapter swapped.st --set retain-test.st)
learn=$(acc vit.st --adapter swapped.st --set learn-test.st)
echo "after forgetting: forget $forget%, retain $retain%, learn $learn%"
[ "$(acc vit.st --set forget-test.st)" -ge 90 ]
[ "$forget" -le 10 ]
[ "$retain" -ge 60 ]
[ "$learn" -ge 70 ]
