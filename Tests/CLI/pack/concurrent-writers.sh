# Two kswap-pack runs writing the same output at once leave one complete file, one of their two
# outputs and never a mix, and no temporary file: each writes a file of its own beside the destination
# and renames it into place (Sources/TensorFile/OutputFile.swift). Twenty rounds, plain and compressed.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(3)
for name in "ab":
    save_file({f"t{i}": rng.standard_normal((64, 256)).astype(np.float32) for i in range(8)}, f"{name}.safetensors")
PY
for round in $(seq 1 20); do
  format=--plain
  [ $((round % 4)) != 0 ] || format=--compress
  if [ ! -e "a$format" ]; then  # each writer's output, written alone
    kswap-pack a.safetensors $format -o "a$format"
    kswap-pack b.safetensors $format -o "b$format"
  fi
  kswap-pack a.safetensors $format -o out -f &
  first=$!
  kswap-pack b.safetensors $format -o out -f &
  second=$!
  wait $first || fail "round $round: the first writer failed"
  wait $second || fail "round $round: the second writer failed"
  cmp -s out "a$format" || cmp -s out "b$format" || fail "round $round ($format): out is neither writer's whole output"
  no_litter .
done
