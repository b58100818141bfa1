# The committed nuclei-like TIFF pair (Tests/Fixtures/tiff, uncompressed 16-bit, instance ids 1, 2 and
# 300) as a one-class segmentation set in tiles, read from files and from members of a zip (as from the
# stardist wheel); the result checked against a TIFF reader written here in Python.
fixtures="$ROOT/Tests/Fixtures/tiff"
"$PY" - "$fixtures" <<'PY'
import sys, zipfile
with zipfile.ZipFile("cells-1.0-py3-none-any.whl", "w", zipfile.ZIP_DEFLATED) as z:
    for name in ("nuclei-image.tif", "nuclei-mask.tif"):
        z.write(f"{sys.argv[1]}/{name}", f"cells/data/{name}")
PY
common=(--instances --class-names background,nucleus --tile 16x16 --scale-16bit max)
kswap-pack "$fixtures/nuclei-image.tif" --masks "$fixtures/nuclei-mask.tif" "${common[@]}" -o files.safetensors
kswap-pack cells-1.0-py3-none-any.whl --member cells/data/nuclei-image.tif --masks cells/data/nuclei-mask.tif \
  "${common[@]}" -o member.safetensors
kswap-pack "$fixtures/nuclei-image.tif" --masks "$fixtures/nuclei-mask.tif" --instances -o whole.safetensors
"$PY" - "$fixtures" <<'PY'
import json, struct, sys, numpy as np
from safetensors import safe_open
def read_tiff(path):  # tifffile's layout here: little-endian, one strip, 16-bit grey
    data = open(path, "rb").read()
    assert data[:4] == b"II*\0"
    ifd = struct.unpack_from("<I", data, 4)[0]
    tags = {}
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        tag, kind, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
        tags[tag] = value if kind == 4 else value & 0xFFFF
    w, h = tags[256], tags[257]
    assert tags[258] == 16 and tags[259] == 1 and tags[279] == w * h * 2
    return np.frombuffer(data, "<u2", w * h, tags[273]).reshape(h, w)
image, mask = read_tiff(f"{sys.argv[1]}/nuclei-image.tif"), read_tiff(f"{sys.argv[1]}/nuclei-mask.tif")
assert image.shape == (40, 48) and sorted(np.unique(mask)) == [0, 1, 2, 300]
stretched = np.floor(image * 255.0 / image.max() + 0.5).astype(np.uint8)
def tiles(a):  # 16x16 tiles of the top 32 rows (8 dropped), row by row
    return a[:32].reshape(2, 16, 3, 16).transpose(0, 2, 1, 3).reshape(6, 16, 16)
for name in ("files", "member"):
    with safe_open(f"{name}.safetensors", "np") as f:
        x, m, meta = f.get_tensor("images"), f.get_tensor("masks"), f.metadata()
    assert x.shape == (6, 1, 16, 16) and m.shape == (6, 16, 16)
    assert (x[:, 0] == tiles(stretched)).all() and (m == tiles((mask > 0).astype(np.uint8))).all()
    assert json.loads(meta["classes"]) == ["background", "nucleus"] and meta["task"] == "segmentation"
with safe_open("member.safetensors", "np") as f:
    assert f.metadata()["source"] == "cells-1.0-py3-none-any.whl:cells/data/nuclei-image.tif, cells/data/nuclei-mask.tif"
with safe_open("whole.safetensors", "np") as f:  # the full 16-bit range by default: 300 of 65535 is 1
    x, meta = f.get_tensor("images"), f.metadata()
    assert x.shape == (1, 1, 40, 48) and x.max() == 1 and json.loads(meta["classes"]) == ["0", "1"]
    assert meta["source"] == "nuclei-image.tif, nuclei-mask.tif"
PY
