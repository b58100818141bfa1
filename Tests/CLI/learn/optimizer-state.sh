# The AdamW state travels with the adapter (Formats/adapter.md, "Optimizer state"): a stage writes it,
# the next stage given --adapter continues it (moments and step count) unless --fresh-optimizer, an
# adapter without one gets a warning and a fresh AdamW, kswap-pack --exclude strips it, and merging,
# diffing and evaluating ignore it. With peft and timm installed, PEFT loads such an adapter.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b,c,d 20 1
$PY "$blobs" learn.st e,f 20 2
$PY "$blobs" forget.st a 20 3
$PY "$blobs" retain.st b,c,d 20 4
kswap-pretrain -q --train base.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 2 --batch-size 16 -o vit.st
# 60 retain images in batches of 20: 3 steps an epoch.
train=(--epochs 2 --batch-size 20 --seed 1)

# state FILE: "STEP TENSORS", the step count and how many optimizer tensors FILE holds.
state() {
  $PY - "$1" <<'PY'
import sys
from safetensors import safe_open
with safe_open(sys.argv[1], "np") as f:
    names = [k for k in f.keys() if k.startswith("kswap_optimizer.")]
    for k in names:
        assert k.startswith(("kswap_optimizer.exp_avg.base_model.model.", "kswap_optimizer.exp_avg_sq.base_model.model.")), k
        assert f.get_tensor(k).dtype.name == "float32", k
    print((f.metadata() or {}).get("kswap.optimizer_step", "-"), len(names))
PY
}

kswap-learn -q vit.st --learn learn.st --retain base.st "${train[@]}" -o learned.st
# 2 epochs of 3 retain batches from base.st (80 images: 4 batches) would be 8; LoRA on 2 blocks x 2 layers,
# A and B each: 8 tensors, two moments each.
[ "$(state learned.st)" = "8 16" ] || fail "learned.st: optimizer state $(state learned.st), expected step 8 and 16 tensors"

# Continued by default: the forgetting stage's steps count on from the learning stage's.
expect 0 kswap-forget vit.st --adapter learned.st --forget forget.st --retain retain.st "${train[@]}" -o swapped.st
grep -q "warning" err && fail "a warning continuing an adapter that has its state: $(cat err)"
[ "$(state swapped.st)" = "14 16" ] || fail "swapped.st: optimizer state $(state swapped.st), expected step 8 + 6"

# --fresh-optimizer starts again from step 0.
expect 0 kswap-forget -q vit.st --adapter learned.st --forget forget.st --retain retain.st "${train[@]}" \
  --fresh-optimizer -o fresh.st
[ "$(state fresh.st)" = "6 16" ] || fail "fresh.st: optimizer state $(state fresh.st), expected step 6"
cmp -s fresh.st swapped.st && fail "--fresh-optimizer wrote the same adapter as the continued stage"

# kswap-pack strips the state; continuing the stripped adapter warns (even with -q) and starts afresh,
# which gives the --fresh-optimizer result (but for the recorded settings).
kswap-pack learned.st --exclude 'kswap_optimizer.*' -o stripped.st
[ "$(state stripped.st)" = "8 0" ] || fail "stripped.st still holds optimizer tensors: $(state stripped.st)"
expect 0 kswap-forget -q vit.st --adapter stripped.st --forget forget.st --retain retain.st "${train[@]}" -o warned.st
err_has "kswap-forget: warning: stripped.st holds no optimizer state"
err_has "the stage starts a fresh AdamW"
[ "$(state warned.st)" = "6 16" ] || fail "warned.st: optimizer state $(state warned.st), expected step 6"
$PY - <<'PY'
from safetensors.numpy import load_file
a, b = load_file("warned.st"), load_file("fresh.st")
assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), "a stripped adapter continued != --fresh-optimizer"
PY

# The head trains now but did not in the learning stage: its moments start at zero, with a note.
$PY "$blobs" learn2.st g 20 5
expect 0 kswap-learn vit.st --adapter swapped.st --learn learn2.st --retain retain.st "${train[@]}" --train-head -o more.st
err_has "swapped.st holds no optimizer state for base_model.model.head.weight, base_model.model.head.bias: their moments start at zero"
[ "$(state more.st)" = "20 20" ] || fail "more.st: optimizer state $(state more.st), expected step 14 + 6 and the head's 4 more tensors"

# Merging, diffing and evaluating ignore the state: the stripped adapter gives the same results.
kswap-merge vit.st learned.st -o merged.st
kswap-merge vit.st stripped.st -o merged-stripped.st
cmp merged.st merged-stripped.st
kswap-diff learned.st swapped.st --by block --json >diff.json
kswap-diff learned.st swapped.st --json | grep -q kswap_optimizer && fail "kswap-diff lists optimizer tensors"
kswap-eval -q vit.st --adapter learned.st --set base.st --json >eval.json
kswap-eval -q vit.st --adapter stripped.st --set base.st --json >eval-stripped.json
cmp eval.json <(sed 's/stripped.st/learned.st/' eval-stripped.json)

# A malformed state is refused, naming the file and the tensor.
$PY - <<'PY'
from safetensors import safe_open
from safetensors.numpy import save_file
with safe_open("learned.st", "np") as f:
    meta = f.metadata()
    tensors = {k: f.get_tensor(k) for k in f.keys()}
name = "kswap_optimizer.exp_avg_sq.base_model.model.blocks.0.mlp.fc1.lora_A.weight"
save_file({k: v for k, v in tensors.items() if k != name}, "half.st", metadata=meta)
save_file(tensors, "nostep.st", metadata={k: v for k, v in meta.items() if k != "kswap.optimizer_step"})
bad = dict(tensors)
for moment in ("exp_avg", "exp_avg_sq"):
    key = f"kswap_optimizer.{moment}.base_model.model.blocks.0.mlp.fc1.lora_A.weight"
    bad[key] = bad[key][:, :-1].copy()
save_file(bad, "misshapen.st", metadata=meta)
PY
expect 2 kswap-forget vit.st --adapter half.st --forget forget.st --retain retain.st -o out.st
err_has "half.st: tensor 'kswap_optimizer.exp_avg.base_model.model.blocks.0.mlp.fc1.lora_A.weight': has no matching"
expect 2 kswap-merge vit.st half.st -o out.st
err_has "has no matching kswap_optimizer.exp_avg_sq"
expect 2 kswap-forget vit.st --adapter nostep.st --forget forget.st --retain retain.st -o out.st
err_has "nostep.st: optimizer state without a step count: metadata 'kswap.optimizer_step'"
expect 2 kswap-forget vit.st --adapter misshapen.st --forget forget.st --retain retain.st -o out.st
err_has "misshapen.st: optimizer state of 'base_model.model.blocks.0.mlp.fc1.lora_A.weight' has shape [8, 15]"
# The adapter file itself is broken, so --fresh-optimizer does not help.
expect 2 kswap-forget vit.st --adapter half.st --forget forget.st --retain retain.st --fresh-optimizer -o out.st
[ ! -e out.st ] || fail "out.st written by a refused run"

# PEFT loads an adapter with the state (the extra tensors are unexpected keys it leaves alone) and gives
# kswap-eval's logits.
if $PY -c 'import peft, timm' 2>/dev/null; then
  kswap-eval -q vit.st --adapter fresh.st --set base=base.st --logits logits.st >/dev/null
  $PY - <<'PY'
import json, os, warnings
import numpy as np, torch, timm
from peft import PeftModel
from safetensors import safe_open
from safetensors.numpy import load_file
with safe_open("vit.st", "np") as f:
    meta = f.metadata()
    base = {k: torch.from_numpy(f.get_tensor(k)) for k in f.keys()}
with safe_open("fresh.st", "np") as f:
    adapter_meta = f.metadata()
    rows = f.get_slice("base_model.model.head.weight").get_shape()[0]  # the learn stage's e and f added 2
# The base with the adapter's head size: its own head rows travel in the adapter (modules_to_save).
model = timm.models.vision_transformer.VisionTransformer(
    img_size=8, patch_size=4, in_chans=1, embed_dim=16, depth=2, num_heads=2, mlp_ratio=2, num_classes=rows)
missing = model.load_state_dict({k: v for k, v in base.items() if not k.startswith("head.")}, strict=False)
assert sorted(missing.missing_keys) == ["head.bias", "head.weight"], missing
os.makedirs("peft", exist_ok=True)
cfg = {k: json.loads(adapter_meta[k]) for k in ("peft_type", "r", "lora_alpha", "target_modules", "modules_to_save")}
json.dump(cfg, open("peft/adapter_config.json", "w"))
os.link("fresh.st", "peft/adapter_model.safetensors")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    peft_model = PeftModel.from_pretrained(model, "peft").eval()
for w in caught: print("PEFT warns:", w.message)
data = load_file("base.st")
mean, std = json.loads(meta.get("mean", "[0.5]"))[0], json.loads(meta.get("std", "[0.5]"))[0]
x = torch.from_numpy((data["images"].astype(np.float32) / 255 - mean) / std)
with torch.no_grad():
    ours = torch.from_numpy(load_file("logits.st")["base"])
    theirs = peft_model(x)
err = ((ours - theirs).abs().max() / theirs.abs().max()).item()
assert err < 1e-4, err
print("PEFT logits vs kswap-eval: largest relative error", err)
PY
else
  skip_part "PEFT loading an adapter with optimizer state: peft and timm do not import in $PY (pip install peft timm)"
fi
