// ViT: layers with forward and backward side by side, the vision transformer, LoRA, the checkpoint bridge.
