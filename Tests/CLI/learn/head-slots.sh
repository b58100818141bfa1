# --head-slots N: the official head layout. A fresh adapter's head gets N rows for new classes, drawn as
# one Xavier-uniform block (bound sqrt(6 / (N + D))), bias 0, frozen; the unused ones are `null` in
# `classes` and stay in every softmax and argmax; new classes fill the first unused rows, also in a later
# stage (forgetting before learning); kswap-eval and kswap-merge take such adapters and merged models.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 20 1
$PY "$blobs" learn.st e,f 20 2
$PY "$blobs" learn-test.st e,f 10 3
$PY "$blobs" forget.st a 20 4
$PY "$blobs" retain.st b,c,d 20 5
$PY "$blobs" gh.st g,h 20 6
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 2 --batch-size 16 -o vit.st
train=(--epochs 2 --batch-size 20 --seed 1)

# Learning with 5 slots for 2 classes (width 16): rows 4-8 are the slot block, e and f take rows 4 and 5.
kswap-learn -q vit.st --learn learn.st --retain base.st "${train[@]}" --head-slots 5 -o slots.st
kswap-learn -q vit.st --learn learn.st --retain base.st "${train[@]}" -o compact.st
$PY - <<'PY'
import json
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
def read(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
base = load_file("vit.st")
slots, meta = read("slots.st")
w, b = slots["base_model.model.head.weight"], slots["base_model.model.head.bias"]
assert json.loads(meta["classes"]) == ["a", "b", "c", "d", "e", "f", None, None, None], meta["classes"]
assert json.loads(json.loads(meta["kswap.model_metadata"])["classes"])[6:] == [None] * 3
assert w.shape == (9, 16) and (w[:4] == base["head.weight"]).all() and (b[:4] == base["head.bias"]).all()
assert (b[4:] == 0).all()
# One block of 5 x 16 values from U(+-sqrt(6/21)) = +-0.535; the compact head's 2 rows use +-sqrt(6/18) = +-0.577
# (80 values from that would all stay inside 0.535 with probability 0.2%).
assert np.abs(w[4:]).max() <= (6 / 21) ** 0.5 and np.abs(w[4:]).max() > 0.45, np.abs(w[4:]).max()
compact, cmeta = read("compact.st")
assert compact["base_model.model.head.weight"].shape == (6, 16)
assert json.loads(cmeta["classes"]) == ["a", "b", "c", "d", "e", "f"]
# The head is frozen: no optimizer state for it.
assert not any("head" in k for k in slots if k.startswith("kswap_optimizer."))
assert json.loads(meta["kswap.training"])["head_slots"] == "5"
PY

# kswap-eval: the classes list names unused rows null; the argmax runs over all 9 rows.
kswap-eval -q vit.st --adapter slots.st --set learn=learn-test.st --set base.st --json --logits logits.st >eval.json
kswap-merge vit.st slots.st -o merged.st
kswap-eval -q merged.st --set learn=learn-test.st --set base.st --json >merged.json
kswap-eval vit.st --adapter slots.st --set learn=learn-test.st --per-class >table.txt
$PY - <<'PY'
import json
import numpy as np
from safetensors import safe_open
e, m = json.load(open("eval.json")), json.load(open("merged.json"))
assert e["classes"] == m["classes"] == ["a", "b", "c", "d", "e", "f", None, None, None], e["classes"]
assert [s["correct"] for s in e["sets"]] == [s["correct"] for s in m["sets"]]
with safe_open("logits.st", "np") as f:
    logits = f.get_tensor("learn")
    assert json.loads(f.metadata()["classes"])[6:] == [None] * 3
assert logits.shape == (20, 9)
labels = np.repeat([4, 5], 10)
assert (logits.argmax(1) == labels).sum() == e["sets"][0]["correct"]
PY
grep -q "^  e " table.txt || fail "the per-class table lacks class e: $(cat table.txt)"

# Forgetting before learning: the forgetting stage reserves the slots, the learning stage that continues
# it puts the new classes into the first of them and leaves the frozen head as it was.
kswap-forget -q vit.st --forget forget.st --retain retain.st "${train[@]}" --head-slots 3 -o forgot.st
kswap-learn -q vit.st --adapter forgot.st --learn learn.st --retain retain.st "${train[@]}" -o fft.st
$PY - <<'PY'
import json
from safetensors import safe_open
def read(path):
    with safe_open(path, "np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
forgot, fmeta = read("forgot.st")
fft, meta = read("fft.st")
assert json.loads(fmeta["classes"]) == ["a", "b", "c", "d", None, None, None], fmeta["classes"]
assert json.loads(meta["classes"]) == ["a", "b", "c", "d", "e", "f", None], meta["classes"]
for k in ("base_model.model.head.weight", "base_model.model.head.bias"):
    assert forgot[k].shape[0] == 7 and (forgot[k] == fft[k]).all(), k
PY
kswap-eval -q vit.st --adapter fft.st --set learn=learn-test.st >/dev/null

# Refusals: slots for a continued adapter (a usage error), too few slots for the new classes, in a fresh
# adapter and in a continued one, and no slots at all.
expect 64 kswap-learn vit.st --adapter forgot.st --learn learn.st --retain retain.st --head-slots 4 -o out.st
err_has "--head-slots lays out a fresh adapter's head; --adapter forgot.st brings its own"
expect 2 kswap-learn vit.st --learn learn.st --retain base.st --head-slots 1 -o out.st
err_has "learn.st: 2 new classes, but the model's head has only 1 unused row (reserved with --head-slots)"
expect 2 kswap-learn vit.st --adapter fft.st --learn gh.st --retain retain.st -o out.st
err_has "gh.st: 2 new classes, but the model's head has only 1 unused row"
expect 64 kswap-forget vit.st --forget forget.st --retain retain.st --head-slots 0 -o out.st
err_has "--head-slots must be at least 1"
[ ! -e out.st ] || fail "out.st written by a refused run"
