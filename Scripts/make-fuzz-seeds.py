#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, Fuzz/Corpus/TARGET/NAME (committed; Scripts/fuzz runs on them).

Small valid files of each format, a few damaged ones, and the small fixtures under Tests/Fixtures, so
libFuzzer starts from inputs that already reach deep into each reader. Deterministic: running it again
gives the same bytes (files it does not write, such as the regression-* inputs of crashes found,
are left alone). Needs the .venv (numpy, safetensors, torch) and a built kswap-pack for the .kst
seeds (`swift build` first).

Usage: .venv/bin/python Scripts/make-fuzz-seeds.py
"""

import bz2
import gzip
import io
import json
import lzma
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "Fuzz", "Corpus")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")


def seed(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as file:
        file.write(data)


def fixture(path):
    with open(os.path.join(FIXTURES, path), "rb") as file:
        return file.read()


def save_safetensors(tensors, metadata=None):
    """A safetensors file with its header keys sorted: the safetensors package writes metadata in hash
    order, which differs from run to run."""
    dtypes = {"f2": "F16", "f4": "F32", "f8": "F64", "i1": "I8", "i2": "I16", "i4": "I32", "i8": "I64",
              "u1": "U8", "u2": "U16", "u4": "U32", "u8": "U64", "b1": "BOOL"}
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        dtype = "BF16" if name.startswith("bf16") else dtypes[array.dtype.str[1:]]
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def header_json(safetensors_bytes):
    (length,) = struct.unpack("<Q", safetensors_bytes[:8])
    return safetensors_bytes[8 : 8 + length]


def mixed_tensors():
    """Every common dtype, a scalar, an empty tensor (as Tests/CLI/lib.sh's make_mixed)."""
    rng = np.random.default_rng(7)
    return {
        "w": rng.standard_normal((3, 4)).astype(np.float32),
        "h": rng.standard_normal(5).astype(np.float16),
        "d": rng.standard_normal(2).astype(np.float64),
        "labels": np.arange(-3, 3, dtype=np.int64),
        "counts": np.array([0, 1, 255], dtype=np.uint8),
        "small": np.array([-128, 0, 127], dtype=np.int8),
        "mid": np.array([-30000, 3], dtype=np.int16),
        "mask": np.array([True, False, True]),
        "scale": np.array(0.125, dtype=np.float32),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "u32": np.array([7, 2**31], dtype=np.uint32),
    }


def tensor_files(pack):
    mixed = save_safetensors(mixed_tensors(), metadata={"format": "pt", "note": "mixed dtypes"})
    plain = save_safetensors({"x": np.arange(64, dtype=np.float32).reshape(8, 8)})
    # numpy has no bfloat16: the bits of bfloat16 0, 1, ..., 15 as u16, named bf16* to be written as BF16.
    bits = torch.arange(16, dtype=torch.bfloat16).view(torch.int16).numpy().astype(np.uint16)
    bf16 = save_safetensors({"bf16": bits})
    for name, data in [("mixed", mixed), ("plain", plain), ("bf16", bf16)]:
        seed("safetensors", name + ".safetensors", data)
        seed("safetensors-header", name + ".json", header_json(data))
    seed("safetensors", "truncated.safetensors", mixed[:-5])
    seed("safetensors", "trailing.safetensors", mixed + b"\0\0\0\0")
    seed("safetensors", "logits.safetensors", fixture("checkpoints/logits.safetensors"))
    seed("safetensors-header", "empty.json", b"{}")
    seed("safetensors-header", "metadata-only.json", b'{"__metadata__":{"a":"b"}}')
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in [("mixed", mixed), ("plain", plain), ("bf16", bf16)]:
            source = os.path.join(scratch, name + ".safetensors")
            with open(source, "wb") as file:
                file.write(data)
            for level in ["3", "9"]:  # 9 and up: the rotated-plane layout for floats
                out = os.path.join(scratch, f"{name}-{level}.kst")
                command = [pack, source, "--compress", "--level", level, "-o", out]
                subprocess.run(command, check=True, capture_output=True)
                with open(out, "rb") as file:
                    seed("kst", f"{name}-{level}.kst", file.read())
    seed(
        "sharded-index",
        "index.json",
        json.dumps(
            {
                "metadata": {"total_size": 16},
                "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"},
            }
        ).encode(),
    )
    seed("sharded-index", "timm.json", fixture("checkpoints/timm-sharded/model.safetensors.index.json"))


def torch_files():
    state = {"w": torch.arange(16, dtype=torch.float32), "b": torch.ones(4, dtype=torch.float32)}
    view = {"t": torch.arange(16, dtype=torch.float32).reshape(4, 4).t()[1:, ::2], "n": {"h": torch.ones(4)}}
    for name, value in [("state", state), ("view", view)]:
        buffer = io.BytesIO()
        torch.save(value, buffer)
        archive = buffer.getvalue()
        with zipfile.ZipFile(io.BytesIO(archive)) as z:
            pkl = next(n for n in z.namelist() if n.endswith("data.pkl"))
            seed("torch-pickle", name + ".pkl", z.read(pkl))
        seed("torch-zip", name + ".pt", archive)
        seed("zip", name + ".pt", archive)
    seed("torch-zip", "fixture.pt", fixture("torch-checkpoint/state.pt"))
    seed("pickle", "legacy.pt", fixture("torch-checkpoint/legacy.pt"))
    values = {"a": [1, -2, 3.5, None, True, "text", b"bytes", (1, 2, 3)], 2**40: {"nested": [[]]}}
    for protocol in [2, 3, 4, 5]:
        seed("pickle", f"values-{protocol}.pkl", pickle.dumps(values, protocol=protocol))


def npy(array, version=None):
    buffer = io.BytesIO()
    if version is None:
        np.save(buffer, array)
    else:
        np.lib.format.write_array(buffer, array, version=version)
    return buffer.getvalue()


def numpy_files():
    arrays = {
        "f2": np.array([1.0, -2.5, 65504], dtype=np.float16),
        "fortran-be": np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3)),
        "images-u1": np.arange(12, dtype=np.uint8).reshape(3, 2, 2),
        "bool": np.array([True, False]),
        "empty-i8": np.zeros((0, 3), dtype=np.int64),
        "scalar-f8": np.array(3.25),
        "labels-u8": np.array([2**63, 1], dtype=np.uint64),
    }
    for name, array in arrays.items():
        seed("npy", name + ".npy", npy(array))
    seed("npy", "v2.npy", npy(np.arange(4, dtype=np.float32), version=(2, 0)))
    seed("npy", "v3.npy", npy(np.arange(4, dtype=np.int16), version=(3, 0)))
    for name, compress in [("stored", np.savez), ("deflated", np.savez_compressed)]:
        buffer = io.BytesIO()
        compress(buffer, images=arrays["images-u1"], labels=np.array([0, 1, 0]), f=arrays["fortran-be"])
        seed("npz", name + ".npz", buffer.getvalue())
        seed("zip", name + ".npz", buffer.getvalue())


def idx(dtype_code, shape, payload):
    return bytes([0, 0, dtype_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload


def idx_and_compressed_files():
    images = idx(0x08, [2, 2, 3], bytes(range(12)))
    seed("idx", "images-u8.idx", images)
    seed("idx", "labels-u8.idx", idx(0x08, [2], bytes([7, 1])))
    seed("idx", "f32.idx", idx(0x0D, [1, 1, 2, 2], struct.pack(">4f", 0.5, -1, 2, 3)))
    seed("idx", "i16.idx", idx(0x0B, [3], struct.pack(">3h", -1, 2, 300)))
    seed("idx", "i32.idx", idx(0x0C, [2], struct.pack(">2i", 5, 2**30)))
    seed("idx", "f64.idx", idx(0x0E, [1, 1, 1], struct.pack(">d", 0.25)))
    table = b"1,2,3,4,7\n5,6,7,8,2\n"
    seed("decompress", "table.gz", gzip.compress(table, mtime=0))
    seed("decompress", "table.bz2", bz2.compress(table))
    seed("decompress", "table.xz", lzma.compress(table))
    seed("decompress", "images.idx.gz", gzip.compress(images, mtime=0))
    zstd = subprocess.run(["zstd", "-q", "-c", "-"], input=table, capture_output=True)
    if zstd.returncode == 0:
        seed("decompress", "table.zst", zstd.stdout)
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(zipfile.ZipInfo("pkg/data/table.csv.gz"), gzip.compress(table, mtime=0))
        info = zipfile.ZipInfo("pkg/readme.txt")
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, b"hello hello hello")
    seed("zip", "wheel.whl", wheel.getvalue())


def csv_files():
    # The first two bytes are the target's options: label column (0 last, 1 first, 2 + 4k index k-1,
    # 3 named "label"), then the image shape (below 128: square grey; else C, H, W from its bits).
    seed("csv", "last.csv", b"\x00\x00" + b"1,2,3,4,7\n5,6,7,8,2\n")
    seed("csv", "first-floats.csv", b"\x01\x00" + b"7,0.5,1e2,3,4\r\n2,5,6,7,8\r\n")
    seed("csv", "named.csv", b"\x03\x00" + b'p0,p1,p2,p3,"label"\n1,2,3,4,cat\n5,6,7,8,dog\n\n')
    seed("csv", "index-shape.csv", b"\x0a\x86" + b"9,1,2\n8,3,4\n")  # label column 1, shape 2x1x1


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, colour_type, depth, rows, palette=None):
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0))
    if palette:
        out += png_chunk(b"PLTE", palette)
    raw = b"".join(b"\0" + row for row in rows)
    return out + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


def image_files():
    seed("png", "grey8.png", png(2, 2, 0, 8, [b"\x00\x40", b"\x80\xff"]))
    seed("png", "grey16.png", png(2, 1, 0, 16, [b"\x00\x01\xff\xff"]))
    seed("png", "rgb8.png", png(1, 2, 2, 8, [b"\xff\x00\x00", b"\x00\x00\xff"]))
    seed("png", "rgba16.png", png(1, 1, 6, 16, [b"\x10\x00\x20\x00\x30\x00\x80\x00"]))
    seed("png", "grey-alpha.png", png(2, 1, 4, 8, [b"\x80\x40\xff\x00"]))
    seed("png", "palette.png", png(2, 1, 3, 8, [b"\x00\x01"], palette=b"\xff\x00\x00\x00\x00\xff"))
    seed("png", "grey1.png", png(8, 1, 0, 1, [b"\xa5"]))
    # Every TIFF fixture (Scripts/make-tiff-fixtures.py): the readable ones and the refused ones.
    for name in sorted(os.listdir(os.path.join(FIXTURES, "tiff"))):
        seed("tiff", name, fixture(os.path.join("tiff", name)))
    # The JPEG fixtures of Tests/ImportersTests/Fixtures.swift (ImageMagick, quality 100).
    grey = (
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
        "AQEBAQEBAQEBAQEBAQH/wAALCAACAAIBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAMBAQEBAAAAAAAAAAAAAAIDBAgH"
        "AQb/2gAIAQEAAD8AWFlrAOEL8x5zuuxRki263hHIa7LK838cpqrqp59886immh3xhufQ9xm1zmmbGsMjMiIvfff/2Q=="
    )
    colour = (
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
        "AQEBAQEBAQEBAQEBAQH/2wBDAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB"
        "AQEBAQEBAQH/wAARCAABAAIDAREAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAACv/EABoQAAEFAQAAAAAAAAAAAAAAAAYABAc2"
        "drX/xAAVAQEBAAAAAAAAAAAAAAAAAAAFCv/EABoRAAEFAQAAAAAAAAAAAAAAAAgABjh4twf/2gAMAwEAAhEDEQA/ACLSDfjfXkva"
        "eq04E4QhvVUecjaCLM2YJXWU7pqDpX//2Q=="
    )
    import base64

    seed("jpeg", "grey.jpg", base64.b64decode(grey))
    seed("jpeg", "colour.jpg", base64.b64decode(colour))


def json_files():
    configs = {
        "peft-plain.json": fixture("peft/plain/adapter_config.json"),
        "peft-rslora.json": fixture("peft/rslora/adapter_config.json"),
        "peft-export.json": fixture("peft-export/peft/adapter_config.json"),
    }
    for name, data in configs.items():
        seed("adapter-config", name, data)
        seed("json", name, data)
    for name, path in [
        ("hf-vit.json", "checkpoints/hf-vit/config.json"),
        ("timm.json", "checkpoints/timm-sharded/config.json"),
        ("preprocessor.json", "checkpoints/hf-vit/preprocessor_config.json"),
    ]:
        seed("checkpoint-config", name, fixture(path))
        seed("json", name, fixture(path))
    edge = '{"a":"\\u00e9\\ud83d\\ude00\\n\\/","b":[-0,1e-7,1.5E+300,null,true,false],"a":{}}'
    seed("json", "edge.json", edge.encode())
    vit = json.dumps(
        {"depth": 2, "embed_dim": 32, "image_size": 16, "in_chans": 3, "layer_norm_eps": 1e-06, "layer_scale": False,
         "mlp_dim": 64, "num_classes": 5, "num_heads": 2, "patch_size": 4},
        separators=(",", ":"),
    )
    for name, text in [("classes.json", '["ant", null, "bee"]'), ("mean.json", "[0.485,0.456,0.406]"),
                       ("vit-config.json", vit)]:
        seed("metadata-json", name, text.encode())
    adapter = {
        "base_model.model.blocks.0.mlp.fc1.lora_A.weight": np.ones((2, 4), dtype=np.float32),
        "base_model.model.blocks.0.mlp.fc1.lora_B.weight": np.ones((3, 2), dtype=np.float16),
        "base_model.model.head.weight": np.zeros((2, 4), dtype=np.float32),
        "kswap_optimizer.exp_avg.base_model.model.head.weight": np.zeros((2, 4), dtype=np.float32),
    }
    metadata = {"peft_type": '"LORA"', "r": "2", "lora_alpha": "4", "use_rslora": "false",
                "target_modules": '["fc1"]', "rank_pattern": '{"fc1":2}', "alpha_pattern": "{}"}
    seed("adapter", "kswap-adapter.safetensors", save_safetensors(adapter, metadata=metadata))


def dataset_files():
    # Bytes the dataset-file target reads in order (Fuzz/Sources/kswap-fuzz/Targets.swift, fuzzDatasetFile):
    # for images and labels, present (non-zero mod 8), dtype index, rank, dims; classes present and text;
    # channel choice (0, 1, 3), mean and std bytes; format (odd: safetensors); then data.
    u8, f32, i64 = 0, 1, 5
    images = [1, u8, 4, 2, 1, 2, 2]
    labels = [1, i64, 1, 2]
    classes = b'["ant","bee"]'
    tail = [1, len(classes)] + list(classes) + [1, 128, 64, 1]
    data = list(range(8)) + [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    seed("dataset-file", "u8-grey.bin", bytes(images + labels + tail + data))
    one_label = [1, i64, 1, 1]
    rgb = [1, f32, 4, 1, 3, 1, 1] + one_label + [0, 2, 1, 2, 3, 64, 64, 64, 0] + [0] * 20
    seed("dataset-file", "f32-rgb.kst.bin", bytes(rgb))


def detection_files():
    # Bytes the detection-file target reads in order (Targets.swift, fuzzDetectionFile): image count,
    # box count, 4 bytes per box (coordinate (b - 8) / 4), a byte per label (label + 1), per offset its
    # value and an odd byte (kept as it is), classes present and the fixed list, then pixels.
    boxes = [(0, 0, 2, 2), (1, 0.5, 4, 3), (0.25, 1, 1, 2)]
    coordinates = [int(v * 4 + 8) for box in boxes for v in box]
    seed("detection-file", "two-images.bin", bytes([2, 3] + coordinates + [1, 3, 1] + [0, 1, 2, 1, 3, 1] + [1, 1]
                                                   + list(range(0, 240, 10))))
    instances = {
        "images": [{"id": 1, "file_name": "a.png", "width": 2, "height": 2}, {"id": 7, "file_name": "a.png"}],
        "categories": [{"id": 1, "name": "x"}, {"id": 3, "name": "y"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [0.5, 0, 1, 2]},
                        {"id": 2, "image_id": 7, "category_id": 1, "bbox": [0, 0, 2, 2], "iscrowd": 1},
                        {"id": 3, "image_id": 7, "category_id": 1, "bbox": [1, 1, 1, 1], "iscrowd": 0}]}
    seed("coco-instances", "two-images.json", json.dumps(instances).encode())
    results = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 4, 4], "score": 0.9},
               {"image_id": 3, "category_id": 2, "bbox": [1.5, 1, 2, 4], "score": 0.5},
               {"image_id": 3, "category_id": 2, "bbox": [2, 0, 4, 3], "score": 0.5},
               {"image_id": 2, "category_id": 0, "bbox": [0, 0, 1, 1], "score": 1e-3}]
    seed("coco-results", "four.json", json.dumps(results).encode())


def main():
    pack = os.path.join(ROOT, ".build", "debug", "kswap-pack")
    if not os.access(pack, os.X_OK):
        sys.exit(f"make-fuzz-seeds: {pack} not found; run swift build first")
    tensor_files(pack)
    torch_files()
    numpy_files()
    idx_and_compressed_files()
    csv_files()
    image_files()
    json_files()
    dataset_files()
    detection_files()


if __name__ == "__main__":
    main()
