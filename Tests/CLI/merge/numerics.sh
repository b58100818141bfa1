# Values against numpy's float64 W + scale * B A, rounded once: an F16 base with a kswap adapter
# (rank_pattern, alpha_pattern, rsLoRA off), and --dtype F32 output of the same merge.
"$PY" - <<'PY'
import json, numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(0)
base = {"blocks.0.mlp.fc1.weight": rng.standard_normal((32, 16)).astype(np.float16),
        "blocks.0.mlp.fc2.weight": rng.standard_normal((16, 32)).astype(np.float16),
        "blocks.0.mlp.fc1.bias": rng.standard_normal(32).astype(np.float16)}
save_file(base, "base.safetensors")
ad = {"base_model.model.blocks.0.mlp.fc1.lora_A.weight": rng.standard_normal((4, 16)).astype(np.float32),
      "base_model.model.blocks.0.mlp.fc1.lora_B.weight": rng.standard_normal((32, 4)).astype(np.float32),
      "base_model.model.blocks.0.mlp.fc2.lora_A.weight": rng.standard_normal((2, 32)).astype(np.float32),
      "base_model.model.blocks.0.mlp.fc2.lora_B.weight": rng.standard_normal((16, 2)).astype(np.float32)}
meta = {"peft_type": '"LORA"', "r": "4", "lora_alpha": "8", "rank_pattern": '{"fc2": 2}', "alpha_pattern": '{"fc2": 3}'}
save_file(ad, "adapter.safetensors", metadata=meta)
PY
kswap-merge base.safetensors adapter.safetensors -o merged16.safetensors
kswap-merge base.safetensors adapter.safetensors --dtype F32 -o merged32.safetensors
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import load_file
base, ad = load_file("base.safetensors"), load_file("adapter.safetensors")
m16, m32 = load_file("merged16.safetensors"), load_file("merged32.safetensors")
p = "base_model.model.blocks.0.mlp."
for module, scale in [("fc1", 8 / 4), ("fc2", 3 / 2)]:
    ref = base[f"blocks.0.mlp.{module}.weight"].astype(np.float64) + scale * (
        ad[p + module + ".lora_B.weight"].astype(np.float64) @ ad[p + module + ".lora_A.weight"].astype(np.float64))
    got32 = m32[f"blocks.0.mlp.{module}.weight"]
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref, rtol=1e-5, atol=1e-5)
    got16 = m16[f"blocks.0.mlp.{module}.weight"]
    assert got16.dtype == np.float16
    once = ref.astype(np.float16)  # one rounding of the exact value
    agree = np.mean(got16 == once)
    assert agree > 0.99, agree
    assert np.all(np.abs(got16.astype(np.float64) - ref) <= np.spacing(np.abs(once)).astype(np.float64)), module
assert np.array_equal(m16["blocks.0.mlp.fc1.bias"], base["blocks.0.mlp.fc1.bias"])
assert m32["blocks.0.mlp.fc1.bias"].dtype == np.float32
print("ok")
PY
