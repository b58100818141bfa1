# Writes small synthetic dataset files for the swap CLI cases: 1x8x8 grey images, class k is a bright
# 2x2 blob at its own place plus noise, so a tiny ViT learns them in seconds. Each blob lies inside one
# 4x4 patch at an offset within the patch that no other class uses, so with --patch 4 the patch
# embedding alone separates the classes (blobs told apart only by which patch they are in would leave
# it to the position embedding, and training then sometimes merges two classes).
# Usage: make-blobs.py OUT.safetensors CLASS[,CLASS...] PER_CLASS SEED
import json, sys
import numpy as np
from safetensors.numpy import save_file

names = "abcdefgh"
places = [(0, 0), (0, 6), (6, 0), (6, 6), (5, 5), (0, 5), (5, 0), (2, 1)]  # in-patch offsets all differ
out, classes, per_class, seed = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(seed)
images, labels = [], []
for label, name in enumerate(classes):
    y, x = places[names.index(name)]
    for _ in range(per_class):
        img = rng.integers(0, 60, size=(8, 8))
        img[y:y + 2, x:x + 2] = rng.integers(200, 256, size=(2, 2))
        images.append(img)
        labels.append(label)
save_file({"images": np.array(images, dtype=np.uint8).reshape(-1, 1, 8, 8), "labels": np.array(labels, dtype=np.int64)},
          out, metadata={"dataset": "1", "classes": json.dumps(classes)})
