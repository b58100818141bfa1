# What a checkpoint without kswap metadata cannot say is refused with the flag to pass, and what
# kswap's ViT cannot run is refused by name (exit 2; flag values that are no values: usage, 64).
. "$ROOT/Tests/CLI/lib.sh"
F="$ROOT/Tests/Fixtures/checkpoints"
set_=(--set "$F/images.safetensors")
norm=(--mean 0.5,0.5,0.5 --std 0.5,0.5,0.5)

# Heads of a width that is not a multiple of 64, and no config to say them.
expect 2 kswap-eval "$F/timm.safetensors" "${norm[@]}" "${set_[@]}"
err_has "timm.safetensors: the number of attention heads is unknown (the width 24 is not a multiple of 64"
err_has "give --heads N"
# Heads that do not divide the width.
expect 2 kswap-eval "$F/timm.safetensors" --heads 5 "${norm[@]}" "${set_[@]}"
err_has "embed_dim 24 is not a multiple of num_heads 5"

# Normalisation nobody states; half of it.
expect 2 kswap-eval "$F/timm.safetensors" --heads 2 "${set_[@]}"
err_has "timm.safetensors: the input normalisation is unknown"
err_has "give --mean and --std"
expect 2 kswap-eval "$F/timm.safetensors" --heads 2 --mean 0.5,0.5,0.5 "${set_[@]}"
err_has "no 'std' in its metadata"
# A mean for another number of channels.
expect 2 kswap-eval "$F/hf-vit" --mean 0.5,0.5 "${set_[@]}"
err_has "--mean: 2 value(s)"
err_has "takes 3 channel(s)"

# Flag values that are no values.
expect 64 kswap-eval "$F/hf-vit" --heads 0 "${set_[@]}"
expect 64 kswap-eval "$F/hf-vit" --std 0.5,x,0.5 "${set_[@]}"
err_has "--std expects comma-separated finite numbers"
expect 64 kswap-learn "$F/hf-vit" --mean nan --learn x --retain y
expect 2 kswap-eval "$F/hf-vit" --std 0.5,0,0.5 "${set_[@]}"
err_has "std 0.0 is not positive"

# Class names that do not fit the head, from the flag (a list, or a file) and from the files.
expect 2 kswap-eval "$F/hf-vit" --class-names ant,bee,cat "${set_[@]}"
err_has "--class-names names 3 classes; the head of $F/hf-vit has 4 rows"
expect 2 kswap-eval "$F/hf-vit" --class-names labels.txt "${set_[@]}"
err_has "--class-names labels.txt: no such file (a list of names is comma-separated)"
printf '\n\n' >empty.txt
expect 2 kswap-eval "$F/hf-vit" --class-names empty.txt "${set_[@]}"
err_has "empty.txt: no class names in the file"
cp -r "$F/hf-vit" three-labels
"$PY" - three-labels/config.json <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["id2label"] = {"0": "ant", "1": "bee", "2": "cat"}
json.dump(config, open(sys.argv[1], "w"))
PY
expect 2 kswap-eval three-labels "${set_[@]}"
err_has "three-labels/config.json names 3 classes; the head of three-labels has 4 rows"

# A backbone: no head to classify with, in each of the swap tools.
"$PY" - "$F/dinov2-head.safetensors" backbone.safetensors <<'PY'
import sys
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])
del tensors["head.weight"], tensors["head.bias"]
save_file(tensors, sys.argv[2])
PY
flags=(--heads 4 "${norm[@]}")
expect 2 kswap-eval backbone.safetensors "${flags[@]}" "${set_[@]}"
err_has "backbone.safetensors: a backbone without a classification head; fit one first: kswap-pretrain --backbone backbone.safetensors --train DATA -o MODEL"
expect 2 kswap-learn backbone.safetensors "${flags[@]}" --learn "$F/images.safetensors" --retain "$F/images.safetensors" -o a.st
err_has "a backbone without a classification head; fit one first"
expect 2 kswap-forget backbone.safetensors "${flags[@]}" --forget "$F/images.safetensors" \
  --retain "$F/images.safetensors" -o a.st
err_has "a backbone without a classification head; fit one first"
[ ! -e a.st ] || fail "a refused run wrote its output"

# Tensor names: two layouts naming one parameter; a Hugging Face name that is no part of a ViT; a
# DINOv2 classifier on the class and mean patch tokens (2 x width).
"$PY" - "$F/hf-vit/model.safetensors" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file, save_file
tensors = load_file(sys.argv[1])
save_file(dict(tensors, **{"norm.weight": tensors["vit.layernorm.weight"]}), "mixed.safetensors")
save_file(dict(tensors, **{"vit.encoder.layer.0.attention.attention.query.lora_A.weight": np.zeros((2, 24), np.float32)}),
          "lora.safetensors")
save_file(dict(tensors, **{"classifier.weight": np.zeros((4, 48), np.float32)}), "two-tokens.safetensors")
PY
expect 2 kswap-eval mixed.safetensors --heads 3 "${norm[@]}" "${set_[@]}"
err_has "mixed.safetensors: tensors \`norm.weight\` and \`vit.layernorm.weight\` are both timm's \`norm.weight\`"
expect 2 kswap-eval lora.safetensors --heads 3 "${norm[@]}" "${set_[@]}"
err_has "tensor \`vit.encoder.layer.0.attention.attention.query.lora_A.weight\` is not part of a ViT"
err_has "(its Hugging Face ViT names read as timm's)"
expect 2 kswap-eval two-tokens.safetensors --heads 3 "${norm[@]}" "${set_[@]}"
err_has "a linear head on the class token takes 24 features"

# Containers: a folder without weights; a PyTorch checkpoint from before 1.6 (a bare pickle).
mkdir empty
expect 2 kswap-eval empty "${set_[@]}"
err_has "empty: a folder without weights: expected model.safetensors.index.json, model.safetensors, pytorch_model.bin in it"
"$PY" -c 'import pickle; pickle.dump({"cls_token": [0.0]}, open("legacy.bin", "wb"), protocol=2)'
expect 2 kswap-eval legacy.bin "${set_[@]}"
err_has "legacy.bin: not a zip-format PyTorch checkpoint"
