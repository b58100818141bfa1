# Checkpoints as users have them, without kswap metadata (Tests/Fixtures/checkpoints, made by
# Scripts/make-checkpoint-fixtures.py with timm and transformers): a timm state dict, the same sharded
# with timm's config.json, a Hugging Face ViTForImageClassification folder, a torch.save'd Hugging
# Face state dict (.bin) and DINOv2 names with a head. kswap-eval's logits equal PyTorch's to 1e-4
# relative; learning and forgetting run on them, and their adapters keep to their base.
. "$ROOT/Tests/CLI/lib.sh"
F="$ROOT/Tests/Fixtures/checkpoints"
names=ant,bee,cat,dog

# same_logits NAME MODEL [FLAGS...]: kswap-eval's logits for MODEL are PyTorch's NAME.
same_logits() {
  local name=$1
  shift
  kswap-eval -q "$@" --set images="$F/images.safetensors" --logits "$name.st" -f >/dev/null
  "$PY" - "$name.st" "$F/logits.safetensors" "$name" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
ours, torch = load_file(sys.argv[1])["images"], load_file(sys.argv[2])[sys.argv[3]]
assert ours.shape == torch.shape == (10, 4), (ours.shape, torch.shape)
error = float(np.abs(ours - torch).max() / np.abs(torch).max())
assert error < 1e-4, f"{sys.argv[3]}: relative error {error}"
PY
}

# Each layout and container, with what its files do not say given as flags.
same_logits timm "$F/timm.safetensors" --heads 2 --mean 0.4,0.5,0.6 --std 0.2,0.25,0.3 --class-names $names
same_logits timm-sharded "$F/timm-sharded"
same_logits timm-sharded "$F/timm-sharded/model.safetensors.index.json"
same_logits hf-vit "$F/hf-vit"
same_logits hf-vit "$F/hf-vit/model.safetensors"
same_logits hf-vit-bin "$F/hf-vit.bin" --heads 2 --mean 0.3,0.3,0.3 --std 0.3,0.4,0.5 --class-names $names
printf 'ant\nbee\n\ncat\ndog\n' >classes.txt
same_logits dinov2-head "$F/dinov2-head.safetensors" --heads 4 --mean 0.485,0.456,0.406 \
  --std 0.229,0.224,0.225 --class-names classes.txt
# A .kst of the plain file reads the same.
kswap-pack -q "$F/timm.safetensors" --compress -o timm.kst
same_logits timm timm.kst --heads 2 --mean 0.4,0.5,0.6 --std 0.2,0.25,0.3 --class-names $names
# The flags win over the files: other normalisation, other logits.
kswap-eval -q "$F/hf-vit" --mean 0.5,0.5,0.5 --std 0.5,0.5,0.5 --set images="$F/images.safetensors" --logits other.st
"$PY" - other.st "$F/logits.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
assert np.abs(load_file(sys.argv[1])["images"] - load_file(sys.argv[2])["hf-vit"]).max() > 1e-2
PY
# The classes come from the files: a set of other names is refused.
"$PY" - "$F/images.safetensors" other-names.st <<'PY'
import json, sys
from safetensors.numpy import load_file, save_file
save_file(load_file(sys.argv[1]), sys.argv[2], metadata={"dataset": "1", "classes": json.dumps(list("wxyz"))})
PY
expect 2 kswap-eval -q "$F/hf-vit" --set other-names.st
err_has "other-names.st"

# Learning and forgetting on them, with the same flags.
"$PY" - <<'PY'
import json
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(1)
save_file({"images": rng.integers(0, 256, size=(6, 3, 12, 12), dtype=np.uint8), "labels": np.zeros(6, dtype=np.int64)},
          "eel.st", metadata={"dataset": "1", "classes": json.dumps(["eel"])})
PY
timm=("$F/timm.safetensors" --heads 2 --mean 0.4,0.5,0.6 --std 0.2,0.25,0.3 --class-names $names)
kswap-learn -q "${timm[@]}" --learn eel.st --retain "$F/images.safetensors" --epochs 1 --batch-size 5 -o learned.st
kswap-forget -q "${timm[@]}" --adapter learned.st --forget eel.st --retain "$F/images.safetensors" --epochs 1 \
  --batch-size 5 -o swapped.st
kswap-eval "${timm[@]}" --adapter swapped.st --set eel.st --json >swapped.json
"$PY" -c 'import json; assert json.load(open("swapped.json"))["classes"] == ["ant", "bee", "cat", "dog", "eel"]'
kswap-learn -q "$F/hf-vit" --learn eel.st --retain "$F/images.safetensors" --epochs 1 --batch-size 5 -o hf.st
kswap-eval -q "$F/hf-vit" --adapter hf.st --set eel.st >/dev/null
# The base fingerprint is over the stored tensors: the sharded copy of the timm file is the same
# base, the Hugging Face model another one.
kswap-eval -q "$F/timm-sharded" --adapter learned.st --set eel.st >/dev/null
expect 2 kswap-eval "$F/hf-vit" --adapter learned.st --set eel.st
err_has "adapter for another base model"
