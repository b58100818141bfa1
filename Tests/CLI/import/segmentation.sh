# Image + mask pairs become segmentation datasets: a folder with images/ and masks/ (files paired by
# base name; PNG, JPEG or TIFF images; grey or palette PNG masks read as stored), class names or
# numbers, 255 kept as ignore, a seeded split that keeps each image with its mask, and tiles.
"$PY" - <<'PY'
import os, struct, zlib, numpy as np
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(path, pixels, palette=None, gamma=None):  # grey (H, W) or RGB (H, W, 3) uint8; palette: indices
    h, w = pixels.shape[:2]
    colour = 3 if palette is not None else 2 if pixels.ndim == 3 else 0
    extra = chunk(b"PLTE", bytes(palette)) if palette is not None else b""
    extra += chunk(b"gAMA", struct.pack(">I", gamma)) if gamma else b""
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
                           + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
def tiff(path, pixels):  # uncompressed little-endian 8-bit grey, one strip
    h, w = pixels.shape
    entries = [(256, 4, w), (257, 4, h), (258, 3, 8), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1),
               (278, 4, h), (279, 4, h * w)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries)
    ifd += b"\0" * 4
    open(path, "wb").write(b"II*\0" + struct.pack("<I", 8 + h * w) + pixels.tobytes() + ifd)
rng = np.random.default_rng(3)
os.makedirs("scenes/images"); os.makedirs("scenes/masks")
images, masks = {}, {}
for i, name in enumerate(["b", "a", "c", "d", "e"]):
    images[name] = rng.integers(0, 256, size=(4, 6), dtype=np.uint8)
    masks[name] = rng.integers(0, 3, size=(4, 6)).astype(np.uint8)
    masks[name][0, 0] = 255  # ignore
for name in "abc":
    png(f"scenes/images/{name}.png", images[name])
tiff("scenes/images/d.tif", images["d"])
png("scenes/images/e.PNG", images["e"])
png("scenes/masks/a.png", masks["a"], gamma=100000)       # gAMA 1.0: values still as stored
png("scenes/masks/b.png", masks["b"], palette=[0] * 768)  # palette indices are the values
for name in "cde":
    png(f"scenes/masks/{name}.png", masks[name])
open("scenes/images/notes.txt", "w").write("skipped")
np.save("images.npy", np.stack([images[n] for n in "abcde"])); np.save("masks.npy", np.stack([masks[n] for n in "abcde"]))
PY
kswap-pack scenes/ --class-names background,cat,dog -o all.safetensors
kswap-pack scenes --split test --test-fraction 0.4 --seed 2 -o test.safetensors
kswap-pack scenes --split train --test-fraction 0.4 --seed 2 -o train.safetensors
kswap-pack scenes --split test --test-fraction 0.4 --seed 2 -o test-again.safetensors
cmp test.safetensors test-again.safetensors
kswap-pack scenes --tile 2x4 --channels 3 -o tiles.safetensors
kswap-pack all.safetensors --tile 2x3 --fraction 0.5 --sampling random --seed 1 -o cut.safetensors
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
def load(path):
    with safe_open(path, "np") as f:
        return f.get_tensor("images"), f.get_tensor("masks"), f.metadata()
images, masks = np.load("images.npy"), np.load("masks.npy")
x, m, meta = load("all.safetensors")
assert x.shape == (5, 1, 4, 6) and x.dtype == np.uint8 and m.shape == (5, 4, 6) and m.dtype == np.uint8
assert (x[:, 0] == images).all() and (m == masks).all()  # pairs in base-name order a..e
assert meta["task"] == "segmentation" and meta["dataset"] == "1" and meta["source"] == "scenes"
assert json.loads(meta["classes"]) == ["background", "cat", "dog"]
assert abs(json.loads(meta["mean"])[0] - round(images.mean() / 255, 6)) < 1e-6
test, train = load("test.safetensors"), load("train.safetensors")
assert json.loads(test[2]["classes"]) == ["0", "1", "2"] and test[2]["split"] == "test"
assert len(test[0]) == 2 and len(train[0]) == 3
for part in (test, train):  # each image still with its own mask
    for image, mask in zip(part[0][:, 0], part[1]):
        i = [k for k in range(5) if (images[k] == image).all()]
        assert len(i) == 1 and (masks[i[0]] == mask).all()
t, tm, _ = load("tiles.safetensors")
assert t.shape == (10, 3, 2, 4) and (t[:, 0] == t[:, 2]).all()  # 2 x 1 tiles each (2 columns dropped), grey in RGB
assert (t[1, 0] == images[0, 2:4, 0:4]).all() and (tm[1] == masks[0, 2:4, 0:4]).all()
c, cm, cmeta = load("cut.safetensors")
assert c.shape == (10, 1, 2, 3)  # 20 tiles, int(0.5 * 20) kept and json.loads(cmeta["classes"]) == ["background", "cat", "dog"]
assert cmeta["mean"] == meta["mean"]  # a dataset file keeps its statistics
PY
