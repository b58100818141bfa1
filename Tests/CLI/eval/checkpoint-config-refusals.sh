# A config.json beside the weights that contradicts them, or describes what kswap's ViT cannot run,
# is refused naming the file and the key (exit 2).
. "$ROOT/Tests/CLI/lib.sh"
F="$ROOT/Tests/Fixtures/checkpoints"

# refused KEY=JSON TEXT: the Hugging Face folder with config.json's KEY set to JSON is refused with TEXT.
refused() {
  rm -rf model
  cp -r "$F/hf-vit" model
  "$PY" - model/config.json "$1" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
key, value = sys.argv[2].split("=", 1)
config[key] = json.loads(value)
json.dump(config, open(sys.argv[1], "w"))
PY
  expect 2 kswap-eval model --set "$F/images.safetensors"
  err_has "model/config.json: $2"
}

refused hidden_size=48 "hidden_size is 48, the weights say 24"
refused num_hidden_layers=12 "num_hidden_layers is 12, the weights say 2"
refused intermediate_size=96 "intermediate_size is 96, the weights say 40"
refused image_size=224 "image_size is 224, the weights say 12"
refused hidden_act='"gelu_new"' "hidden_act 'gelu_new': kswap's ViT has the exact GELU ('gelu') only"
refused model_type='"bert"' "model_type 'bert' is not a ViT"
refused global_pool='"avg"' "global_pool 'avg': kswap's head reads the class token ('token')"
refused use_swiglu_ffn=true "use_swiglu_ffn: kswap's ViT has a GELU MLP, not SwiGLU"
refused layer_norm_eps=0 "layer_norm_eps is not a positive number"
refused id2label='{"0": "ant", "0x": "bee"}' "id2label must map each label"
refused num_attention_heads='"three"' "num_attention_heads is not an integer or a square size"

# timm's spellings: model_args and pretrained_cfg.
rm -rf sharded
cp -r "$F/timm-sharded" sharded
"$PY" - sharded/config.json <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["model_args"]["embed_dim"] = 768
json.dump(config, open(sys.argv[1], "w"))
PY
expect 2 kswap-eval sharded --set "$F/images.safetensors"
err_has "sharded/config.json: model_args.embed_dim is 768, the weights say 24"
cp "$F/timm-sharded/config.json" sharded/config.json
"$PY" - sharded/config.json <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["pretrained_cfg"]["mean"] = "ImageNet"
json.dump(config, open(sys.argv[1], "w"))
PY
expect 2 kswap-eval sharded --set "$F/images.safetensors"
err_has "sharded/config.json: mean is not a list of numbers"

# Not JSON at all; a preprocessor_config.json whose mean is not a list.
printf '{"hidden_size": 24,' >sharded/config.json
expect 2 kswap-eval sharded --set "$F/images.safetensors"
err_has "sharded/config.json: invalid JSON"
# Configuration files are read whole: one over 16 MiB is refused by its size, before it is read.
head -c 16777217 /dev/zero | tr '\0' ' ' >sharded/config.json
expect 2 kswap-eval sharded --set "$F/images.safetensors"
err_has "sharded/config.json: 16777217 bytes, over the limit of 16777216 for a JSON file"
rm -rf model
cp -r "$F/hf-vit" model
printf '{"image_mean": 0.5, "image_std": [0.5, 0.5, 0.5]}' >model/preprocessor_config.json
expect 2 kswap-eval model --set "$F/images.safetensors"
err_has "model/preprocessor_config.json: image_mean is not a list of numbers"
