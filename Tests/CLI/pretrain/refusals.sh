# kswap-pretrain refuses, before any training, what it cannot fit or write: each refusal names the file or
# flag and what to do, with exit status 2 (bad input) or 64 (usage); no output file is left behind.
. "$ROOT/Tests/CLI/lib.sh"
blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
backbone="$ROOT/Tests/Fixtures/vit-tiny-dinov2/model.safetensors"
$PY "$blobs" grey.st a,b 10 1
norm=(--mean 0.5,0.5,0.5 --std 0.25,0.25,0.25)
$PY - <<'PY'
import json
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
labels = np.array([0, 1] * 5, dtype=np.int64)
meta = {"dataset": "1", "classes": json.dumps(["a", "b"])}
save_file({"images": rng.integers(0, 256, (10, 3, 8, 8), dtype=np.uint8), "labels": labels}, "colour.st", metadata=meta)
save_file({"images": rng.integers(0, 256, (10, 1, 10, 10), dtype=np.uint8), "labels": labels}, "ten.st", metadata=meta)
save_file({"images": rng.integers(0, 256, (10, 1, 12, 12), dtype=np.uint8), "labels": labels}, "twelve.st", metadata=meta)
masks = rng.integers(0, 3, (10, 8, 8), dtype=np.uint8)
seg = {"dataset": "1", "task": "segmentation", "classes": json.dumps(["background", "a", "b"])}
save_file({"images": rng.integers(0, 256, (10, 1, 8, 8), dtype=np.uint8), "masks": masks}, "scenes.st", metadata=seg)
PY
kswap-pretrain -q --train grey.st --patch 4 --dim 16 --depth 1 --heads 2 --mlp-dim 16 --epochs 1 --warmup 1 -o grey-vit.st

# No backbone file.
expect 2 kswap-pretrain --backbone absent.safetensors --train grey.st "${norm[@]}" -o out.st
err_has "absent.safetensors"
# A dataset given as the backbone.
expect 2 kswap-pretrain --backbone grey.st --train grey.st "${norm[@]}" -o out.st
err_has "grey.st: is a dataset, not a ViT backbone"
# A file that is no ViT: an adapter, and weights without a patch embedding.
expect 2 kswap-pretrain --backbone "$ROOT/Tests/Fixtures/vit-tiny/adapter.safetensors" --train grey.st "${norm[@]}" -o out.st
err_has "adapter.safetensors: is an adapter, not a model"
$PY -c 'import numpy as np; from safetensors.numpy import save_file; save_file({"w": np.zeros((2, 2), np.float32)}, "weights.st")'
expect 2 kswap-pretrain --backbone weights.st --train grey.st "${norm[@]}" -o out.st
err_has "weights.st: cannot infer the ViT architecture"
# Colour images for a grey backbone: never made grey.
expect 2 kswap-pretrain --backbone grey-vit.st --train colour.st -o out.st
err_has "colour.st: images have 3 channels; the model takes 1 (colour images are not made grey here"
# The swap tools refuse them the same way.
expect 2 kswap-eval grey-vit.st --set colour.st
err_has "colour.st: images have 3 channels; the model takes 1"
# No normalisation in the backbone's metadata and none given.
expect 2 kswap-pretrain --backbone "$backbone" --train grey.st -o out.st
err_has "the input normalisation is unknown (no 'mean' in its metadata, config.json or preprocessor_config.json); give --mean and --std"
# A normalisation for the wrong number of channels.
expect 2 kswap-pretrain --backbone "$backbone" --train grey.st --mean 0.5 --std 0.25 -o out.st
err_has "--mean: 1 value(s); $backbone takes 3 channel(s)"
# Images whose side is not a multiple of the patch.
expect 2 kswap-pretrain --backbone "$backbone" --train ten.st "${norm[@]}" -o out.st
err_has "ten.st: images are 10x10"
err_has "multiple of its patch, 4 (resize them with kswap-pack --resize)"
# A test set of another size than the training set.
expect 2 kswap-pretrain --backbone "$backbone" --train grey.st --test twelve.st "${norm[@]}" -o out.st
err_has "twelve.st: images are 3x12x12; the training set's are 3x8x8"
# A dataset of the other task: a segmentation set without --task segmentation and a classification set
# with it, as the training set or the test set, and a segmentation set given as the backbone.
expect 2 kswap-pretrain --train scenes.st --patch 4 -o out.st
err_has "scenes.st: a segmentation dataset (metadata task 'segmentation', a class per pixel); a classification dataset (one label per image) is needed here; for a segmentation model add --task segmentation"
expect 2 kswap-pretrain --task segmentation --train grey.st --patch 4 -o out.st
err_has "grey.st: a classification dataset (one label per image); --task segmentation trains on a segmentation dataset (metadata task 'segmentation', a class per pixel; kswap-pack --scenes composes one)"
expect 2 kswap-pretrain --task segmentation --train scenes.st --test grey.st --patch 4 -o out.st
err_has "grey.st: a classification dataset (one label per image); a segmentation dataset (metadata task 'segmentation', a class per pixel) is needed here"
expect 2 kswap-pretrain --train grey.st --test scenes.st --patch 4 -o out.st
err_has "scenes.st: a segmentation dataset (metadata task 'segmentation', a class per pixel); a classification dataset (one label per image) is needed here"
expect 2 kswap-pretrain --task segmentation --backbone scenes.st --train scenes.st "${norm[@]}" -o out.st
err_has "scenes.st: is a dataset, not a ViT backbone; pass it with --train"
[ ! -e out.st ] || fail "a refused run left out.st"
no_litter .

# Usage errors (64): architecture flags with a backbone, LoRA or fine-tuning without one, both together,
# half a normalisation, an unknown task.
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st --patch 4 -o out.st
err_has "--patch is for training from scratch; with --backbone the architecture is the backbone's"
expect 64 kswap-pretrain --train grey.st --lora-rank 4 -o out.st
err_has "--lora-rank needs --backbone"
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st "${norm[@]}" --dropout 0.1 -o out.st
err_has "--dropout acts inside the model; a head fitted on the backbone's features sees none (add --lora-rank or --fine-tune)"
expect 64 kswap-pretrain --train grey.st --dropout 1 -o out.st
err_has "--dropout must be at least 0 and below 1"
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st --mean 0.5,0.5,0.5 -o out.st
err_has "--mean and --std go together"
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st --mean 0.5,0.5,0.5 --std 0.2,0,0.2 -o out.st
err_has "--std must be comma-separated finite numbers, each above 0"
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st "${norm[@]}" --lora-rank 0 -o out.st
err_has "--lora-rank must be at least 1"
expect 64 kswap-pretrain --train grey.st --fine-tune -o out.st
err_has "--fine-tune needs --backbone (from scratch every parameter trains)"
expect 64 kswap-pretrain --backbone "$backbone" --train grey.st "${norm[@]}" --fine-tune --lora-rank 2 -o out.st
err_has "--lora-rank and --fine-tune do not combine: with --fine-tune every parameter trains"
expect 64 kswap-pretrain --task detection --train grey.st -o out.st
err_has "detection"
[ ! -e out.st ] || fail "a refused run left out.st"
