# The EXAMPLES of kswap(1), kswap-inspect(1) and kswap-pack(1) run as written, in order, on small
# fixture files (vit.safetensors with timm-style names, a sharded checkpoint, a photo folder, a folder
# of image and mask pairs, and Fashion-MNIST's test set from its Debian package). An example whose
# input files are not among the fixtures (a wheel to download) is skipped and reported through
# skip_part. Each page's examples run in their own copy of the fixtures.
. "$ROOT/Tests/CLI/lib.sh"
mkdir fixtures
cd fixtures
"$PY" - <<'PY'
import json
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(4)
vit = {f"blocks.{b}.{part}": rng.standard_normal(shape).astype(np.float32)
       for b in range(2) for part, shape in [("attn.qkv.weight", (24, 8)), ("mlp.fc1.weight", (32, 8))]}
vit.update({"head.weight": rng.standard_normal((3, 8)).astype(np.float32), "head.bias": np.zeros(3, np.float32)})
vit["blocks.0.mlp.fc1.weight"][0, 0] = np.nan  # something for the NaN example to find
save_file(vit, "vit.safetensors", metadata={"format": "pt"})
names = sorted(vit)
shards = {"model-00001-of-00002.safetensors": names[:3], "model-00002-of-00002.safetensors": names[3:]}
for shard, members in shards.items():
    save_file({n: vit[n] for n in members}, shard)
json.dump({"weight_map": {n: s for s, members in shards.items() for n in members}}, open("model.safetensors.index.json", "w"))
# A photo folder, one sub-folder per class: 2 tiny grey PNGs each, written with zlib alone.
import os, struct, zlib
def png(path, pixels):
    h, w = pixels.shape
    raw = b"".join(b"\0" + bytes(row) for row in pixels)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for name in ["cat", "dog"]:
    os.makedirs(f"photos/{name}")
    for i in range(2):
        png(f"photos/{name}/{i}.png", rng.integers(0, 256, size=(32, 40), dtype=np.uint8))
# Segmentation pairs: images/ and masks/ (mask values 0 to 2), five of each.
for folder in ["scenes/images", "scenes/masks"]:
    os.makedirs(folder)
for i in range(5):
    png(f"scenes/images/{i}.png", rng.integers(0, 256, size=(16, 16), dtype=np.uint8))
    png(f"scenes/masks/{i}.png", rng.integers(0, 3, size=(16, 16), dtype=np.uint8))
PY
# Fashion-MNIST's test set from the Debian package dataset-fashion-mnist (Scripts/setup installs it),
# and a dataset file cut from it standing in for fmnist-train.kst. Without the package the examples
# that need them are reported as skipped.
fmnist=/usr/share/datasets/fashion-mnist
if [ -e "$fmnist/t10k-images-idx3-ubyte.gz" ] && [ -e "$fmnist/t10k-labels-idx1-ubyte.gz" ]; then
  cp "$fmnist"/t10k-images-idx3-ubyte.gz "$fmnist"/t10k-labels-idx1-ubyte.gz .
  kswap-pack -q t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz \
    --class-names 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot' -o fmnist-train.kst
fi
"$PY" - "$ROOT/Man/kswap.1" "$ROOT/Man/kswap-inspect.1" "$ROOT/Man/kswap-pack.1" <<'PY' >../examples.list
import os, re, sys
FILE = re.compile(r"[\w./-]+\.(?:safetensors|kst|json|gz|whl|npy|npz|csv|pt|pth|svg)\b|[\w.-]+/(?=\s|$)")

def unescape(line):
    return line.replace("\\e", "\\").replace("\\-", "-").replace("\\&", "")

for page in sys.argv[1:]:
    lines = open(page).read().split("\n")
    start = lines.index(".Sh EXAMPLES")
    blocks, block, literal = [], None, False
    for line in lines[start + 1:]:
        if line.startswith(".Sh "):
            break
        if line.startswith(".Bd -literal"):
            literal, block = True, []
        elif line.startswith(".Ed"):
            literal = False
            blocks.append("\n".join(block))
        elif literal:
            block.append(unescape(line))
        elif line.startswith(".Dl "):
            blocks.append(unescape(line[4:]))
    for number, text in enumerate(blocks, 1):
        outputs = set(re.findall(r"-o\s+(\S+)", text))
        inputs = sorted({f for f in FILE.findall(text) if f not in outputs})
        print(f"{os.path.basename(page)} #{number}\t{' '.join(inputs) or '-'}\t{text!r}")
PY
cd ..
ran=0
while IFS=$'\t' read -r name inputs text; do
  page=${name%% *}
  [ -d "run-$page" ] || cp -r fixtures "run-$page"
  command=$("$PY" -c 'import ast, sys; print(ast.literal_eval(sys.argv[1]))' "$text")
  missing=()
  for input in $inputs; do
    [ "$input" = - ] || [ -e "run-$page/$input" ] || missing+=("$input")
  done
  if ((${#missing[@]})); then
    skip_part "$name: needs ${missing[*]} (not among the fixtures)"
    continue
  fi
  if [[ $command == *jq* ]] && ! need_part jq; then
    continue
  fi
  (cd "run-$page" && bash -euo pipefail -c "$command") >example.out 2>example.err || {
    cat example.out example.err
    fail "$name failed: $command"
  }
  ran=$((ran + 1))
done <examples.list
echo "ran $ran examples"
[ "$ran" -ge 10 ] || fail "expected at least 10 runnable examples"
