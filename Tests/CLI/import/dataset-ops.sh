# Dataset options on an existing dataset file: pick by name, seeded stratified fraction, resize;
# the metadata's normalisation is kept, other keys survive, and the input's form is the default.
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
images = (np.arange(40)[:, None, None, None] * 4 + np.arange(16).reshape(1, 1, 4, 4)).astype(np.uint8)
labels = np.repeat(np.arange(4), 10).astype(np.int64)
save_file({"images": images, "labels": labels}, "base.safetensors",
          metadata={"dataset": "1", "classes": '["a","b","c","d"]', "mean": "[0.5]", "std": "[0.25]", "note": "kept"})
PY
kswap-pack base.safetensors --classes d,b --fraction 0.3 --seed 9 --resize 2x2 -o part.safetensors
"$PY" - <<'PY'
import json, numpy as np
from safetensors import safe_open
with safe_open("part.safetensors", "np") as f:
    images, labels, meta = f.get_tensor("images"), f.get_tensor("labels"), f.metadata()
assert np.bincount(labels, minlength=4).tolist() == [0, 3, 0, 3], labels
assert images.shape == (6, 1, 2, 2)
assert meta["mean"] == "[0.5]" and meta["std"] == "[0.25]" and meta["note"] == "kept"
assert json.loads(meta["classes"]) == ["a", "b", "c", "d"]
base = np.arange(40)[:, None, None] * 4 + np.arange(16).reshape(1, 4, 4)
for image, label in zip(images[:, 0], labels):
    matches = [i for i in range(40) if i // 10 == label and
               (np.floor(base[i].reshape(2, 2, 2, 2).mean(axis=(1, 3)) + 0.5) == image).all()]
    assert len(matches) == 1, (image, label)
PY
# A compressed dataset file stays compressed unless --plain is given.
kswap-pack base.safetensors --compress -o base.kst
kswap-pack base.kst --classes a -o a.kst
kswap-inspect a.kst | grep -q '(kst,'
kswap-pack base.kst --classes a --plain -o a.safetensors
kswap-inspect a.safetensors | grep -q '(safetensors,'
