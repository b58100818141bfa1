#!/usr/bin/env python3
"""Writes the resource bombs of kswap's limit tests into a folder (default: the current one).

Each file claims far more than it holds, or inflates far beyond what it declares; kswap must refuse
each with an error in bounded memory and time (Tests/CLI/import/bombs.sh runs them under
`ulimit -v 524288`). The large ones are built in a second from precompressed pieces (deflate
segments and gzip members of zeros repeated), so nothing here is committed:

  npz-short-2gib.npz        a member .npy claiming a 2 GiB array that is 4 bytes short, 2 GiB of
                            real zeros deflated (2 MB): the case issue 12 reported
  npz-inflates-past.npz     a member that declares 1 KiB and inflates to 1 GiB
  torch-pickle-inflates.pt  a checkpoint whose data.pkl declares 1 KiB and inflates to 1 GiB
  idx-trailing.idx3-ubyte.gz  IDX images claiming 10x28x28 bytes, then 1 GiB more (gzip members)
  npy-claims-2gib.npy.gz    a 200-byte gzip claiming a 2 GiB array
  npy-zeros-2gib.npy.gz     a gzip that honestly inflates to a 2 GiB array (more than the memory limit)
  csv-billion-columns.csv.gz  one line of a billion "0," fields, 2 GB inflated
  csv-endless-rows.csv.gz   5 GiB of well-formed rows (more than the memory limit)
  csv-label-bomb.csv        the 11-byte table "3,16777215": one label that names 16.7 million classes
  idx-huge-dims.idx3-ubyte  dimensions 2^31 x 2^31 x 2^31
  idx-short.idx3-ubyte      dimensions 60000 x 28 x 28 in a 16-byte file
  safetensors-petabytes.safetensors  a tensor of 10^15 elements in a 100-byte file
  safetensors-overflow.safetensors   a shape whose element count overflows 64 bits
  safetensors-deep-json.safetensors  a header nesting arrays 100,000 deep
  kst-terabytes.kst         a .kst whose header and index promise a 4 TB tensor in 300 bytes
  kst-deep-json.kst         a .kst header nesting arrays 100,000 deep
  dataset-deep-json.safetensors  a dataset whose "classes" metadata nests 100,000 deep
  dataset-label-bomb.safetensors  a dataset of one image labelled 16777215 and no class names
  png-huge.png              a PNG header of 100000 x 100000 pixels
  png-tiny-8000.png         an 8000 x 8000 RGB PNG in 100 bytes
  jpeg-huge.jpg             a JPEG header of 65000 x 65000 pixels
  jpeg-tiny-8000.jpg        an 8000 x 8000 JPEG in 200 bytes
  jpeg-scans.jpg            a progressive JPEG of 1000 scans

Standard library only.  python3 Scripts/make-bombs.py [FOLDER]
"""
import base64, gzip, json, pathlib, struct, sys, zipfile, zlib

OUT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")
MIB = 1 << 20


def zero_deflate(total, head=b""):
    """A raw deflate stream of `head` then `total` zero bytes, built from one compressed 16 MiB
    segment repeated (each segment ends in a full flush, so it stands alone), and its CRC-32."""
    chunk = 16 * MIB
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    parts = [c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)]
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    zeros = bytes(chunk)
    segment = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    left = total
    while left >= chunk:
        parts.append(segment)
        crc = zlib.crc32(zeros, crc)
        left -= chunk
    c = zlib.compressobj(1, zlib.DEFLATED, -15)
    parts.append(c.compress(bytes(left)) + c.flush(zlib.Z_FINISH))
    return b"".join(parts), zlib.crc32(bytes(left), crc)


def zip_with(path, members):
    """A zip of deflated members (name, raw deflate data, CRC-32, declared size), written by hand so
    that a declared size may lie."""
    out = bytearray()
    central = bytearray()
    for name, data, crc, declared in members:
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), declared, len(name), 0)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data),
                               declared, len(name), 0, 0, 0, 0, 0, len(out)) + name.encode()
        out += local + name.encode() + data
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    (OUT / path).write_bytes(bytes(out + central + end))


def npy_header(descr, shape):
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def gzip_zeros(count):
    """A gzip member of `count` zeros, quickly (deflate level 1)."""
    return gzip.compress(bytes(count), compresslevel=1, mtime=0)


# -- zip members ---------------------------------------------------------------------------------

header = npy_header("<f4", "(536870912,)")
data, crc = zero_deflate((1 << 31) - 4, head=header)
zip_with("npz-short-2gib.npz", [("x.npy", data, crc, len(header) + (1 << 31) - 4)])

header = npy_header("<f4", "(256,)")
data, crc = zero_deflate(1 << 30, head=header)
zip_with("npz-inflates-past.npz", [("x.npy", data, crc, len(header) + 1024)])

data, crc = zero_deflate(1 << 30, head=b"\x80\x02}q\x00.")
zip_with("torch-pickle-inflates.pt", [("archive/data.pkl", data, crc, 1024)])

# -- gzip streams --------------------------------------------------------------------------------

zeros64 = gzip_zeros(64 * MIB)
idx_header = struct.pack(">BBBBIII", 0, 0, 8, 3, 10, 28, 28)
(OUT / "idx-trailing.idx3-ubyte.gz").write_bytes(
    gzip.compress(idx_header + bytes(10 * 28 * 28), mtime=0) + zeros64 * 16)
(OUT / "npy-claims-2gib.npy.gz").write_bytes(gzip.compress(npy_header("<f4", "(536870912,)"), mtime=0))
(OUT / "npy-zeros-2gib.npy.gz").write_bytes(gzip.compress(npy_header("<f4", "(536870912,)"), mtime=0) + zeros64 * 32)
fields = gzip.compress(b"0," * (32 * MIB), compresslevel=1, mtime=0)
(OUT / "csv-billion-columns.csv.gz").write_bytes(fields * 32)  # 2^30 fields, no newline
row = b"0," * 784 + b"1\n"  # a 28x28 image and its label
rows = gzip.compress(row * (16 * MIB // len(row)), compresslevel=9, mtime=0)
(OUT / "csv-endless-rows.csv.gz").write_bytes(rows * 320)  # 5 GiB of well-formed rows
(OUT / "csv-label-bomb.csv").write_bytes(b"3,16777215\n")  # one pixel, and a class named per label up to it

# -- headers that claim too much -----------------------------------------------------------------

(OUT / "idx-huge-dims.idx3-ubyte").write_bytes(struct.pack(">BBBBIII", 0, 0, 8, 3, 1 << 31, 1 << 31, 1 << 31))
(OUT / "idx-short.idx3-ubyte").write_bytes(struct.pack(">BBBBIII", 0, 0, 8, 3, 60000, 28, 28))


def safetensors(path, header, data=b"\0" * 8):
    text = header.encode() if isinstance(header, str) else header
    text += b" " * (-len(text) % 8)
    (OUT / path).write_bytes(struct.pack("<Q", len(text)) + text + data)


safetensors("safetensors-petabytes.safetensors", json.dumps(
    {"w": {"dtype": "F32", "shape": [1000000000, 1000000], "data_offsets": [0, 4 * 10**15]}}))
safetensors("safetensors-overflow.safetensors", json.dumps(
    {"w": {"dtype": "F32", "shape": [1 << 32, 1 << 32, 1 << 32], "data_offsets": [0, 8]}}))
deep = "[" * 100000 + "]" * 100000
safetensors("safetensors-deep-json.safetensors", '{"w": ' + deep + "}")
# A dataset (one 1x1 grey image, label 0) whose class list nests 100,000 deep.
safetensors("dataset-deep-json.safetensors", json.dumps({
    "__metadata__": {"dataset": "1", "classes": deep},
    "images": {"dtype": "U8", "shape": [1, 1, 1, 1], "data_offsets": [0, 1]},
    "labels": {"dtype": "I64", "shape": [1], "data_offsets": [1, 9]},
}), data=b"\0" * 9)
# A dataset of one 1x1 grey image whose label, 16777215, would name that many classes.
safetensors("dataset-label-bomb.safetensors", json.dumps({
    "__metadata__": {"dataset": "1"},
    "images": {"dtype": "U8", "shape": [1, 1, 1, 1], "data_offsets": [0, 1]},
    "labels": {"dtype": "I64", "shape": [1], "data_offsets": [1, 9]},
}), data=b"\0" + struct.pack("<q", 16777215))

# -- the compressed container (Formats/tensor-file.md) --------------------------------------------

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x85EBCA77C2B2AE63,
                      0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def xxh64(data):
    """XXH64 with seed 0, the container's checksum."""
    def step(acc, lane):
        return rotl((acc + lane * P2) & M64, 31) * P1 & M64

    n, i = len(data), 0
    if n >= 32:
        v = [(P1 + P2) & M64, P2, 0, (-P1) & M64]
        while i + 32 <= n:
            v = [step(v[k], int.from_bytes(data[i + 8 * k:i + 8 * k + 8], "little")) for k in range(4)]
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for lane in v:
            h = ((h ^ step(0, lane)) * P1 + P4) & M64
    else:
        h = P5
    h = (h + n) & M64
    while i + 8 <= n:
        h = (rotl(h ^ step(0, int.from_bytes(data[i:i + 8], "little")), 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ (int.from_bytes(data[i:i + 4], "little") * P1 & M64), 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h = rotl(h ^ (data[i] * P5 & M64), 11) * P1 & M64
        i += 1
    h ^= h >> 33
    h = h * P2 & M64
    h ^= h >> 29
    h = h * P3 & M64
    return h ^ (h >> 32)


def kst(path, header_json, raw_size=None):
    """A .kst of one F32 tensor whose record declares `raw_size` bytes in four zstd planes, each a
    frame header that declares a quarter of it (and nothing more)."""
    header = header_json.encode()
    out = b"\x89KST\r\n\x1a\n" + struct.pack("<II", 1, len(header)) + header + struct.pack("<Q", xxh64(header))
    start = len(out)
    plane = raw_size // 4
    frame = struct.pack("<IB", 0xFD2FB528, 0xE0) + struct.pack("<Q", plane)
    record = b"KSTR" + struct.pack("<IQQ", 0, raw_size, 0) + bytes([2, 4, 1]) + bytes(5)
    record += b"".join(bytes([1]) + bytes(7) + struct.pack("<Q", len(frame)) for _ in range(4)) + frame * 4
    out += record
    index = struct.pack("<QQQQ", start, len(record), raw_size, 0)
    out += index + struct.pack("<QQQ", start + len(record), 1, xxh64(index)) + b"\x89KSTIDX\n"
    (OUT / path).write_bytes(out)


kst("kst-terabytes.kst", json.dumps({"__metadata__": {}, "tensors": [
    {"name": "w", "dtype": "F32", "shape": [1000000, 1000000]}]}, separators=(",", ":")), raw_size=4 * 10**12)
kst("kst-deep-json.kst", deep, raw_size=4)

# -- images ---------------------------------------------------------------------------------------


def png(path, width, height):
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    (OUT / path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                             + chunk(b"IEND", b""))


png("png-huge.png", 100000, 100000)
png("png-tiny-8000.png", 8000, 8000)

# A 2x2 grey baseline JPEG (Tests/ImportersTests/Fixtures.swift's greyJPEG) with its frame header's
# size changed: SOF0 (FF C0) holds the height and width after its length and precision.
grey = bytearray(base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
    "AQEBAQEBAQH/wAALCAACAAIBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAMBAQEBAAAAAAAAAAAAAAIDBAgHAQb/2gAIAQEAAD8A"
    "WFlrAOEL8x5zuuxRki263hHIa7LK838cpqrqp59886immh3xhufQ9xm1zmmbGsMjMiIvfff/2Q=="))
sof = grey.index(b"\xff\xc0")
for path, side in [("jpeg-huge.jpg", 65000), ("jpeg-tiny-8000.jpg", 8000)]:
    grey[sof + 5:sof + 9] = struct.pack(">HH", side, side)
    (OUT / path).write_bytes(bytes(grey))

# An 8x8 grey progressive JPEG (as Pillow writes it) cut after its first scan, a DC scan of 11 bytes
# (SOS header and data), which then repeats 1000 times: each scan revisits every coefficient.
progressive = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5"
    "PTgyPC4zNDL/wgALCAAIAAgBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQAAAAF/")
(OUT / "jpeg-scans.jpg").write_bytes(progressive + progressive[-11:] * 999 + b"\xff\xd9")

print("wrote bombs to", OUT.resolve())
