# kswap-merge reproduces PEFT's merge_and_unload() on the committed fixture (Scripts/make-peft-fixture.py):
# names, alpha/r, rsLoRA's alpha/sqrt(r), rank_pattern, alpha_pattern, conv LoRA, modules_to_save.
F=$ROOT/Tests/Fixtures/peft
kswap-merge "$F/base.safetensors" "$F/plain" -o plain.safetensors
kswap-merge "$F/base.safetensors" "$F/rslora/adapter_model.safetensors" "$F/rslora/adapter_config.json" -o rslora.safetensors
"$PY" - "$F" <<'PY'
import sys, numpy as np
from safetensors.numpy import load_file
F = sys.argv[1]
base = load_file(F + "/base.safetensors")
for name in ["plain", "rslora"]:
    ours, peft = load_file(name + ".safetensors"), load_file(F + "/merged-" + name + ".safetensors")
    assert ours.keys() == peft.keys(), (name, sorted(ours.keys() ^ peft.keys()))
    changed = 0
    for k in peft:
        assert ours[k].dtype == peft[k].dtype and ours[k].shape == peft[k].shape, (name, k)
        np.testing.assert_allclose(ours[k], peft[k], rtol=1e-6, atol=1e-6, err_msg=name + " " + k)
        changed += not np.array_equal(peft[k], base[k])
    assert changed == {"plain": 7, "rslora": 4}[name], (name, changed)
print("ok")
PY
