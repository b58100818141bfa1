# kswap-pack --peft-dir refuses what it cannot write, leaving no trace and every existing file as it was:
# an existing directory without -f, and even with -f one that holds other files than a PEFT adapter's; an
# existing file; a missing parent; an input that is no adapter; options that rewrite tensors.
. "$ROOT/Tests/CLI/lib.sh"
adapter="$ROOT/Tests/Fixtures/peft-export/adapter.safetensors"

mkdir dir
echo old >dir/adapter_config.json
expect 2 kswap-pack "$adapter" --peft-dir dir
err_has "kswap-pack: error: dir: already exists; use -f to replace it"
[ "$(cat dir/adapter_config.json)" = old ] || fail "dir/ was changed"
# -f replaces a directory holding what PEFT's save_pretrained writes (README.md included) ...
echo readme >dir/README.md
expect 0 kswap-pack "$adapter" --peft-dir dir/ -f
[ "$(ls -A dir | tr '\n' ' ')" = "adapter_config.json adapter_model.safetensors " ] || fail "dir/ holds $(ls -A dir)"
cmp dir/adapter_config.json "$ROOT/Tests/Fixtures/peft-export/peft/adapter_config.json"
# ... but not one holding anything else, which it would delete.
echo mine >dir/notes.txt
expect 2 kswap-pack "$adapter" --peft-dir dir -f
err_has "kswap-pack: error: dir: holds 'notes.txt', which is not one of the files it would be replaced with; not replaced, even when forced"
[ -e dir/notes.txt ] && cmp dir/adapter_config.json "$ROOT/Tests/Fixtures/peft-export/peft/adapter_config.json"
mkdir dir/sub && rm dir/notes.txt
expect 2 kswap-pack "$adapter" --peft-dir dir -f
err_has "dir: holds 'sub', which is not one of the files"

echo file >plain
expect 2 kswap-pack "$adapter" --peft-dir plain -f
err_has "kswap-pack: error: plain: already exists and is not a directory; write the directory elsewhere"
[ "$(cat plain)" = file ] || fail "plain was changed"

expect 2 kswap-pack "$adapter" --peft-dir no/such/dir
err_has "kswap-pack: error: no/such/dir: cannot create a temporary directory beside it: No such file or directory"

# A model is no adapter; a broken adapter is named with its tensor.
expect 2 kswap-pack "$ROOT/Tests/Fixtures/peft-export/vit.safetensors" --peft-dir model
err_has "vit.safetensors: not an adapter: no LoRA settings"
[ ! -e model ] || fail "no output expected"
kswap-pack -q "$adapter" --exclude '*.lora_B.weight' -o half.safetensors
expect 2 kswap-pack half.safetensors --peft-dir half
err_has "half.safetensors: tensor 'base_model.model.blocks.0.mlp.fc1.lora_A.weight': has no matching base_model.model.blocks.0.mlp.fc1.lora_B.weight"
[ ! -e half ] || fail "no output expected"

# The export writes the adapter as it is: options that would change it, or another output, are usage errors.
for option in "-o x" --compress --plain "--dtype bf16" "--select base_model.*" "--exclude head.*" \
  "--rename a=b" "--set-meta k=v" "--drop-meta r" "--classes 1" "--fraction 0.5" "--format npy"; do
  expect 64 kswap-pack "$adapter" --peft-dir x $option
  err_has "--peft-dir writes the adapter as it is; ${option%% *} does not apply to it"
done
[ ! -e x ] || fail "no output expected"
no_litter .
no_litter dir
