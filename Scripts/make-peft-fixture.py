#!/usr/bin/env python3
"""Makes Tests/Fixtures/peft/: a tiny timm-named model, two PEFT LoRA adapters saved by PEFT itself,
and the models PEFT's merge_and_unload() makes from them. kswap-merge must reproduce the merged
files from the base and the adapter directories: that pins PEFT's tensor names, the scale
(alpha/r, alpha/sqrt(r) with rsLoRA), rank_pattern / alpha_pattern lookup, conv LoRA and
modules_to_save.

Needs torch and peft (not installed by Scripts/setup; not needed by CI):
    .venv/bin/pip install torch==2.13.0 && .venv/bin/pip install peft
    .venv/bin/python Scripts/make-peft-fixture.py
"""
import json
import os
import shutil

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "peft")


class Block(torch.nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.attn = torch.nn.Module()
        self.attn.qkv = torch.nn.Linear(dim, 3 * dim)
        self.mlp = torch.nn.Module()
        self.mlp.fc1 = torch.nn.Linear(dim, hidden)
        self.mlp.fc2 = torch.nn.Linear(hidden, dim)


class TinyViT(torch.nn.Module):
    """Only the names and shapes matter here: timm's layout at toy size."""

    def __init__(self, dim=8, hidden=16, classes=3):
        super().__init__()
        self.patch_embed = torch.nn.Module()
        self.patch_embed.proj = torch.nn.Conv2d(3, dim, kernel_size=2, stride=2)
        self.cls_token = torch.nn.Parameter(torch.randn(1, 1, dim))
        self.blocks = torch.nn.ModuleList([Block(dim, hidden) for _ in range(2)])
        self.norm = torch.nn.LayerNorm(dim)
        self.head = torch.nn.Linear(dim, classes)

    def forward(self, x):
        return self.head(self.blocks[0].mlp.fc2(self.blocks[0].mlp.fc1(x)))


def state(model):
    return {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}


def make(name, config, base_state, perturb_head):
    torch.manual_seed(1 + len(name))
    model = TinyViT()
    model.load_state_dict(base_state)
    peft_model = get_peft_model(model, config)
    if perturb_head:
        with torch.no_grad():
            for p in peft_model.base_model.model.head.modules_to_save["default"].parameters():
                p.add_(torch.randn_like(p))
    directory = os.path.join(OUT, name)
    shutil.rmtree(directory, ignore_errors=True)
    peft_model.save_pretrained(directory)
    # Keep the fixture small and stable: drop the README PEFT writes.
    for extra in os.listdir(directory):
        if extra not in ("adapter_model.safetensors", "adapter_config.json"):
            os.remove(os.path.join(directory, extra))
    merged = peft_model.merge_and_unload()
    save_file(state(merged), os.path.join(OUT, f"merged-{name}.safetensors"))


def main():
    torch.manual_seed(0)
    os.makedirs(OUT, exist_ok=True)
    base = TinyViT()
    base_state = state(base)
    save_file(base_state, os.path.join(OUT, "base.safetensors"))
    # init_lora_weights=False draws B at random too, so the merge changes every target.
    make("plain", LoraConfig(
        r=4, lora_alpha=8, target_modules=["fc1", "fc2", "proj"], init_lora_weights=False,
        rank_pattern={"blocks.1.mlp.fc2": 2}, alpha_pattern={"fc1": 12}, modules_to_save=["head"]),
        base_state, perturb_head=True)
    make("rslora", LoraConfig(
        r=8, lora_alpha=4, use_rslora=True, target_modules=["qkv", "fc2"], init_lora_weights=False),
        base_state, perturb_head=False)
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "Made by Scripts/make-peft-fixture.py with torch %s and peft %s.\n\n"
            "- base.safetensors: a toy model in timm's names (F32)\n"
            "- plain/: PEFT LoRA, r=4, alpha=8, rank_pattern {blocks.1.mlp.fc2: 2}, alpha_pattern {fc1: 12},\n"
            "  targets fc1, fc2 and the patch-embedding conv, head in modules_to_save (perturbed)\n"
            "- rslora/: PEFT LoRA with use_rslora, r=8, alpha=4, targets qkv and fc2\n"
            "- merged-*.safetensors: PEFT's merge_and_unload() of base + that adapter\n"
            % (torch.__version__, __import__("peft").__version__))


if __name__ == "__main__":
    main()
