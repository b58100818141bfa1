#!/usr/bin/env python3
"""Makes Tests/Fixtures/checkpoints/: tiny ViT checkpoints as users have them (no kswap metadata), in
every layout and container the model tools read, a tiny image set and PyTorch's logits for each.

Needs timm==1.0.31 and transformers==5.23.0 (Scripts/requirements-dev.txt) with PyPI's torch 2.13.0
and torchvision 0.28.0: timm imports torchvision, whose PyPI wheel does not load with the CPU build of
torch. CI does not run it: the outputs are committed, and the CLI cases (Tests/CLI/eval/checkpoints.sh)
compare kswap-eval's logits with these. The same run writes the same bytes.

Every model takes 12x12 RGB images in patches of 4 (a 3x3 grid), has 2 blocks and a head for the
classes ant, bee, cat, dog. Its weights are drawn (not trained) so that the residual stream stays
small (std about 1e-2): every LayerNorm's epsilon then moves the logits by far more than the 1e-4
the tests allow, which this script checks, so a wrong epsilon cannot pass.

  timm.safetensors      timm VisionTransformer (width 24, 2 heads, MLP 48), its state dict, no metadata
  timm-sharded/         the same weights as a 2-shard checkpoint (huggingface_hub's
                        save_torch_state_dict: model.safetensors.index.json + 2 shards), with the
                        config.json timm's save_config_for_hf writes (model_args, label_names,
                        pretrained_cfg mean and std)
  hf-vit/               transformers ViTForImageClassification (width 24, 3 heads, intermediate 40)
                        by save_pretrained: model.safetensors, config.json (id2label,
                        layer_norm_eps 1e-12), and preprocessor_config.json from ViTImageProcessor
                        (image_mean, image_std)
  hf-vit.bin            another ViTForImageClassification (width 24, 2 heads, intermediate 48), as
                        torch.save(model.state_dict()): transformers 5's module names
                        (vit.layers.N.attention.q_proj, ...), no config
  dinov2-head.safetensors  transformers Dinov2Model (width 24, 4 heads, MLP 48, LayerScale) in the
                        names save_pretrained writes, plus head.weight/head.bias, a linear head on the
                        final-normed class token (the layout kswap-pretrain --head-only fits)
  images.safetensors    a kswap dataset of 10 random 12x12 RGB images (U8) of those four classes
  logits.safetensors    per model (timm, timm-sharded, hf-vit, hf-vit-bin, dinov2-head), the logits
                        (10, 4) of the PyTorch model on images.safetensors normalised as listed in
                        NORMALISATION below

Run: python Scripts/make-checkpoint-fixtures.py   (writes about 350 KB)
"""
import json
import shutil
from pathlib import Path

import numpy as np
import timm
import torch
import transformers
from huggingface_hub import save_torch_state_dict
from safetensors.torch import load_file, save_file
from timm.models._hub import save_config_for_hf
from transformers import Dinov2Config, Dinov2Model, ViTConfig, ViTForImageClassification, ViTImageProcessor

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "checkpoints"
CLASSES = ["ant", "bee", "cat", "dog"]
IMAGE, PATCH = 12, 4
# What each model's images are normalised with; the tests pass the flags, or the files say it.
NORMALISATION = {
    "timm": ([0.4, 0.5, 0.6], [0.2, 0.25, 0.3]),  # --mean/--std
    "timm-sharded": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),  # config.json pretrained_cfg
    "hf-vit": ([0.5, 0.4, 0.3], [0.25, 0.2, 0.3]),  # preprocessor_config.json
    "hf-vit-bin": ([0.3, 0.3, 0.3], [0.3, 0.4, 0.5]),  # --mean/--std
    "dinov2-head": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),  # --mean/--std
}


def save_numpy(arrays: dict, path: str, metadata: dict) -> None:
    """safetensors with the metadata keys sorted (the library writes them in hash order), so the
    same run gives the same bytes."""
    header, offset = {"__metadata__": dict(sorted(metadata.items()))}, 0
    dtypes = {np.dtype(np.uint8): "U8", np.dtype(np.int64): "I64", np.dtype(np.float32): "F32"}
    for name in sorted(arrays):
        size = arrays[name].nbytes
        header[name] = {"dtype": dtypes[arrays[name].dtype], "shape": list(arrays[name].shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(len(text).to_bytes(8, "little") + text)
        for name in sorted(arrays):
            out.write(np.ascontiguousarray(arrays[name]).tobytes())


def draw_weights(model: torch.nn.Module, seed: int) -> None:
    """Random weights of a useful size: LayerNorms near 1, linear maps scaled by fan-in, and whatever
    writes into the residual stream (embeddings, attention output, fc2) scaled by 1e-2."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            normal = torch.randn(p.shape, generator=generator)
            module = name.rsplit(".", 1)[0]
            if "norm" in module.rsplit(".", 1)[-1]:  # norm1, layernorm_before, layernorm, ...
                value = 1 + 0.2 * normal if name.endswith("weight") else 0.1 * normal
            elif name.endswith("lambda1") or name.endswith("gamma"):  # LayerScale
                value = 0.5 + torch.rand(p.shape, generator=generator)
            elif name.endswith("bias"):
                value = 0.1 * normal
            elif p.dim() >= 2 and "token" not in name and "pos" not in name and "position" not in name:
                value = normal / np.sqrt(p[0].numel())
            else:  # class token, position embedding
                value = normal
            if any(part in name for part in ("patch_embed", "cls_token", "pos_embed", "position_embeddings",
                                             "attn.proj", "o_proj", "fc2")):
                value = 0.01 * value
            p.copy_(value)


def layer_norm_epsilon(model: torch.nn.Module, eps: float) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.eps = eps


def logits_of(name: str, model: torch.nn.Module, forward, images: np.ndarray) -> np.ndarray:
    """The model's logits on the normalised images; checks that another LayerNorm epsilon
    (1e-6 <-> 1e-12) moves them by more than 1e-3 relative."""
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALISATION[name])
    x = (torch.from_numpy(images).float() / 255 - mean) / std
    model.eval()
    with torch.no_grad():
        logits = forward(x)
        eps = next(m.eps for m in model.modules() if isinstance(m, torch.nn.LayerNorm))
        layer_norm_epsilon(model, 1e-6 if eps < 1e-9 else 1e-12)
        other = forward(x)
        layer_norm_epsilon(model, eps)
    moved = float((other - logits).abs().max() / logits.abs().max())
    assert moved > 1e-3, f"{name}: the LayerNorm epsilon moves the logits by only {moved:.2e}"
    print(f"{name}: logits {tuple(logits.shape)}, another epsilon moves them by {moved:.1e}")
    return logits.numpy().astype(np.float32)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():  # everything but the README (which records the versions used)
        if old.is_dir():
            shutil.rmtree(old)
        elif old.name != "README.md":
            old.unlink()
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 3, IMAGE, IMAGE), dtype=np.uint8)
    labels = np.arange(10, dtype=np.int64) % len(CLASSES)
    save_numpy({"images": images, "labels": labels}, str(OUT / "images.safetensors"),
               metadata={"dataset": "1", "classes": json.dumps(CLASSES), "source": "random pixels, seed 0"})
    logits = {}

    # timm, plain and sharded (with timm's own config.json).
    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=IMAGE, patch_size=PATCH,
                              embed_dim=24, depth=2, num_heads=2, mlp_ratio=2.0, num_classes=len(CLASSES))
    draw_weights(model, 1)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(OUT / "timm.safetensors"))
    logits["timm"] = logits_of("timm", model, model, images)
    sharded = OUT / "timm-sharded"
    total = sum(t.numel() * t.element_size() for t in state.values())
    sharded.mkdir()
    save_torch_state_dict(state, str(sharded), max_shard_size=total * 6 // 10)
    assert len(list(sharded.glob("*.safetensors"))) == 2, "expected two shards"
    mean, std = NORMALISATION["timm-sharded"]
    save_config_for_hf(model, str(sharded / "config.json"), model_config={"label_names": CLASSES},
                       data_config={"mean": tuple(mean), "std": tuple(std)})
    logits["timm-sharded"] = logits_of("timm-sharded", model, model, images)

    # Hugging Face ViTForImageClassification, as save_pretrained writes it.
    labels_config = {"id2label": dict(enumerate(CLASSES)), "label2id": {c: i for i, c in enumerate(CLASSES)}}
    config = ViTConfig(hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=40,
                       image_size=IMAGE, patch_size=PATCH, **labels_config)
    model = ViTForImageClassification(config)
    draw_weights(model, 2)
    model.save_pretrained(str(OUT / "hf-vit"))
    mean, std = NORMALISATION["hf-vit"]
    ViTImageProcessor(size={"height": IMAGE, "width": IMAGE}, image_mean=mean, image_std=std).save_pretrained(
        str(OUT / "hf-vit"))
    logits["hf-vit"] = logits_of("hf-vit", model, lambda x: model(pixel_values=x).logits, images)

    # Another one as torch.save(state_dict()): transformers 5's module names, no config.
    config = ViTConfig(hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48,
                       image_size=IMAGE, patch_size=PATCH, num_labels=len(CLASSES))
    model = ViTForImageClassification(config)
    draw_weights(model, 3)
    torch.save(model.state_dict(), str(OUT / "hf-vit.bin"))
    logits["hf-vit-bin"] = logits_of("hf-vit-bin", model, lambda x: model(pixel_values=x).logits, images)

    # DINOv2 names with a linear head on the class token.
    config = Dinov2Config(hidden_size=24, num_hidden_layers=2, num_attention_heads=4, mlp_ratio=2,
                          image_size=IMAGE, patch_size=PATCH)
    backbone = Dinov2Model(config)
    draw_weights(backbone, 4)
    head = torch.nn.Linear(24, len(CLASSES))
    draw_weights(head, 5)
    scratch = OUT / "dinov2-scratch"
    backbone.save_pretrained(str(scratch))
    tensors = load_file(str(scratch / "model.safetensors"))
    shutil.rmtree(scratch)
    tensors["head.weight"], tensors["head.bias"] = head.weight.detach().clone(), head.bias.detach().clone()
    save_file(tensors, str(OUT / "dinov2-head.safetensors"))
    logits["dinov2-head"] = logits_of("dinov2-head", backbone,
                                      lambda x: head(backbone(pixel_values=x).last_hidden_state[:, 0]), images)

    versions = {"torch": torch.__version__, "timm": timm.__version__, "transformers": transformers.__version__}
    save_numpy(logits, str(OUT / "logits.safetensors"),
               metadata={"classes": json.dumps(CLASSES), "made_with": json.dumps(versions, sort_keys=True)})
    size = sum(f.stat().st_size for f in OUT.rglob("*") if f.is_file())
    print(f"wrote {OUT.relative_to(ROOT)}: {size / 1000:.0f} KB with {versions}")


if __name__ == "__main__":
    main()
