# From scratch, kswap-pretrain stores the training set's per-channel mean and std (3 decimals) in the
# model's metadata. A set of 1200 images used to crash it (a pointer into a freed batch: large batches
# are unmapped when freed); the figures are checked against numpy.
. "$ROOT/Tests/CLI/lib.sh"
$PY "$ROOT/Tests/CLI/learn/make-blobs.py" train.st a,b,c,d 300 1
kswap-pretrain -q --train train.st --patch 4 --dim 8 --depth 1 --heads 2 --mlp-dim 8 --epochs 1 --batch-size 64 -o vit.st
$PY - <<'PY'
import json
from safetensors import safe_open
from safetensors.numpy import load_file
images = load_file("train.st")["images"] / 255.0
metadata = safe_open("vit.st", "np").metadata()
mean, std = json.loads(metadata["mean"]), json.loads(metadata["std"])
assert mean == [round(float(images.mean()), 3)], (mean, images.mean())
assert abs(std[0] - images.std()) < 6e-4, (std, images.std())
PY
