#!/usr/bin/env python3
"""Makes Tests/Fixtures/peft-export/: the way back to PyTorch, checked with PEFT and timm themselves.

With the kswap tools (built by `swift build`) it pretrains a tiny ViT on synthetic blobs (classes a-d),
learns two new classes (e, f: the adapter's head has 6 rows, the base's 4) and forgets a, exports the
adapter with `kswap-pack --peft-dir`, then loads that directory with `PeftModel.from_pretrained` onto
timm's VisionTransformer built from the kswap base model, as kswap-pack(1) tells users to, and
records PyTorch's logits on a few images; the Python lines it runs are read from kswap-pack(1), so the
documented lines are the tested ones. It fails unless they equal kswap-eval's to 1e-4 relative.
Tests/CLI/pack/peft-export.sh (no torch) checks that kswap-pack writes the committed directory again,
byte for byte, and kswap-eval gives the committed PyTorch logits.

Needs torch, timm 1.0.31 and peft 0.21.2 (not installed by Scripts/setup; not needed by CI). timm
imports torchvision, whose wheels on PyPI need PyPI's torch (not the CPU-only build):
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13.0 torchvision==0.28.0 \\
        timm==1.0.31 peft==0.21.2 safetensors==0.8.0 numpy==2.4.6
    swift build && /tmp/venv/bin/python Scripts/make-peft-export-fixture.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import peft
import timm
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "peft-export")
BLOBS = os.path.join(ROOT, "Tests", "CLI", "learn", "make-blobs.py")
TOLERANCE = 1e-4


def run(*command):
    subprocess.run(command, check=True)


def scaled_error(a, reference):
    """max |a - reference| / max |reference|, as GradientCheck.scaledError."""
    return float(np.abs(a - reference).max() / max(np.abs(reference).max(), 1e-30))


def documented_python():
    """The Python lines of kswap-pack(1)'s "Back to PyTorch", which the README repeats word for word."""
    man = open(os.path.join(ROOT, "Man", "kswap-pack.1")).read()
    start = man.index("import json, timm, torch")
    lines = man[start:man.index(".Ed", start)].replace("\\e", "\\")
    readme = open(os.path.join(ROOT, "README.md")).read()
    start = readme.index("import json, timm, torch")
    assert readme[start:readme.index("```", start)] == lines, "README's Python lines differ from kswap-pack(1)'s"
    return lines


def peft_logits(images_path):
    """Runs the documented lines in the current directory (vit.safetensors and swapped/) on the images."""
    namespace = {"images": load_file(images_path)["images"]}
    exec(documented_python(), namespace)
    return namespace["logits"].detach().numpy(), namespace["classes"]


def main():
    binary = subprocess.run(
        ["swift", "build", "--show-bin-path"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    if not os.path.exists(os.path.join(binary, "kswap-pack")):
        sys.exit(f"no kswap tools in {binary}: run swift build first")
    os.environ["PATH"] = binary + os.pathsep + os.environ["PATH"]
    work = tempfile.mkdtemp(prefix="peft-export-")
    os.chdir(work)
    for name, classes, per_class, seed in [
        ("base.st", "a,b,c,d", 60, 1), ("learn.st", "e,f", 60, 3), ("forget.st", "a", 60, 5),
        ("retain.st", "b,c,d", 60, 7), ("images.safetensors", "a,b,c,d,e,f", 2, 9),
    ]:
        run(sys.executable, BLOBS, name, classes, str(per_class), str(seed))
    run("kswap-pretrain", "-q", "--train", "base.st", "--patch", "4", "--dim", "16", "--depth", "2", "--heads", "2",
        "--mlp-dim", "32", "--epochs", "8", "--batch-size", "16", "--warmup", "10", "--lr", "5e-3", "--seed", "0",
        "-o", "vit.safetensors")
    # Rank 4 and LoRA alpha 2 (scale 0.5), not the defaults, so a wrong r or lora_alpha in the export shows;
    # --train-head so the old head rows change too and the whole head must travel.
    run("kswap-learn", "-q", "vit.safetensors", "--learn", "learn.st", "--retain", "base.st", "--rank", "4",
        "--lora-alpha", "2", "--train-head", "--epochs", "4", "--batch-size", "20", "--seed", "0", "-o", "learned.st")
    run("kswap-forget", "-q", "vit.safetensors", "--adapter", "learned.st", "--forget", "forget.st",
        "--retain", "retain.st", "--retain", "learn.st", "--epochs", "2", "--batch-size", "20", "--seed", "0",
        "-o", "adapter.safetensors")
    run("kswap-pack", "-q", "adapter.safetensors", "--peft-dir", "swapped")
    subprocess.run(["kswap-eval", "-q", "vit.safetensors", "--adapter", "adapter.safetensors",
                    "--set", "images=images.safetensors", "--logits", "kswap-logits.safetensors"],
                   check=True, stdout=subprocess.DEVNULL)

    logits, classes = peft_logits("images.safetensors")
    kswap = load_file("kswap-logits.safetensors")["images"].numpy()
    assert logits.shape == kswap.shape == (12, 6), (logits.shape, kswap.shape)
    error = scaled_error(kswap, logits)
    print(f"kswap-eval vs PEFT + timm: scaled error {error:.2e} (max |logit| {np.abs(logits).max():.3f})")
    assert error <= TOLERANCE, error
    with safe_open("adapter.safetensors", "np") as f:
        assert f.metadata()["r"] == "4" and f.metadata()["lora_alpha"] == "2"

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(os.path.join(OUT, "peft"))
    for name in ["vit.safetensors", "adapter.safetensors", "images.safetensors"]:
        shutil.copy(name, os.path.join(OUT, name))
    for name in ["adapter_model.safetensors", "adapter_config.json"]:
        shutil.copy(os.path.join("swapped", name), os.path.join(OUT, "peft", name))
    save_file({"images": torch.from_numpy(logits).contiguous()}, os.path.join(OUT, "logits.safetensors"),
              metadata={"classes": json.dumps(classes)})
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(
            "Made by Scripts/make-peft-export-fixture.py with torch %s, timm %s and peft %s.\n\n"
            "- vit.safetensors: a tiny kswap ViT (8x8 grey, patch 4, width 16, 2 blocks), classes a-d\n"
            "- adapter.safetensors: kswap-learn (e, f; rank 4, LoRA alpha 2, --train-head) then kswap-forget (a)\n"
            "- images.safetensors: 2 images of each of a-f\n"
            "- peft/: `kswap-pack adapter.safetensors --peft-dir peft`, as PEFT loaded it (kswap-pack(1)'s lines)\n"
            "- logits.safetensors: PyTorch's logits of PeftModel.from_pretrained(timm ViT, peft) on the images;\n"
            "  kswap-eval's differed by %.1e of the largest logit when this was made\n"
            % (torch.__version__, timm.__version__, peft.__version__, error))
    shutil.rmtree(work)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
