# kswap-pack ADAPTER --peft-dir DIR, the way back to PyTorch. Scripts/make-peft-export-fixture.py loaded
# Tests/Fixtures/peft-export/peft/ with PeftModel.from_pretrained onto timm's VisionTransformer and
# committed PyTorch's logits; here (no torch) kswap-pack must write that directory again byte for byte, and
# kswap-eval on the same base and adapter must give those logits to 1e-4 of the largest. kswap reads the
# directory back to the same logits and exports it again unchanged, and an adapter fresh from kswap-learn
# exports its LoRA matrices and head and nothing else (no optimizer state).
. "$ROOT/Tests/CLI/lib.sh"
fixture="$ROOT/Tests/Fixtures/peft-export"
expect 0 kswap-pack "$fixture/adapter.safetensors" --peft-dir peft
err_has "kswap-pack: wrote peft: PEFT adapter, LoRA on 4 modules, modules_to_save head"
[ "$(ls -A peft | tr '\n' ' ')" = "adapter_config.json adapter_model.safetensors " ] || fail "peft/ holds $(ls -A peft)"
cmp peft/adapter_model.safetensors "$fixture/peft/adapter_model.safetensors"
cmp peft/adapter_config.json "$fixture/peft/adapter_config.json"
no_litter .

images="images=$fixture/images.safetensors"
kswap-eval -q "$fixture/vit.safetensors" --adapter "$fixture/adapter.safetensors" --set "$images" --logits kswap.st >/dev/null
kswap-eval -q "$fixture/vit.safetensors" --adapter peft --set "$images" --logits back.st >/dev/null
"$PY" - "$fixture/logits.safetensors" <<'PY'
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
torch_logits, kswap, back = (load_file(p)["images"] for p in (sys.argv[1], "kswap.st", "back.st"))
assert kswap.shape == torch_logits.shape == (12, 6), (kswap.shape, torch_logits.shape)
error = np.abs(kswap - torch_logits).max() / np.abs(torch_logits).max()
print(f"kswap-eval vs PEFT + timm: {error:.2e} of the largest logit")
assert error <= 1e-4, error
assert np.array_equal(kswap, back), "kswap reads its PEFT export back to other logits"
with safe_open(sys.argv[1], "np") as f, safe_open("kswap.st", "np") as g:
    assert json.loads(f.metadata()["classes"]) == json.loads(g.metadata()["classes"]) == list("abcdef")
PY

# From a pipe the same; the export of the export is the export; a PEFT adapter (rank_pattern, alpha_pattern,
# a conv target, a perturbed head) exports to a directory that merges to the same bytes.
cat "$fixture/adapter.safetensors" | kswap-pack -q - --peft-dir piped
diff -r piped "$fixture/peft"
kswap-pack -q peft --peft-dir again
diff -r again peft
peft_fixture="$ROOT/Tests/Fixtures/peft"
kswap-pack -q "$peft_fixture/plain" --peft-dir plain
kswap-merge "$peft_fixture/base.safetensors" "$peft_fixture/plain" -o merged.st
kswap-merge "$peft_fixture/base.safetensors" plain -o merged-again.st
cmp merged.st merged-again.st

# A fresh adapter (whatever else kswap-learn stores in it) exports exactly its PEFT tensors, bit for bit.
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
$PY "$blobs" base.st a,b 20 1
$PY "$blobs" learn.st c 20 2
kswap-pretrain -q --train base.st --patch 4 --dim 8 --depth 1 --heads 1 --mlp-dim 16 --epochs 1 --batch-size 10 \
  -o vit.st
kswap-learn -q vit.st --learn learn.st --retain base.st --epochs 1 --batch-size 10 --seed 0 -o learned.st
kswap-pack -q learned.st --peft-dir fresh
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
adapter, export = load_file("learned.st"), load_file("fresh/adapter_model.safetensors")
peft_names = sorted(n for n in adapter if n.startswith("base_model.model."))
assert sorted(export) == peft_names, (sorted(export), sorted(adapter))
assert all(n.endswith((".lora_A.weight", ".lora_B.weight")) or n.startswith("base_model.model.head.") for n in export)
assert all(np.array_equal(adapter[n], export[n]) for n in export)
with safe_open("fresh/adapter_model.safetensors", "np") as f:
    metadata = f.metadata()
assert metadata["format"] == "pt" and not [k for k in metadata if k.startswith("kswap.optimizer")], metadata
config = json.load(open("fresh/adapter_config.json"))
assert config["peft_type"] == "LORA" and config["r"] == 8 and config["lora_alpha"] == 1, config
assert config["target_modules"] == ["mlp.fc1", "mlp.fc2"] and config["modules_to_save"] == ["head"], config
assert config["task_type"] is None and config["bias"] == "none" and config["fan_in_fan_out"] is False
PY
