#!/usr/bin/env python3
"""Makes kswap's golden swap-step fixtures with PyTorch: Tests/Fixtures/swap-step/.

They check the training step that kswap-learn and kswap-forget run (Swap's StageTrainer: one forward
pass over a joined batch, the stage objective, back-propagation, alpha times the group-sparse gradient,
then AdamW) against PyTorch, in Tests/SwapTests/StepGoldenTests.swift.

Needs torch==2.13.0 and safetensors (`pip install torch==2.13.0 safetensors`); CI does not run it,
the outputs are committed. Deterministic (seeded generators, one thread, float64 arithmetic).

Run: .venv/bin/python Scripts/make-step-fixtures.py   (writes ~270 KB of safetensors)

The model is the pure-torch timm ViT of Scripts/make-vit-fixtures.py (imported from it), 12x12x3 images,
patch 4, width 32, 2 blocks, 2 heads, MLP 64, 5 classes, with PEFT-style LoRA (rank 4, lora_alpha 8, so
scaling 2) on mlp.fc1 and mlp.fc2 of every block. All weights, LoRA B included, are random (randomise() of
that script, then the LoRA matrices scaled to std 0.1 and the head to 0.1), so every LoRA matrix gets a
gradient through every path; the trainable values are kept small so that float32 ulps of them stay far below
the 1e-2 updates the test compares.

Files:
  model.safetensors    the base ViT, timm names, config in the `vit_config` metadata (float32)
  adapter.safetensors  the LoRA matrices before training, PEFT names, `r` and `lora_alpha` metadata
  <case>.safetensors   one step case each:
    images (7, 3, 12, 12)  already normalised (feed them with mean 0, std 1); rows 0..<stage_rows are
                           the stage's own set (learn or forget), the rest the retain rows
    labels (7,)            class indices as floats
    terms1, terms2 (4,)    [stage CE, retain CE, group-sparse value, total objective] before step 1 and 2
    grad1.<p>, grad2.<p>   d(objective)/d(p) at the values before step 1 and before step 2
    after2.<p>             p after two AdamW steps (the same batch both times)
    delta1.<p>, delta2.<p> the two updates, after1 - initial and after2 - after1, computed in float64; the
                           test feeds grad<k> to kswap's AdamW and compares its updates with these, at
                           the updates' own scale (where the small weight-decay part shows)
  metadata: kind (learn|forget), train (lora|lora+head), stage_rows, beta, alpha, bound, lr, weight_decay,
  adam_beta1, adam_beta2, adam_eps, and bounded_active (whether relu(bound - CE(forget)) > 0 at each step).
  <p> is the timm (and engine) parameter name, e.g. blocks.0.mlp.fc1.lora_A.weight or head.bias.

Cases:
  learn                L = CE(learn) + beta * CE(retain) + alpha * GS
  forget               L = CE(retain) + beta * relu(BND - CE(forget)) + alpha * GS, BND = 105 (term active)
  forget-past-bound    the same with BND below CE(forget): the bounded term and its gradient are 0
  learn-head           the learning stage with the head trainable too (--train-head): head.weight decays,
                       head.bias (1-D) does not
GS = sum over blocks of sqrt(|fc1 A|^2 + |fc1 B|^2 + |fc2 A|^2 + |fc2 B|^2) (Frobenius). AdamW is
torch.optim.AdamW (decoupled decay, bias correction), weight decay only on parameters of rank >= 2 that are
not cls_token or pos_embed, as timm groups them.
"""
import importlib.util
import json
import struct
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "swap-step"

spec = importlib.util.spec_from_file_location("vit_fixtures", ROOT / "Scripts" / "make-vit-fixtures.py")
vit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vit)

CONFIG = dict(image_size=12, patch_size=4, in_chans=3, embed_dim=32, depth=2, num_heads=2, mlp_dim=64,
              num_classes=5, layer_norm_eps=1e-6, layer_scale=False)
RANK, LORA_ALPHA = 4, 8.0
STAGE_ROWS, RETAIN_ROWS = 3, 4
LR, WEIGHT_DECAY = 1e-2, 0.05
ADAM = dict(betas=(0.9, 0.999), eps=1e-8)


def save_file(tensors, path, metadata):
    """safetensors, float32, with the header's keys sorted (safetensors.torch.save_file orders the metadata
    by hash, so its bytes differ from run to run); the header is space-padded to 8 bytes as safetensors does."""
    header, blobs, offset = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def make_model():
    g = torch.Generator().manual_seed(11)
    model = vit.VisionTransformer(12, 4, 3, 32, 2, 2, 64, 5, rank=RANK, alpha=LORA_ALPHA)
    vit.randomise(model, g)
    with torch.no_grad():
        for n, p in model.named_parameters():
            # Small trainable values: a float32 value then has ulps far below a 1e-2 update, so the updates can
            # be checked to 1e-5 of their own scale (at |p| ~ 1 half an ulp alone is 6e-6 of such an update).
            if ".lora_" in n or n.startswith("head."):
                p.mul_(0.1 / 0.3)
            # Round every value to float32: the fixture stores float32 and the reference computes from those.
            p.copy_(p.float())
    return model


def group_sparse(model):
    total = 0
    for block in model.blocks:
        mats = [block.mlp.fc1.lora_A.weight, block.mlp.fc1.lora_B.weight,
                block.mlp.fc2.lora_A.weight, block.mlp.fc2.lora_B.weight]
        total = total + torch.sqrt(sum((m * m).sum() for m in mats))
    return total


def objective(model, kind, images, labels, beta, alpha, bound):
    logits = model(images)
    stage_ce = F.cross_entropy(logits[:STAGE_ROWS], labels[:STAGE_ROWS])
    retain_ce = F.cross_entropy(logits[STAGE_ROWS:], labels[STAGE_ROWS:])
    gs = group_sparse(model)
    if kind == "learn":
        total = stage_ce + beta * retain_ce + alpha * gs
        active = None
    else:
        total = retain_ce + beta * F.relu(bound - stage_ce) + alpha * gs
        active = bool(stage_ce.item() < bound)
    return torch.stack([stage_ce, retain_ce, gs, total]), active


def make_case(name, kind, train, beta, alpha, bound, seed, stage_labels, retain_labels):
    model = make_model().double()
    for n, p in model.named_parameters():
        p.requires_grad = ".lora_" in n or (train == "lora+head" and n.startswith("head."))
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in trainable if p.ndim >= 2 and not n.endswith(("cls_token", "pos_embed"))]
    no_decay = [p for n, p in trainable if not (p.ndim >= 2 and not n.endswith(("cls_token", "pos_embed")))]
    groups = [{"params": decay, "weight_decay": WEIGHT_DECAY}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    optimizer = torch.optim.AdamW(groups, lr=LR, foreach=False, **ADAM)

    g = torch.Generator().manual_seed(seed)
    images = torch.randn(STAGE_ROWS + RETAIN_ROWS, 3, 12, 12, generator=g).float()
    labels = torch.tensor(stage_labels + retain_labels)

    case = {"images": images, "labels": labels.float()}
    actives = []
    for step in (1, 2):
        before = {n: p.detach().clone() for n, p in trainable}
        optimizer.zero_grad()
        terms, active = objective(model, kind, images.double(), labels, beta, alpha, bound)
        terms[3].backward()
        actives.append(active)
        case[f"terms{step}"] = terms.detach()
        for n, p in trainable:
            case[f"grad{step}.{n}"] = p.grad.detach().clone()
        optimizer.step()
        for n, p in trainable:
            if step == 2:
                case[f"after2.{n}"] = p.detach().clone()
            case[f"delta{step}.{n}"] = p.detach() - before[n]
        if step == 1:
            t = terms.tolist()
            grads = torch.cat([p.grad.flatten().abs() for _, p in trainable])
            print(f"{name}: stage CE {t[0]:.4f}, retain CE {t[1]:.4f}, GS {t[2]:.4f}, total {t[3]:.4f}; "
                  f"|grad| in [{grads.min().item():.2e}, {grads.max().item():.2e}], bounded active {active}")
    metadata = {"kind": kind, "train": train, "stage_rows": str(STAGE_ROWS), "beta": repr(beta),
                "alpha": repr(alpha), "bound": repr(bound), "lr": repr(LR), "weight_decay": repr(WEIGHT_DECAY),
                "adam_beta1": "0.9", "adam_beta2": "0.999", "adam_eps": "1e-08",
                "bounded_active": json.dumps(actives)}
    save_file(case, OUT / f"{name}.safetensors", metadata)
    return actives


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    OUT.mkdir(parents=True, exist_ok=True)
    model = make_model()
    state = dict(model.named_parameters())
    base = {k: v for k, v in state.items() if ".lora_" not in k}
    lora = {"base_model.model." + k: v for k, v in state.items() if ".lora_" in k}
    save_file(base, OUT / "model.safetensors", {"vit_config": json.dumps(CONFIG, sort_keys=True, separators=(",", ":"))})
    save_file(lora, OUT / "adapter.safetensors", {"r": str(RANK), "lora_alpha": str(LORA_ALPHA)})

    # beta, alpha differ from each other and from 1 so that a coefficient on the wrong term shows.
    assert make_case("learn", "learn", "lora", beta=0.3, alpha=0.05, bound=105.0, seed=21,
                     stage_labels=[4, 1, 4], retain_labels=[0, 2, 3, 0])[0] is None
    active = make_case("forget", "forget", "lora", beta=0.3, alpha=0.05, bound=105.0, seed=22,
                       stage_labels=[3, 3, 1], retain_labels=[0, 2, 4, 0])
    assert active == [True, True], active
    inactive = make_case("forget-past-bound", "forget", "lora", beta=0.3, alpha=0.05, bound=0.5, seed=22,
                         stage_labels=[3, 3, 1], retain_labels=[0, 2, 4, 0])
    assert inactive == [False, False], inactive
    make_case("learn-head", "learn", "lora+head", beta=0.3, alpha=0.05, bound=105.0, seed=23,
              stage_labels=[2, 2, 4], retain_labels=[1, 0, 3, 1])
    size = sum(f.stat().st_size for f in OUT.glob("*.safetensors"))
    print(f"wrote {OUT.relative_to(ROOT)}: {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
