# Bad input is refused before any training, with exit status 2, a message naming the file and the
# problem, and no output file left behind.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 10 1
$PY "$blobs" forget.st a 10 2
$PY "$blobs" retain.st b,c 10 3
kswap-pretrain -q --train base.st --patch 4 --dim 8 --depth 1 --heads 2 --mlp-dim 8 --epochs 1 -o vit.st
kswap-pretrain -q --train base.st --patch 4 --dim 8 --depth 1 --heads 2 --mlp-dim 8 --epochs 1 --seed 9 -o other.st

refused() {  # refused PATTERN COMMAND...: exit 2, PATTERN in stderr, no out.st
  local pattern=$1; shift
  set +e; "$@" -o out.st 2>err.txt; local status=$?; set -e
  cat err.txt
  [ "$status" = 2 ] || { echo "expected status 2, got $status"; return 1; }
  grep -q -- "$pattern" err.txt || { echo "expected '$pattern' in the message"; return 1; }
  [ ! -e out.st ] || { echo "out.st was written"; return 1; }
}

# Images of another size than the model takes.
$PY - <<'PY'
import json, numpy as np
from safetensors.numpy import save_file
meta = {"dataset": "1", "classes": json.dumps(["a", "b"])}
save_file({"images": np.zeros((4, 1, 16, 16), np.uint8), "labels": np.zeros(4, np.int64)}, "big.st", metadata=meta)
save_file({"images": np.zeros((4, 1, 8, 8), np.uint8), "labels": np.array([0, 1, 5, 0], np.int64)}, "range.st", metadata=meta)
save_file({"images": np.zeros((0, 1, 8, 8), np.uint8), "labels": np.zeros(0, np.int64)}, "empty.st", metadata=meta)
save_file({"images": np.zeros((4, 1, 8, 8), np.uint8), "labels": np.zeros(4, np.int64)}, "strange.st",
          metadata={"dataset": "1", "classes": json.dumps(["zebra"])})
PY
refused "big.st: images are 1x16x16; vit.st takes 1x8x8" kswap-forget vit.st --forget big.st --retain retain.st
refused "range.st: label 5 is out of range" kswap-forget vit.st --forget forget.st --retain range.st
refused "empty.st: the dataset is empty" kswap-learn vit.st --learn empty.st --retain retain.st
refused "strange.st: class 'zebra' is not one of the model's 4 classes" kswap-forget vit.st --forget strange.st --retain retain.st
refused "learn class 'a' is already one of the model's classes" kswap-learn vit.st --learn forget.st --retain retain.st
refused "class 'a' is in both the forget set" kswap-forget vit.st --forget forget.st --retain base.st
refused "no-such.st" kswap-forget vit.st --forget no-such.st --retain retain.st
refused "not an adapter" kswap-forget vit.st --adapter retain.st --forget forget.st --retain retain.st

# An adapter trained on one base is refused on another.
kswap-forget -q vit.st --forget forget.st --retain retain.st --epochs 1 -o adapter.st
refused "adapter for another base model" kswap-forget other.st --adapter adapter.st --forget forget.st --retain retain.st
set +e; kswap-eval other.st --adapter adapter.st --set retain.st 2>err.txt; status=$?; set -e
[ "$status" = 2 ] || fail "kswap-eval with a foreign adapter: status $status, expected 2"
grep -q "adapter for another base model" err.txt

# Usage errors are status 64.
set +e; kswap-learn vit.st --learn forget.st -o out.st 2>/dev/null; status=$?; set -e
[ "$status" = 64 ]
set +e; kswap-forget vit.st --forget forget.st --retain retain.st --epochs 0 -o out.st 2>/dev/null; status=$?; set -e
[ "$status" = 64 ]
# A dropout probability outside [0, 1), on both training tools.
for p in 1 -0.1 nan; do  # --dropout=P: "-0.1" alone would read as an option
  set +e; kswap-forget vit.st --forget forget.st --retain retain.st --dropout=$p -o out.st 2>err.txt; status=$?; set -e
  [ "$status" = 64 ] && grep -q -- "--dropout must be at least 0 and below 1" err.txt || fail "--dropout $p: status $status"
done
set +e; kswap-learn vit.st --learn forget.st --retain retain.st --dropout 1 -o out.st 2>err.txt; status=$?; set -e
[ "$status" = 64 ] && grep -q -- "--dropout must be at least 0 and below 1" err.txt || fail "kswap-learn --dropout 1: status $status"
[ ! -e out.st ]
