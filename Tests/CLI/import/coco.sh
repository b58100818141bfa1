# COCO detection files: an instances JSON with its image folder imports as a detection dataset (images
# in the file's order, bbox [x, y, w, h] as (x, y, x + w, y + h), category ids as labels, crowd
# annotations left out with a warning), --coco-dir writes it back, and the export imports to the same
# tensors. The real annotated photo of the imgaug wheel (quokka.jpg and its box) imports as a one-image
# dataset when Scripts/fetch-data has put the wheel in .cache/pkgs.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import json, os, struct, zlib
import numpy as np
rng = np.random.default_rng(5)
def png(path, pixels):  # grey (H, W) or RGB (H, W, 3), written with zlib alone
    h, w = pixels.shape[:2]
    colour = 2 if pixels.ndim == 3 else 0
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
os.makedirs("photos")
images = [rng.integers(0, 256, (12, 16, 3), dtype=np.uint8) for _ in range(2)] + [rng.integers(0, 256, (12, 16), dtype=np.uint8)]
for i, pixels in enumerate(images):
    png(f"photos/p{i}.png", pixels)
np.save("pixels.npy", np.stack([p if p.ndim == 3 else np.repeat(p[:, :, None], 3, 2) for p in images]))
coco = {
    "images": [{"id": 30, "file_name": "p2.png", "width": 16, "height": 12},
               {"id": 10, "file_name": "p0.png", "width": 16, "height": 12},
               {"id": 20, "file_name": "p1.png"}],
    "categories": [{"id": 3, "name": "kite"}, {"id": 1, "name": "person"}],
    "annotations": [
        {"id": 1, "image_id": 10, "category_id": 1, "bbox": [0.5, 1.25, 10, 6.5], "area": 1, "iscrowd": 0},
        {"id": 2, "image_id": 30, "category_id": 3, "bbox": [0, 0, 16, 12]},
        {"id": 3, "image_id": 10, "category_id": 3, "bbox": [2, 2, 3, 3], "iscrowd": 1},
        {"id": 4, "image_id": 10, "category_id": 3, "bbox": [15, 11, 1, 1], "segmentation": [[15, 11, 16, 12]]}]}
json.dump(coco, open("instances.json", "w"))
PY
expect 0 kswap-pack instances.json --coco-images photos -o set.safetensors
err_has "kswap-pack: warning: instances.json: 1 crowd annotation (iscrowd 1) left out"
"$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
with safe_open("set.safetensors", "np") as f:
    t = {k: f.get_tensor(k) for k in f.keys()}
    meta = f.metadata()
assert meta["task"] == "detection" and meta["source"] == "instances.json"
assert json.loads(meta["classes"]) == [None, "person", None, "kite"]
pixels = np.load("pixels.npy")[[2, 0, 1]].transpose(0, 3, 1, 2)  # the file's order; grey made RGB
assert t["images"].shape == (3, 3, 12, 16) and (t["images"] == pixels).all()
assert t["box_offsets"].tolist() == [0, 1, 3, 3] and t["box_labels"].tolist() == [3, 1, 3]
assert t["boxes"].tolist() == [[0, 0, 16, 12], [0.5, 1.25, 10.5, 7.75], [15, 11, 16, 12]], t["boxes"]
PY
# The export, and the export imported again: the same tensors.
kswap-pack -q set.safetensors --coco-dir exported
[ "$(ls exported | tr '\n' ' ')" = "000001.png 000002.png 000003.png instances.json " ] || { ls exported; fail "export files"; }
kswap-pack -q exported/instances.json --coco-images exported -o again.safetensors
"$PY" - <<'PY'
import json
from safetensors.numpy import load_file
a, b = load_file("set.safetensors"), load_file("again.safetensors")
assert all((a[k] == b[k]).all() and a[k].dtype == b[k].dtype for k in a) and sorted(a) == sorted(b)
coco = json.load(open("exported/instances.json"))
assert coco["categories"] == [{"id": 1, "name": "person"}, {"id": 3, "name": "kite"}]
assert [a["image_id"] for a in coco["annotations"]] == [1, 2, 2] and coco["annotations"][1]["bbox"] == [0.5, 1.25, 10, 6.5]
PY
expect 2 kswap-pack set.safetensors --coco-dir exported
err_has "exported: already exists; use -f to replace it"
kswap-pack -q set.safetensors --coco-dir exported -f
# Resized on import, the boxes with the images: x * 8 / 16, y * 24 / 12.
kswap-pack -q instances.json --coco-images photos --resize 24x8 --channels 1 -o small.safetensors
"$PY" - <<'PY'
from safetensors.numpy import load_file
t = load_file("small.safetensors")
assert t["images"].shape == (3, 1, 24, 8)
assert t["boxes"].tolist() == [[0, 0, 8, 24], [0.25, 2.5, 5.25, 15.5], [7.5, 22, 8, 24]], t["boxes"]
PY
# The quokka of imgaug 0.4.0 (MIT): a 960x643 RGB JPEG with one box, "animal", in its own JSON format
# (x1, y1, x2, y2), written here as COCO's [x, y, w, h].
wheel="$ROOT/.cache/pkgs/imgaug-0.4.0-py2.py3-none-any.whl"
if [ -f "$wheel" ]; then
  "$PY" - "$wheel" <<'PY'
import json, os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    os.makedirs("quokka")
    open("quokka/quokka.jpg", "wb").write(z.read("imgaug/quokka.jpg"))
    (box,) = json.loads(z.read("imgaug/quokka_annotations.json"))["bounding_boxes"]
assert box == {"x1": 148.0, "y1": 50.0, "x2": 550.0, "y2": 642.0, "label": "animal"}, box
json.dump({"images": [{"id": 1, "file_name": "quokka.jpg", "width": 960, "height": 643}],
           "categories": [{"id": 1, "name": box["label"]}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1,
                            "bbox": [box["x1"], box["y1"], box["x2"] - box["x1"], box["y2"] - box["y1"]]}]},
          open("quokka/instances.json", "w"))
PY
  kswap-pack -q quokka/instances.json --coco-images quokka -o quokka.safetensors
  kswap-pack -q quokka/instances.json --coco-images quokka --resize 64x96 -o quokka-small.safetensors
  "$PY" - <<'PY'
import json
import numpy as np
from safetensors import safe_open
for name, shape, box in [("quokka", (1, 3, 643, 960), [148, 50, 550, 642]),
                         ("quokka-small", (1, 3, 64, 96), [148 * 96 / 960, 50 * 64 / 643, 550 * 96 / 960, 642 * 64 / 643])]:
    with safe_open(f"{name}.safetensors", "np") as f:
        t = {k: f.get_tensor(k) for k in f.keys()}
        classes = json.loads(f.metadata()["classes"])
    assert t["images"].shape == shape and classes == [None, "animal"]
    assert t["box_offsets"].tolist() == [0, 1] and t["box_labels"].tolist() == [1]
    assert (t["boxes"] == np.array([box], np.float32)).all(), (t["boxes"], box)
    # A colour photo: the channels differ, and the box's region is not flat.
    x = t["images"][0].astype(float)
    assert abs(x[0] - x[2]).mean() > 5 and x.std() > 20
PY
else
  skip_part "the imgaug 0.4.0 wheel is not in .cache/pkgs (Scripts/fetch-data puts it there): no quokka"
fi
