# kswap-eval on a segmentation model (lib.sh's make_segmentation_swap, after a short learning stage so
# that the predictions vary): the table, --per-class and --json (Formats/eval-json.md); numpy,
# given the masks --predictions writes and the datasets' own masks, recomputes every set's mIoU (over
# the classes with a true pixel), each class's IoU and the pixel accuracy to 1e-6; the figures do not
# depend on --batch-size; --overlay writes one PNG per image asked for (image | true | predicted, in
# the PASCAL VOC colours by head row, checked pixel by pixel by a PNG reader written here) and a
# legend, atomically, and -f replaces one.
. "$ROOT/Tests/CLI/lib.sh"
make_segmentation_swap
kswap-learn -q seg.st --learn learn.st --retain retain.st --epochs 2 --batch-size 10 --train-head --seed 1 -o learned.st
sets=(--set learn=learn-test.st --set forget=forget-test.st --set retain=retain-test.st)

expect 0 kswap-eval seg.st --adapter learned.st "${sets[@]}"
out_has "set      images     pixels  pixel%   mIoU%"
[ "$(wc -l <out)" = 4 ] || fail "the table has $(wc -l <out) lines, expected a header and 3 sets"
err_has "learn: mIoU "
expect 0 kswap-eval seg.st --adapter learned.st "${sets[@]}" --per-class
out_has "  background"
out_has "  e  "
expect 0 kswap-eval -q seg.st --adapter learned.st "${sets[@]}" --json --predictions predicted.st --overlay pictures \
  --overlay-images 2
cp out eval.json
[ ! -s err ] || fail "-q printed: $(cat err)"
expect 0 kswap-eval -q seg.st --adapter learned.st "${sets[@]}" --json --batch-size 5
cmp -s out eval.json || fail "--batch-size 5 changed the figures"

$PY - <<'PY'
import json, struct, zlib
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file

report = json.load(open("eval.json"))
assert report["task"] == "segmentation" and report["adapters"] == ["learned.st"], report
classes = report["classes"]
assert classes == ["background", "a", "b", "c", "e"], classes
predicted = load_file("predicted.st")
with safe_open("predicted.st", "np") as f:
    assert json.loads(f.metadata()["classes"]) == classes
varied = set()
for entry in report["sets"]:
    path = {"learn": "learn-test.st", "forget": "forget-test.st", "retain": "retain-test.st"}[entry["name"]]
    assert entry["file"] == path
    masks = load_file(path)["masks"]
    with safe_open(path, "np") as f:
        names = json.loads(f.metadata()["classes"])
    # The dataset's mask values to the model's head rows, by name; 255 stays ignored.
    rows = np.full(256, 255, dtype=np.int64)
    for value, name in enumerate(names):
        if name in classes:
            rows[value] = classes.index(name)
    truth = rows[masks]
    guess = predicted[entry["name"]].astype(np.int64)
    assert guess.shape == truth.shape and guess.dtype == np.int64
    varied |= set(np.unique(guess).tolist())
    counted = truth != 255
    present = sorted(set(np.unique(truth[counted]).tolist()))
    ious = {}
    for row in present:
        t, p = (truth == row) & counted, (guess == row) & counted
        ious[row] = 100 * (t & p).sum() / (t | p).sum()
    assert [c["row"] for c in entry["per_class"]] == present, (entry["per_class"], present)
    for c in entry["per_class"]:
        row = c["row"]
        assert c["class"] == classes[row]
        assert c["pixels"] == ((truth == row) & counted).sum() and c["predicted"] == ((guess == row) & counted).sum()
        assert abs(c["iou"] - ious[row]) < 1e-6, (c, ious[row])
    miou = np.mean([ious[r] for r in present])
    accuracy = 100 * (guess[counted] == truth[counted]).mean()
    assert abs(entry["miou"] - miou) < 1e-6, (entry["miou"], miou)
    assert abs(entry["pixel_accuracy"] - accuracy) < 1e-6, (entry["pixel_accuracy"], accuracy)
    assert entry["images"] == len(masks) and entry["pixels"] == counted.sum()
    print(f"{entry['name']}: mIoU {entry['miou']:.6f} = numpy's {miou:.6f}, over rows {present}")
assert len(varied) > 1, f"the predictions are all {varied}: the check would prove little"

# The overlay: a PNG reader of its own (8-bit RGB, the five PNG filters), then every pixel of a picture.
def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    assert depth == 8 and colour == 2 and interlace == 0, (depth, colour, interlace)
    raw, stride, previous, rows = zlib.decompress(idat), width * 3, bytearray(width * 3), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = previous[i], previous[i - 3] if i >= 3 else 0
            p = a + b - c
            predictor = [0, a, b, (a + b) // 2, a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c)
                         else b if abs(p - b) <= abs(p - c) else c][kind]
            line[i] = (line[i] + predictor) & 255
        rows.append(bytes(line))
        previous = line
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width, 3)

def voc(value):
    if value == 255:
        return (224, 224, 192)
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= (value & 1) << shift
        g |= ((value >> 1) & 1) << shift
        b |= ((value >> 2) & 1) << shift
        value >>= 3
    return (r, g, b)

import os
files = sorted(os.listdir("pictures"))
assert files == ["forget-0.png", "forget-1.png", "learn-0.png", "learn-1.png", "legend.txt", "retain-0.png",
                 "retain-1.png"], files
legend = open("pictures/legend.txt").read().splitlines()
assert legend[0] == "0\t#000000\tbackground" and legend[4] == "4\t#000080\te" and legend[5] == "255\t#e0e0c0\t(ignored)", legend
test = load_file("retain-test.st")
with safe_open("retain-test.st", "np") as f:
    names = json.loads(f.metadata()["classes"])
rows = np.array([classes.index(n) if n in classes else 255 for n in names] + [255] * (256 - len(names)))
for index in (0, 1):
    picture = read_png(f"pictures/retain-{index}.png")
    # 8x8 images enlarged 12 times: three 96x96 panels with 4-pixel white gaps.
    assert picture.shape == (96, 3 * 96 + 8, 3), picture.shape
    panels = [picture[:, k * 100:k * 100 + 96][::12, ::12] for k in range(3)]
    image, truth, guess = test["images"][index, 0], rows[test["masks"][index]], predicted["retain"][index]
    assert (panels[0] == image[:, :, None]).all()
    assert (panels[1] == np.array([[voc(v) for v in row] for row in truth])).all()
    assert (panels[2] == np.array([[voc(v) for v in row] for row in guess])).all()
    assert (picture[:, 96:100] == 255).all() and (picture[:, 196:200] == 255).all()
PY

# An existing overlay directory is refused; -f replaces it when it holds only files the new one would
# write (never a file it would not), and nothing is left behind.
expect 2 kswap-eval -q seg.st --adapter learned.st "${sets[@]}" --overlay pictures
err_has "pictures: already exists; use -f to replace it"
expect 2 kswap-eval -q seg.st --adapter learned.st --set retain=retain-test.st --overlay pictures -f
err_has "pictures: holds 'forget-0.png', which is not one of the files it would be replaced with; not replaced"
expect 0 kswap-eval -q seg.st --adapter learned.st "${sets[@]}" --overlay pictures --overlay-images 3 -f
[ "$(ls pictures | wc -l)" = 10 ] || fail "pictures after -f: $(ls pictures)"
cmp -s pictures/learn-0.png pictures/learn-1.png && fail "two different images drew the same picture"
no_litter .
