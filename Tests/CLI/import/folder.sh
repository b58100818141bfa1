# An image folder (one sub-folder per class, PNG) becomes a dataset; mixed sizes need --resize;
# RGB images give three channel planes; 16-bit samples scale to 8 bits without a gamma change.
"$PY" - <<'PY'
import os, struct, zlib, numpy as np
def png(path, pixels):  # grey (H, W) or RGB (H, W, 3), uint8 or big-endian uint16
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    depth = 16 if pixels.dtype == np.dtype(">u2") else 8
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for name in ("photos/boot", "photos/apple", "mixed/a", "rgb/x", "deep/a"):
    os.makedirs(name, exist_ok=True)
png("photos/boot/1.png", np.full((4, 4), 200, np.uint8))
png("photos/boot/0.png", np.arange(16, dtype=np.uint8).reshape(4, 4))
png("photos/apple/z.PNG", np.zeros((4, 4), np.uint8))
open("photos/apple/notes.txt", "w").write("not an image")
png("mixed/a/big.png", np.full((8, 8), 100, np.uint8))
png("mixed/a/small.png", np.full((4, 4), 50, np.uint8))
png("deep/a/d.png", np.array([[0, 32768, 65535, 1000]], dtype=">u2"))
png("rgb/x/c.png", np.stack([np.full((2, 2), 255), np.zeros((2, 2)), np.full((2, 2), 7)], axis=2).astype(np.uint8))
PY
kswap-pack photos -o photos.safetensors
kswap-pack mixed --resize 2x2 -o mixed.safetensors
kswap-pack rgb -o rgb.safetensors
kswap-pack deep -o deep.safetensors
if kswap-pack mixed -o fail.safetensors 2>err.txt; then exit 1; fi
grep -q 'mixed/a/small.png: image is 4x4, the first was 8x8: give a resize' err.txt
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
with safe_open("photos.safetensors", "np") as f:
    images, labels, meta = f.get_tensor("images"), f.get_tensor("labels"), f.metadata()
assert json.loads(meta["classes"]) == ["apple", "boot"] and labels.tolist() == [0, 1, 1]
assert images.shape == (3, 1, 4, 4)
assert (images[1, 0] == np.arange(16).reshape(4, 4)).all() and (images[2] == 200).all()
with safe_open("mixed.safetensors", "np") as f:
    assert f.get_tensor("images").reshape(-1).tolist() == [100] * 4 + [50] * 4
with safe_open("deep.safetensors", "np") as f:
    assert f.get_tensor("images").reshape(-1).tolist() == [0, 128, 255, 4]
with safe_open("rgb.safetensors", "np") as f:
    assert f.get_tensor("images").reshape(3, 4)[:, 0].tolist() == [255, 0, 7]
PY
