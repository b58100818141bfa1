#!/usr/bin/env python3
"""Makes kswap's golden detection fixture with PyTorch: Tests/Fixtures/vit-tiny-detection/.

Needs torch==2.13.0 and safetensors (`pip install torch==2.13.0 safetensors`); CI does not run it, the
outputs are committed. The model is make-vit-fixtures.py's pure-torch copy of timm's VisionTransformer with
LoRA on mlp.fc1/fc2, read from that script, with the dense FCOS-style head of Formats/model.md on top: on
every final-normed patch token (the class token dropped), `head` gives K class logits and `box_head` four
box distances (softplus) and a centerness logit, as outputs (B, Hp, Wp, K + 5).

The loss is written out here independently of kswap's code: patches assigned to boxes (centre strictly
inside, or the cell holding the box's centre; the smallest box wins, the first on a tie), torchvision's
sigmoid_focal_loss (alpha 0.25, gamma 2) summed over every patch and class, torchvision's
generalized_box_iou_loss and binary_cross_entropy_with_logits on the FCOS centerness summed over the
positives, all divided by max(1, positives). torchvision itself is not used: its PyPI wheels need CUDA's
libraries. Decoding follows torchvision's FCOS.postprocess_detections (scores sqrt(sigmoid(cls) *
sigmoid(ctr)), threshold, top-k, clip, batched NMS, the best first), with the NMS loop of its CPU kernel.

The images are 16x12 for a model made at 16x16 (a 4x3 grid: rows and columns cannot be swapped
unnoticed); the targets hold overlapping boxes (the smaller takes the shared patches), two of equal area
sharing a patch (the first takes it), a box smaller than a patch whose centre cell lies outside it, a box
on the image border, and an image without boxes. Stored: the outputs, loss and its parts, the gradients of
the outputs, the head, the box branch, the LoRA matrices and some backbone tensors, and the detections of
the decoding settings stored beside them.

Run: .venv/bin/python Scripts/make-detection-fixture.py   (writes ~160 KB of safetensors)
"""
import importlib.util
import json
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "vit-tiny-detection"

spec = importlib.util.spec_from_file_location("vit_fixtures", ROOT / "Scripts" / "make-vit-fixtures.py")
vit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vit)

CLASSES = ["cat", "dog", "car"]
ALPHA, GAMMA = 0.25, 2.0
BACKBONE_GRADIENTS = ["patch_embed.proj.weight", "pos_embed", "blocks.0.attn.qkv.weight", "blocks.1.norm2.weight",
                      "norm.weight", "norm.bias"]
# (x0, y0, x1, y1, label) per image, in pixels of a 12 wide, 16 high image; patch centres at x 2, 6, 10
# and y 2, 6, 10, 14.
TARGETS = [
    [(1, 1, 11, 9, 0), (4.5, 3, 9, 12.5, 2), (6.5, 13, 9.5, 15, 1)],
    [],
    [(0, 0, 6, 8, 1), (1, 4, 7, 12, 0), (8, 0, 12, 16, 2)],
]
# Decoding settings that make each step matter on this random model (Swift's DetectionDecoding fields).
DECODING = dict(score_threshold=0.3, candidates=20, iou_threshold=0.5, max_detections=8)


def detect(model, box_head, images):
    """Outputs (B, Hp, Wp, K + 5): class logits, softplus box distances, centerness logit."""
    b, _, h, w = images.shape
    tokens = model.forward_tokens(images)[:, 1:]  # the class token takes no part
    raw = box_head(tokens)
    outputs = torch.cat([model.head(tokens), F.softplus(raw[..., :4]), raw[..., 4:]], dim=-1)
    outputs = outputs.reshape(b, h // model.patch, w // model.patch, -1)
    outputs.retain_grad()
    return outputs


def assign(boxes, hp, wp, stride):
    """Per patch (row by row): the index of the box it answers for, or -1."""
    if not boxes:
        return torch.full((hp * wp,), -1)
    t = torch.tensor([b[:4] for b in boxes], dtype=torch.float32)
    ys, xs = torch.meshgrid(torch.arange(hp), torch.arange(wp), indexing="ij")
    cx, cy = ((xs.flatten() + 0.5) * stride)[:, None], ((ys.flatten() + 0.5) * stride)[:, None]
    inside = (t[:, 0] < cx) & (cx < t[:, 2]) & (t[:, 1] < cy) & (cy < t[:, 3])
    centre_col = ((t[:, 0] + t[:, 2]) / 2 / stride).floor().long().clamp(0, wp - 1)
    centre_row = ((t[:, 1] + t[:, 3]) / 2 / stride).floor().long().clamp(0, hp - 1)
    inside[centre_row * wp + centre_col, torch.arange(len(boxes))] = True
    area = ((t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1]))[None].expand_as(inside)
    area = torch.where(inside, area, torch.full_like(area, float("inf")))
    best = area.argmin(dim=1)  # the first of equal minima
    return torch.where(inside.any(dim=1), best, torch.full_like(best, -1))


def sigmoid_focal_loss(inputs, targets):
    """torchvision.ops.sigmoid_focal_loss, reduction "sum"."""
    p = torch.sigmoid(inputs)
    ce = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * ((1 - p_t) ** GAMMA)
    return ((ALPHA * targets + (1 - ALPHA) * (1 - targets)) * loss).sum()


def generalized_box_iou_loss(boxes1, boxes2):
    """torchvision.ops.generalized_box_iou_loss, reduction "sum", eps 0 (the boxes have area)."""
    x1, y1, x2, y2 = boxes1.unbind(dim=-1)
    x1g, y1g, x2g, y2g = boxes2.unbind(dim=-1)
    xkis1, ykis1 = torch.max(x1, x1g), torch.max(y1, y1g)
    xkis2, ykis2 = torch.min(x2, x2g), torch.min(y2, y2g)
    intsctk = torch.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    iouk = intsctk / unionk
    area_c = (torch.max(x2, x2g) - torch.min(x1, x1g)) * (torch.max(y2, y2g) - torch.min(y1, y1g))
    return (1 - (iouk - (area_c - unionk) / area_c)).sum()


def detection_loss(outputs, stride):
    """(total, focal, giou, centerness, positives) of the outputs against TARGETS."""
    b, hp, wp, width = outputs.shape
    k = width - 5
    flat = outputs.reshape(b, hp * wp, width)
    focal, giou, centerness, positives = 0, 0, 0, 0
    ys, xs = torch.meshgrid(torch.arange(hp), torch.arange(wp), indexing="ij")
    centres = torch.stack([xs.flatten() + 0.5, ys.flatten() + 0.5], dim=1)  # in strides
    for i, boxes in enumerate(TARGETS):
        assigned = assign(boxes, hp, wp, stride)
        positive = assigned >= 0
        targets = torch.zeros(hp * wp, k)
        if positive.any():
            t = torch.tensor([b[:4] for b in boxes], dtype=torch.float32)[assigned[positive]] / stride
            labels = torch.tensor([b[4] for b in boxes])[assigned[positive]]
            targets[positive.nonzero().flatten(), labels] = 1
            c = centres[positive]
            distances = flat[i, positive, k:k + 4]  # l, t, r, b around the patch centre
            predicted = torch.stack([-distances[:, 0], -distances[:, 1], distances[:, 2], distances[:, 3]], dim=1)
            truth = torch.stack([t[:, 0] - c[:, 0], t[:, 1] - c[:, 1], t[:, 2] - c[:, 0], t[:, 3] - c[:, 1]], dim=1)
            giou = giou + generalized_box_iou_loss(predicted, truth)
            d = torch.stack([-truth[:, 0], -truth[:, 1], truth[:, 2], truth[:, 3]], dim=1).clamp(min=0)
            lr, tb = d[:, [0, 2]], d[:, [1, 3]]
            ratio = (lr.min(dim=1).values / lr.max(dim=1).values) * (tb.min(dim=1).values / tb.max(dim=1).values)
            target_ctr = torch.sqrt(torch.nan_to_num(ratio, nan=0.0))
            centerness = centerness + F.binary_cross_entropy_with_logits(
                flat[i, positive, k + 4], target_ctr, reduction="sum")
            positives += int(positive.sum())
        focal = focal + sigmoid_focal_loss(flat[i, :, :k], targets)
    n = max(1, positives)
    return (focal + giou + centerness) / n, focal / n, giou / n, centerness / n, positives


def nms(boxes, scores, threshold):
    """torchvision's CPU nms kernel: kept indices, best score first."""
    order = scores.argsort(descending=True, stable=True)
    x1, y1, x2, y2 = boxes.unbind(dim=1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for a, i in enumerate(order.tolist()):
        if suppressed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:].tolist():
            if suppressed[j]:
                continue
            w = (torch.min(x2[i], x2[j]) - torch.max(x1[i], x1[j])).clamp(min=0)
            h = (torch.min(y2[i], y2[j]) - torch.max(y1[i], y1[j])).clamp(min=0)
            inter = w * h
            if inter / (areas[i] + areas[j] - inter) > threshold:
                suppressed[j] = True
    return torch.tensor(keep, dtype=torch.long)


def decode(outputs, stride):
    """Detections (D, 7): image, x0, y0, x1, y1, score, label, each image's best first."""
    b, hp, wp, width = outputs.shape
    k = width - 5
    rows = []
    ys, xs = torch.meshgrid(torch.arange(hp), torch.arange(wp), indexing="ij")
    cx, cy = (xs.flatten() + 0.5) * stride, (ys.flatten() + 0.5) * stride
    for i in range(b):
        flat = outputs[i].reshape(hp * wp, width)
        scores = torch.sqrt(torch.sigmoid(flat[:, :k]) * torch.sigmoid(flat[:, k + 4:])).flatten()
        keep = (scores > DECODING["score_threshold"]).nonzero().flatten()
        scores, picked = scores[keep].topk(min(DECODING["candidates"], len(keep)))
        cells, labels = keep[picked] // k, keep[picked] % k
        d = flat[cells, k:k + 4] * stride
        boxes = torch.stack([cx[cells] - d[:, 0], cy[cells] - d[:, 1], cx[cells] + d[:, 2], cy[cells] + d[:, 3]], 1)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, wp * stride)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, hp * stride)
        kept = []
        for label in labels.unique():  # batched_nms's per-class path, then merged best first
            members = (labels == label).nonzero().flatten()
            kept.append(members[nms(boxes[members], scores[members], DECODING["iou_threshold"])])
        kept = torch.cat(kept)
        kept = kept[scores[kept].argsort(descending=True, stable=True)][:DECODING["max_detections"]]
        for j in kept.tolist():
            rows.append([i, *boxes[j].tolist(), scores[j].item(), labels[j].item()])
    return torch.tensor(rows, dtype=torch.float32)


def main():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(4)
    rank, alpha, stride = 4, 8.0, 4
    config = dict(image_size=16, patch_size=stride, in_chans=3, embed_dim=32, depth=2, num_heads=2, mlp_dim=64,
                  num_classes=len(CLASSES), layer_norm_eps=1e-6, layer_scale=False)
    model = vit.VisionTransformer(16, stride, 3, 32, 2, 2, 64, len(CLASSES), rank=rank, alpha=alpha)
    model.box_head = nn.Linear(32, 5)
    vit.randomise(model, g)
    images = torch.randn(len(TARGETS), 3, 16, 12, generator=g)
    outputs = detect(model, model.box_head, images)
    loss, focal, giou, centerness, positives = detection_loss(outputs, stride)
    loss.backward()
    with torch.no_grad():
        detections = decode(outputs, stride)

    state = dict(model.named_parameters())
    base = {k: v for k, v in state.items() if ".lora_" not in k}
    lora = {"base_model.model." + k: v for k, v in state.items() if ".lora_" in k}
    OUT.mkdir(parents=True, exist_ok=True)
    metadata = {"vit_config": json.dumps(config, sort_keys=True, separators=(",", ":")), "task": "detection",
                "classes": json.dumps(CLASSES, separators=(",", ":"))}
    save_file(vit.contiguous(base), OUT / "model.safetensors", metadata=metadata)
    save_file(vit.contiguous(lora), OUT / "adapter.safetensors", metadata={"r": str(rank), "lora_alpha": str(alpha)})
    boxes = [torch.tensor([[i, *b] for b in boxes], dtype=torch.float32).reshape(-1, 6)
             for i, boxes in enumerate(TARGETS)]
    case = {"images": images, "targets": torch.cat(boxes), "outputs": outputs,
            "loss": torch.stack([loss, focal, giou, centerness]).reshape(4),
            "positives": torch.tensor([float(positives)]), "grad.outputs": outputs.grad,
            "decoding": torch.tensor([DECODING[k] for k in ["score_threshold", "candidates", "iou_threshold",
                                                            "max_detections"]], dtype=torch.float32),
            "detections": detections}
    names = ["head.weight", "head.bias", "box_head.weight", "box_head.bias"] + BACKBONE_GRADIENTS
    names += [k for k in state if ".lora_" in k]
    case.update({"grad." + k: state[k].grad for k in names})
    save_file(vit.contiguous(case), OUT / "case.safetensors")
    print(f"vit-tiny-detection: loss {loss.item():.6f} (focal {focal.item():.6f}, giou {giou.item():.6f}, "
          f"centerness {centerness.item():.6f}) over {positives} positives; {len(detections)} detections; "
          f"{len(names)} gradients")


if __name__ == "__main__":
    main()
