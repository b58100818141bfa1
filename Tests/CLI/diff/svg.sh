# The chart is valid XML and renders (rsvg-convert, librsvg2-bin) to a non-empty PNG.
. "$ROOT/Tests/CLI/lib.sh"
need rsvg-convert
F=$ROOT/Tests/Fixtures/peft
kswap-diff "$F/plain" "$F/rslora" --by block --svg norms.svg > table.txt
grep -q "^0 " table.txt
kswap-diff "$F/base.safetensors" "$F/merged-plain.safetensors" "$F/merged-rslora.safetensors" --by block --svg change.svg >/dev/null
for chart in norms.svg change.svg; do
  "$PY" -c "import sys, xml.etree.ElementTree as ET; ET.parse(sys.argv[1])" "$chart"
  rsvg-convert "$chart" -o "$chart.png"
  "$PY" - "$chart.png" <<'PY'
import sys, struct, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
width, height = struct.unpack(">II", data[16:24])
assert width > 400 and height > 200, (width, height)
# Decode the IDAT stream and check the image is not one flat colour.
idat, pos = b"", 8
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    if kind == b"IDAT": idat += data[pos + 8:pos + 8 + length]
    pos += 12 + length
raw = zlib.decompress(idat)
assert len(set(raw[1:4000])) > 2 or len(set(raw)) > 3, "blank image"
PY
done
grep -q "plain" norms.svg
grep -q "rslora" norms.svg
