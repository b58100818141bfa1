# kswap-pack --scenes: segmentation scenes from a classification dataset. Every scene is recomputed here
# from the documented rules (Formats/dataset.md, "Scenes"), independently of kswap: for each scene some
# choice of source images and places must give exactly its pixels and its mask, where an object is its
# image resized (exact scales: x2 bilinear, x0.5 area, x1), its pixels above threshold * 255 pasted
# and labelled 1 + its label, a later object in front. The same seed gives the same bytes.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(3)
# Six 8x8 objects of classes a, b, c: random values, a dark border and dark patches, so the threshold
# cuts through each object.
images = rng.integers(0, 256, size=(6, 1, 8, 8)).astype(np.uint8)
images[:, :, 0, :] = 0
images[:, :, :, 7] = 10
images[:, :, 3:5, 2:6] = 40
labels = np.array([0, 1, 2, 0, 1, 2], dtype=np.int64)
save_file({"images": images, "labels": labels}, "objects.safetensors",
          metadata={"dataset": "1", "classes": '["a","b","c"]', "source": "test objects", "split": "train"})
# A texture: two images of constant grey 40 and 70.
texture = np.stack([np.full((1, 10, 12), 40, np.uint8), np.full((1, 10, 12), 70, np.uint8)])
save_file({"images": texture, "labels": np.zeros(2, np.int64)}, "texture.safetensors",
          metadata={"dataset": "1", "classes": '["t"]'})
PY
kswap-pack objects.safetensors --scenes 12 --scene-size 20x20 --objects 1 --object-scale 2 --seed 3 -o double.safetensors
kswap-pack objects.safetensors --scenes 12 --scene-size 12x12 --objects 1 --object-scale 0.5 --seed 3 -o half.safetensors
kswap-pack objects.safetensors --scenes 12 --scene-size 12x12 --objects 2 --object-scale 1 --seed 4 -o two.safetensors
kswap-pack objects.safetensors --scenes 12 --scene-size 12x12 --objects 1 --object-scale 1 --object-threshold 0.5 \
  --seed 5 -o bright.safetensors
kswap-pack objects.safetensors --scenes 20 --seed 6 -o default.safetensors
kswap-pack objects.safetensors --scenes 20 --seed 6 --scene-background texture.safetensors -o textured.safetensors
"$PY" - <<'PY'
import itertools, json
import numpy as np
from safetensors import safe_open

objects = safe_open("objects.safetensors", "np").get_tensor("images")[:, 0].astype(np.float64)
labels = safe_open("objects.safetensors", "np").get_tensor("labels")

def load(path):
    with safe_open(path, "np") as f:
        return f.get_tensor("images"), f.get_tensor("masks"), f.metadata()

def round_half_away(x):
    return np.floor(x + 0.5)

def bilinear(image, out_h, out_w):  # PyTorch's interpolate(bilinear, align_corners=False), no antialias
    def taps(out, size):
        pos = np.maximum((np.arange(out) + 0.5) * size / out - 0.5, 0)
        low = np.minimum(pos.astype(int), size - 1)
        return low, np.minimum(low + 1, size - 1), pos - low
    (y0, y1, wy), (x0, x1, wx) = taps(out_h, image.shape[0]), taps(out_w, image.shape[1])
    rows = image[y0] * (1 - wy)[:, None] + image[y1] * wy[:, None]
    return rows[:, x0] * (1 - wx) + rows[:, x1] * wx

def area(image, out_h, out_w):  # PyTorch's interpolate(area): adaptive average pooling
    h, w = image.shape
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            out[i, j] = image[i * h // out_h:-(-(i + 1) * h // out_h), j * w // out_w:-(-(j + 1) * w // out_w)].mean()
    return out

def resized(image, scale):
    size = int(round(scale * 8))
    if size == 8:
        return image
    return round_half_away(bilinear(image, size, size) if size > 8 else area(image, size, size))

def candidates(scale, canvas, threshold):
    """Every (object, top, left) as (pixels, mask, object mask) on an empty canvas."""
    out = []
    for index in range(len(objects)):
        object_ = resized(objects[index], scale)
        inside = object_ > threshold * 255
        n = object_.shape[0]
        for top in range(canvas - n + 1):
            for left in range(canvas - n + 1):
                pixels, mask = np.zeros((canvas, canvas)), np.zeros((canvas, canvas), np.uint8)
                where = np.zeros((canvas, canvas), bool)
                where[top:top + n, left:left + n] = inside
                pixels[where] = object_[inside]
                mask[where] = 1 + labels[index]
                out.append((pixels, mask, where))
    return out

def check_single(path, scale, canvas, threshold=0.2):
    images, masks, meta = load(path)
    assert images.shape == (12, 1, canvas, canvas) and masks.shape == (12, canvas, canvas), images.shape
    options = candidates(scale, canvas, threshold)
    for image, mask in zip(images[:, 0].astype(np.float64), masks):
        found = [1 for pixels, m, _ in options if (pixels == image).all() and (m == mask).all()]
        assert found, f"{path}: a scene no object and place explains"
    return meta

meta = check_single("double.safetensors", 2, 20)
check_single("half.safetensors", 0.5, 12)
check_single("bright.safetensors", 1, 12, threshold=0.5)

# Two objects at scale 1: the second is pasted over the first where it is above the threshold.
images, masks, _ = load("two.safetensors")
options = candidates(1, 12, 0.2)
stack_pixels = np.stack([o[0] for o in options]); stack_masks = np.stack([o[1] for o in options])
stack_where = np.stack([o[2] for o in options])
for image, mask in zip(images[:, 0].astype(np.float64), masks):
    found = False
    for back_pixels, back_mask, _ in options:
        pixels = np.where(stack_where, stack_pixels, back_pixels)
        labelled = np.where(stack_where, stack_masks, back_mask)
        if ((pixels == image).all(axis=(1, 2)) & (labelled == mask).all(axis=(1, 2))).any():
            found = True
            break
    assert found, "a two-object scene no pair of objects explains"
# Some scene shows two classes, so the order was tested on objects that differ.
assert any(len(set(np.unique(m)) - {0}) == 2 for m in masks)

# The metadata: the task, background and the source's classes, the recipe, mean and std of the scenes.
assert meta["task"] == "segmentation" and meta["dataset"] == "1"
assert json.loads(meta["classes"]) == ["background", "a", "b", "c"]
assert meta["source"] == "scenes from test objects" and meta["split"] == "train", meta
recipe = json.loads(meta["scenes"])
assert recipe == {"count": 12, "size": [20, 20], "objects": [1, 1], "scale": [2.0, 2.0], "threshold": 0.2,
                  "first_label": 1, "seed": 3}, recipe
images, masks, _ = load("double.safetensors")
x = images.astype(np.float64) / 255
assert json.loads(meta["mean"]) == [float("%.6g" % x.mean())] and json.loads(meta["std"]) == [float("%.6g" % x.std())]

# Defaults: a canvas twice the objects' size, 1 to 3 objects at scales 0.75 to 1.5 (6 to 12 pixels).
images, masks, meta = load("default.safetensors")
assert images.shape == (20, 1, 16, 16) and masks.shape == (20, 16, 16)
recipe = json.loads(meta["scenes"])
assert recipe["objects"] == [1, 3] and recipe["scale"] == [0.75, 1.5] and recipe["threshold"] == 0.2
assert set(np.unique(masks)) <= {0, 1, 2, 3}
# Black canvas: a pixel is an object's exactly when it is above the threshold.
assert ((masks == 0) == (images[:, 0] == 0)).all() and (images[:, 0][masks > 0] > 51).all()

# On the texture the same objects and places (the draws are the same but for the background's), and
# the background pixels are the texture's constant grey, still class 0.
timages, tmasks, tmeta = load("textured.safetensors")
assert json.loads(tmeta["scenes"])["background"] == "texture.safetensors"
assert set(np.unique(timages[:, 0][tmasks == 0])) <= {40, 70}
for image, mask in zip(timages[:, 0], tmasks):
    assert len(set(np.unique(image[mask == 0]))) <= 1  # one crop of one texture image per scene
assert (timages[:, 0][tmasks > 0] > 51).all()
PY
# The same seed gives the same bytes; another seed other scenes.
kswap-pack objects.safetensors --scenes 20 --seed 6 -o again.safetensors
cmp default.safetensors again.safetensors
kswap-pack objects.safetensors --scenes 20 --seed 6 --scene-background texture.safetensors -o again-textured.safetensors
cmp textured.safetensors again-textured.safetensors
kswap-pack objects.safetensors --scenes 20 --seed 7 -o other.safetensors
! cmp -s default.safetensors other.safetensors || fail "seeds 6 and 7 gave the same scenes"
# New-class scenes after a model's 11 classes (background and ten objects): picked, compacted, offset.
kswap-pack objects.safetensors --classes c,a --relabel compact --label-offset 11 --scenes 10 --seed 1 -o new.safetensors
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
with safe_open("new.safetensors", "np") as f:
    classes, masks = json.loads(f.metadata()["classes"]), f.get_tensor("masks")
assert classes == ["background"] + [None] * 10 + ["c", "a"], classes
assert set(np.unique(masks)) <= {0, 11, 12} and {11, 12} <= set(np.unique(masks)), np.unique(masks)
PY
# kswap-inspect shows the task, the class list and the masks.
kswap-inspect new.safetensors >out
out_has "task: segmentation"
out_has 'classes: ["background",null,null,null,null,null,null,null,null,null,null,"c","a"]'
grep -Eq '^masks +U8 +\[10, 16, 16\]' out || { cat out; fail "no masks row"; }
