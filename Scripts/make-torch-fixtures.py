#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of kswap's importer tests to Tests/Fixtures/torch-checkpoint/:

  state.pt           torch.save of {"model": OrderedDict state dict, "epoch": 3, "note": "x"}, zip format,
                     with F32/BF16/F16/I64/BOOL/U8 tensors, an nn.Parameter, a transposed (strided) view,
                     two slices sharing one storage, and a scalar
  expected.safetensors  the same tensors (contiguous) as kswap should name them, written by safetensors
  legacy.pt          the pre-1.6 format (a bare pickle), which kswap refuses with a clear message
  new-dtypes.pt      U16/U32/U64/F8_E4M3 tensors, which torch.save writes with _rebuild_tensor_v3 on
                     an untyped storage; new-dtypes.safetensors the same written by safetensors

Needs torch (pip install torch==2.13.0) and safetensors; run from anywhere. Deterministic.
"""
import collections, pathlib
import torch
from safetensors.torch import save_file

out = pathlib.Path(__file__).resolve().parent.parent / "Tests/Fixtures/torch-checkpoint"
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(0)
base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8
shared = torch.arange(10, dtype=torch.int64)
model = collections.OrderedDict([
    ("fc.weight", torch.nn.Parameter(torch.randn(2, 3))),
    ("fc.bias", torch.tensor([0.5, -1.25])),
    ("half", torch.tensor([1.0, -2.5, 65504.0], dtype=torch.float16)),
    ("brain", torch.tensor([[1.0, 3.140625]], dtype=torch.bfloat16)),
    ("transposed", base.t()),
    ("low", shared[2:5]),
    ("high", shared[6:]),
    ("mask", torch.tensor([True, False, True])),
    ("bytes", torch.tensor([[0, 255]], dtype=torch.uint8)),
    ("scalar", torch.tensor(7.0)),
])
checkpoint = {"model": model, "epoch": 3, "note": "x"}
torch.save(checkpoint, out / "state.pt")
torch.save(model, out / "legacy.pt", _use_new_zipfile_serialization=False)
save_file({f"model.{k}": v.detach().contiguous().clone() for k, v in model.items()}, out / "expected.safetensors")
new_dtypes = {
    "u16": torch.tensor([1, 2, 65535], dtype=torch.uint16),
    "u32": torch.tensor([7, 2**31], dtype=torch.uint32),
    "u64": torch.tensor([5, 2**63], dtype=torch.uint64),
    "f8": torch.tensor([1.0, -0.5, 448.0]).to(torch.float8_e4m3fn),
}
torch.save(new_dtypes, out / "new-dtypes.pt")
save_file(new_dtypes, out / "new-dtypes.safetensors")
print("wrote", *sorted(p.name for p in out.iterdir()))
