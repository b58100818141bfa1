#!/usr/bin/env python3
"""Makes kswap's golden segmentation fixture with PyTorch: Tests/Fixtures/vit-tiny-segmentation/.

Needs torch==2.13.0 and safetensors (`pip install torch==2.13.0 safetensors`); CI does not run it, the
outputs are committed. The model is make-vit-fixtures.py's pure-torch copy of timm's VisionTransformer
with LoRA on mlp.fc1/fc2, read from that script, and the "linear" decoder of Segmenter / SETR-naive on
top: the final LayerNorm's patch tokens (the class token dropped) through the linear head, reshaped to
(B, K, Hp, Wp) patch logits, F.interpolate(bilinear, align_corners=False, no antialias) to the image's
(H, W), and F.cross_entropy(ignore_index=255, mean over the counted pixels).

The images are 16x12 for a model made at 16x16 (non-square, so rows and columns cannot be swapped
unnoticed; the position grid is resized bicubically as in vit-tiny's 20x20 case); a quarter of the
pixels are 255 (ignored) and the last image's are all ignored. Stored: the pixel logits, patch
logits, loss, predicted classes, and the gradients of the pixel and patch logits, the head, the LoRA
matrices and some backbone tensors.

Run: .venv/bin/python Scripts/make-segmentation-fixture.py   (writes ~120 KB of safetensors)
"""
import importlib.util
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "vit-tiny-segmentation"

spec = importlib.util.spec_from_file_location("vit_fixtures", ROOT / "Scripts" / "make-vit-fixtures.py")
vit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vit)

IGNORE = 255
BACKBONE_GRADIENTS = ["patch_embed.proj.weight", "pos_embed", "blocks.0.attn.qkv.weight", "blocks.1.norm2.weight",
                      "norm.weight", "norm.bias"]


def segment(model, images):
    """Pixel logits (B, K, H, W) and the patch logits (B, K, Hp, Wp) they are resized from."""
    b, _, h, w = images.shape
    tokens = model.forward_tokens(images)
    patches = model.head(tokens[:, 1:])  # (B, Hp*Wp, K): the class token takes no part
    patch_logits = patches.transpose(1, 2).reshape(b, -1, h // model.patch, w // model.patch)
    patch_logits.retain_grad()
    pixel_logits = F.interpolate(patch_logits, size=(h, w), mode="bilinear", align_corners=False)
    pixel_logits.retain_grad()
    return pixel_logits, patch_logits


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(3)
    classes, rank, alpha = 5, 4, 8.0
    config = dict(image_size=16, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2, mlp_dim=64,
                  num_classes=classes, layer_norm_eps=1e-6, layer_scale=False)
    model = vit.VisionTransformer(16, 4, 3, 32, 2, 2, 64, classes, rank=rank, alpha=alpha)
    vit.randomise(model, g)
    images = torch.randn(3, 3, 16, 12, generator=g)
    masks = torch.randint(0, classes, (3, 16, 12), generator=g)
    masks[torch.rand(masks.shape, generator=g) < 0.25] = IGNORE
    masks[2] = IGNORE
    pixel_logits, patch_logits = segment(model, images)
    loss = F.cross_entropy(pixel_logits, masks, ignore_index=IGNORE)
    loss.backward()

    state = dict(model.named_parameters())
    base = {k: v for k, v in state.items() if ".lora_" not in k}
    lora = {"base_model.model." + k: v for k, v in state.items() if ".lora_" in k}
    OUT.mkdir(parents=True, exist_ok=True)
    metadata = {"vit_config": json.dumps(config, sort_keys=True, separators=(",", ":")), "task": "segmentation"}
    save_file(vit.contiguous(base), OUT / "model.safetensors", metadata=metadata)
    save_file(vit.contiguous(lora), OUT / "adapter.safetensors", metadata={"r": str(rank), "lora_alpha": str(alpha)})
    case = {"images": images, "masks": masks.float(), "logits": pixel_logits, "patch_logits": patch_logits,
            "loss": loss.reshape(1), "predictions": pixel_logits.argmax(dim=1).float(),
            "grad.logits": pixel_logits.grad, "grad.patch_logits": patch_logits.grad}
    names = ["head.weight", "head.bias"] + BACKBONE_GRADIENTS + [k for k in state if ".lora_" in k]
    case.update({"grad." + k: state[k].grad for k in names})
    save_file(vit.contiguous(case), OUT / "case.safetensors")
    counted = int((masks != IGNORE).sum())
    print(f"vit-tiny-segmentation: loss {loss.item():.6f} over {counted} counted pixels, {len(names)} gradients")


if __name__ == "__main__":
    main()
