#!/usr/bin/env python3
"""Makes Tests/Fixtures/vit-tiny-dropout/: a training forward and backward of the ViT with dropout, in PyTorch,
with kswap's masks. kswap's engine must give these logits, this loss and these gradients for
`Dropout(probability: P, key: KEY)` (the case's metadata), which pins where it drops and how it scales.

Where: as timm's VisionTransformer and Mlp (timm 1.0.31, models/vision_transformer.py and layers/mlp.py),
which the official classification ViT (jeonsworld/ViT-pytorch) matches: `pos_drop` after the position
embedding is added (class token included); in each block's MLP `drop1` after the activation and `drop2`
after fc2, inside the MLP, so before LayerScale (`ls2`) and the residual add. No attention dropout.
The model is the pure-torch copy of timm's ViT in Scripts/make-vit-fixtures.py, with LayerScale, run
step by step here to put the masks in. Inverted dropout: kept values times 1 / (1 - p).

The masks are kswap's, written out again below in numpy: site key = SeededGenerator(seed: KEY)
.derived(site name).next(); element i of the site's (contiguous) tensor is kept when the low (even i) or
high (odd i) 32 bits of output i // 2 of SeededGenerator(seed: site key) are at least round(p * 2^32).

Needs torch==2.13.0, numpy and safetensors; CI does not run it, the outputs are committed.
Run: .venv/bin/python Scripts/make-dropout-fixture.py   (writes ~40 KB)
"""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("fixtures", ROOT / "Scripts" / "make-vit-fixtures.py")
vit = importlib.util.module_from_spec(spec)
sys.modules["fixtures"] = vit
spec.loader.exec_module(vit)

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def splitmix_outputs(state, count):
    """Outputs 0..<count of SeededGenerator(seed: state) (SplitMix64)."""
    with np.errstate(over="ignore"):
        z = np.uint64(state) + np.arange(1, count + 1, dtype=np.uint64) * np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def derived_state(state, purpose):
    """SeededGenerator.derived(purpose).state: FNV-1a of the purpose, xor, one step."""
    h = 0xCBF29CE484222325
    for byte in purpose.encode():
        h = ((h ^ byte) * 0x100000001B3) & MASK64
    return ((state ^ h) + GOLDEN) & MASK64


def kept(key, site, count, p):
    site_key = int(splitmix_outputs(derived_state(key, site), 1)[0])
    outputs = splitmix_outputs(site_key, (count + 1) // 2)
    draws = np.stack([outputs & np.uint64(0xFFFFFFFF), outputs >> np.uint64(32)], axis=1).reshape(-1)[:count]
    threshold = min(int(np.floor(np.float64(np.float32(p)) * 2**32 + 0.5)), 2**32 - 1)
    return draws >= np.uint64(threshold)


def drop(x, key, site, p):
    mask = torch.from_numpy(kept(key, site, x.numel(), p).astype(np.float32)).reshape(x.shape)
    scale = torch.tensor(1 / (1 - float(np.float32(p))), dtype=torch.float32)
    return x * mask * scale


def forward_with_dropout(model, x, key, p):
    """timm's forward order with the three dropout sites."""
    b, _, h, w = x.shape
    t = model.patch_embed.proj(x).flatten(2).transpose(1, 2)
    t = t + model.position_rows(h // model.patch, w // model.patch)
    t = torch.cat([(model.cls_token + model.pos_embed[:, :1]).expand(b, -1, -1), t], dim=1)
    t = drop(t, key, "embedding", p)
    for i, block in enumerate(model.blocks):
        t = t + block.ls1(block.attn(block.norm1(t)))
        hidden = drop(F.gelu(block.mlp.fc1(block.norm2(t))), key, f"block {i} mlp hidden", p)
        t = t + block.ls2(drop(block.mlp.fc2(hidden), key, f"block {i} mlp output", p))
    return model.head(model.norm(t)[:, 0])


def main():
    g = torch.Generator().manual_seed(3)
    config = dict(image_size=12, patch_size=4, in_chans=3, embed_dim=16, depth=2, num_heads=2, mlp_dim=64,
                  num_classes=4, layer_norm_eps=1e-6, layer_scale=True)
    model = vit.VisionTransformer(12, 4, 3, 16, 2, 2, 64, 4, layer_scale=True)
    vit.randomise(model, g)
    images = torch.randn(3, 3, 12, 12, generator=g)
    labels = torch.tensor([1, 3, 0])
    key, p = 12345, 0.25
    logits = forward_with_dropout(model, images, key, p)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    with torch.no_grad():
        evaluation = model(images)
    out = ROOT / "Tests" / "Fixtures" / "vit-tiny-dropout"
    out.mkdir(parents=True, exist_ok=True)
    state = dict(model.named_parameters())
    save_file(vit.contiguous(state), out / "model.safetensors",
              metadata={"vit_config": json.dumps(config, sort_keys=True, separators=(",", ":"))})
    case = {"images": images, "labels": labels.float(), "logits": logits, "loss": loss.reshape(1),
            "evaluation_logits": evaluation}
    case.update({"grad." + k: v.grad for k, v in state.items()})
    save_file(vit.contiguous(case), out / "case.safetensors", metadata={"key": str(key), "probability": str(p)})
    changed = (logits - evaluation).abs().max().item()
    print(f"vit-tiny-dropout: loss {loss.item():.6f}, largest logit change from dropout {changed:.4f}")


if __name__ == "__main__":
    main()
