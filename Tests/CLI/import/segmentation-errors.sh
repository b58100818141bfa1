# Segmentation imports refuse bad pairs, masks and TIFF files with a message naming the file and the
# fault (exit 2, no output left); options that do not apply are refused too.
expect() {  # expect STATUS MESSAGE-FRAGMENT ARGS...: kswap-pack ARGS exits STATUS, stderr has the fragment
  local status=$1 fragment=$2; shift 2
  set +e; kswap-pack "$@" -o out.safetensors 2>err.txt; local got=$?; set -e
  [ "$got" = "$status" ] || { echo "kswap-pack $*: exit $got, expected $status"; cat err.txt; exit 1; }
  grep -qF -- "$fragment" err.txt || { echo "kswap-pack $*: message lacks '$fragment':"; cat err.txt; exit 1; }
  [ ! -e out.safetensors ] || { echo "kswap-pack $*: left an output file"; exit 1; }
}
fixtures="$ROOT/Tests/Fixtures/tiff"
"$PY" - <<'PY'
import base64, os, struct, zlib, numpy as np
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
def png(path, pixels):  # grey (H, W) or RGB (H, W, 3) uint8
    os.makedirs(os.path.dirname(path), exist_ok=True)
    h, w = pixels.shape[:2]
    raw = b"".join(b"\0" + row.tobytes() for row in pixels)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2 if pixels.ndim == 3 else 0, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
image, mask = np.full((4, 6), 9, np.uint8), np.zeros((4, 6), np.uint8)
for folder in ("good", "nomask", "noimage", "sizes", "twice", "range", "rgbmask", "jpegmask", "mixed"):
    png(f"{folder}/images/a.png", image)
    if folder not in ("sizes", "rgbmask", "jpegmask"):
        png(f"{folder}/masks/a.png", np.full((4, 6), 3, np.uint8) if folder == "range" else mask)
png("nomask/images/b.png", image)
png("noimage/masks/z.png", mask)
png("sizes/masks/a.png", np.zeros((4, 5), np.uint8))
open("twice/images/a.tif", "wb").write(b"II*\0")
png("rgbmask/masks/a.png", np.zeros((4, 6, 3), np.uint8))
os.makedirs("jpegmask/masks")
open("jpegmask/masks/a.jpg", "wb").write(base64.b64decode(  # a 2x2 grey JPEG
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAACAAIBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAMBAQEBAAAAAAAAAAAAAAIDBAgHAQb/2gAIAQEAAD8AWFlrAOEL8x5zuuxRki263hHIa7LK838cpqrqp59886immh3xhufQ9xm1zmmbGsMjMiIvfff/2Q=="))
png("mixed/images/b.png", np.zeros((5, 4), np.uint8))
png("mixed/masks/b.png", np.zeros((5, 4), np.uint8))
os.makedirs("empty/images"); os.makedirs("empty/masks")
png("classes/cat/a.png", image)
open("good.csv", "w").write("1,2,3,4,0\n5,6,7,8,1\n")
PY
kswap-pack -q good.csv -o classes.safetensors
kswap-pack -q good -o seg.safetensors
head -c 300 "$fixtures/nuclei-image.tif" >cut.tif

# Pairs
expect 2 "nomask/images/b.png: no mask of the same base name in nomask/masks" nomask
expect 2 "noimage/masks/z.png: no image of the same base name in noimage/images" noimage
expect 2 "sizes/masks/a.png: mask is 5x4, its image sizes/images/a.png is 6x4" sizes
expect 2 "twice/images/a.tif: a.png has the same base name \"a\"; pairs need one each" twice
expect 2 "mixed/images/b.png: image is 4x5, the first was 6x4: give --tile or --resize" mixed
expect 2 "empty: no image and mask pairs in images/ and masks/" empty
expect 2 "classes: a segmentation folder holds the sub-folders images/ and masks/" classes --format segmentation
expect 2 "good/images/a.png: an image file imports with its mask (--masks FILE)" good/images/a.png
expect 2 "good: --masks pairs one image file with its mask" good --masks good/masks/a.png
# Masks
expect 2 "range/masks/a.png: mask value 3 at row 0, column 0 has no class (2 classes: 0 to 1, and 255 for ignore)" \
  range --class-names background,cat
expect 2 "nuclei-mask.tif: mask value 300 at row 11, column 36 has no class (at most 255 classes" \
  "$fixtures/nuclei-image.tif" --masks "$fixtures/nuclei-mask.tif"
expect 2 "rgbmask/masks/a.png: a mask PNG must be grey or palette (one class number per pixel); this one is RGB" rgbmask
expect 2 "jpegmask/masks/a.jpg: a mask cannot be JPEG" jpegmask
expect 2 "rgb8-le-6x4-strips.tif: a mask TIFF must have one sample per pixel" \
  "$fixtures/rgb8-le-6x4-strips.tif" --masks "$fixtures/rgb8-le-6x4-strips.tif"
# TIFF outside the subset, or damaged
expect 2 "refused-deflate.tif: unsupported TIFF: Compression (259) is 8 (Deflate); only uncompressed (1) files are read" \
  "$fixtures/refused-deflate.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-two-pages.tif: unsupported TIFF: the file holds more than one image" \
  "$fixtures/grey8-le-5x7.tif" --masks "$fixtures/refused-two-pages.tif"
expect 2 "refused-float.tif: unsupported TIFF: SampleFormat (339) is 3 (floating point)" \
  "$fixtures/refused-float.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-signed.tif: unsupported TIFF: SampleFormat (339) is 2 (signed integers)" \
  "$fixtures/grey8-le-5x7.tif" --masks "$fixtures/refused-signed.tif"
expect 2 "refused-palette.tif: unsupported TIFF: PhotometricInterpretation (262) is 3 (palette)" \
  "$fixtures/refused-palette.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-planar.tif: unsupported TIFF: PlanarConfiguration (284) is 2" \
  "$fixtures/refused-planar.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-alpha.tif: unsupported TIFF: SamplesPerPixel (277) is 4" \
  "$fixtures/refused-alpha.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-bigtiff.tif: unsupported TIFF: BigTIFF (version 43) is not read" \
  "$fixtures/refused-bigtiff.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "refused-1bit.tif: unsupported TIFF: BitsPerSample (258) is 1" \
  "$fixtures/grey8-le-5x7.tif" --masks "$fixtures/refused-1bit.tif"
expect 2 "refused-32bit.tif: unsupported TIFF: BitsPerSample (258) is 32" \
  "$fixtures/refused-32bit.tif" --masks "$fixtures/grey8-le-5x7.tif"
expect 2 "cut.tif: damaged TIFF: strip 0 (3840 bytes at offset 208) runs past the end of the file (300 bytes)" \
  cut.tif --masks "$fixtures/nuclei-mask.tif"
# Options
expect 2 "--instances makes two classes (0 and the objects); --class-names gives 3 names" \
  good --instances --class-names a,b,c
expect 2 "good/images/a.png: image is 6x4, smaller than the 8x8 tiles" good --tile 8x8
expect 64 "--tile expects HxW, e.g. 64x64, got '8'" good --tile 8
expect 2 "classes.safetensors: --tile applies to segmentation datasets" classes.safetensors --tile 1x1
expect 2 "good: --classes applies to classification datasets, not to segmentation" good --classes 0
expect 2 "seg.safetensors: --label-offset applies to classification datasets, not to segmentation" \
  seg.safetensors --label-offset 3
expect 2 "good.csv: --masks applies to segmentation input, not to csv" good.csv --format csv --masks good/masks/a.png
expect 2 "good.csv: not a PNG, JPEG or TIFF image" good.csv --masks good/masks/a.png
expect 2 "classes.safetensors: --scale-16bit applies to imported formats" classes.safetensors --scale-16bit max
