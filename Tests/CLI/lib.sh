# Helpers for the CLI cases (sourced, not a case itself): run a command and check its exit status,
# and write small weight files with Python's safetensors.

fail() {
  echo "FAILED: $*" >&2
  exit 1
}

# skip REASON: stops the case and reports it as skipped (SKIP in Tests/CLI/run's output, counted in its
# closing line). For what a machine may lack and a test cannot do without, never to hide a failure.
skip() {
  echo "$*" >>"${SKIP_LOG:-/dev/stderr}"
  exit 77
}

# skip_part REASON: reports that one part of the case was skipped; the case goes on.
skip_part() {
  echo "$*" >>"${SKIP_LOG:-/dev/stderr}"
}

# find_absent TOOL...: sets $absent to those of the tools that are not on PATH. With CI=true a missing
# one fails the case: Scripts/setup installs every tool the cases use, so CI lacking one is a broken set-up.
find_absent() {
  local tool
  absent=""
  for tool in "$@"; do command -v "$tool" >/dev/null || absent="$absent $tool"; done
  absent=${absent# }
  [ -z "$absent" ] || [ "${CI:-}" != true ] || fail "CI=true and $absent not installed (Scripts/setup installs it)"
}

# need TOOL...: skips the case when a tool is missing (fails with CI=true).
need() {
  find_absent "$@"
  [ -z "$absent" ] || skip "$absent not installed (Scripts/setup installs it)"
}

# need_part TOOL...: like need, for one part of a case: returns 1 (after reporting the skip) when a tool
# is missing, so the caller writes `if need_part script; then ...; fi`. With CI=true a missing tool fails.
need_part() {
  find_absent "$@"
  [ -z "$absent" ] && return 0
  skip_part "$absent not installed (Scripts/setup installs it)"
  return 1
}

# expect STATUS COMMAND...: runs COMMAND with stdout in ./out and stderr in ./err, checks the status.
expect() {
  local want=$1 got=0
  shift
  "$@" >out 2>err || got=$?
  if [ "$got" != "$want" ]; then
    echo "command: $*" >&2
    echo "stderr:" >&2
    cat err >&2
    fail "exit status $got, expected $want"
  fi
}

# err_has TEXT: the last command's stderr contains TEXT.
err_has() {
  grep -qF -- "$1" err || { cat err >&2; fail "stderr lacks: $1"; }
}

# out_has TEXT: the last command's stdout contains TEXT.
out_has() {
  grep -qF -- "$1" out || { cat out >&2; fail "stdout lacks: $1"; }
}

# no_litter DIR: DIR holds no temporary or spool files.
no_litter() {
  local litter
  litter=$(find "$1" -maxdepth 1 \( -name '.*.kswap-*' -o -name 'kswap-pack-spool-*' \) -print)
  [ -z "$litter" ] || fail "temporary files left behind: $litter"
}

# make_mixed FILE: a safetensors file with every common dtype, a scalar, an empty tensor, metadata.
make_mixed() {
  "$PY" - "$1" <<'PY'
import sys
import numpy as np
from safetensors.numpy import save_file
rng = np.random.default_rng(7)
tensors = {
    "blocks.0.attn.qkv.weight": rng.standard_normal((24, 8)).astype(np.float32),
    "blocks.0.attn.qkv.bias": rng.standard_normal(24).astype(np.float16),
    "blocks.0.mlp.fc1.weight": rng.standard_normal((16, 8)).astype(np.float64),
    "blocks.1.mlp.fc1.weight": rng.standard_normal((16, 8)).astype(np.float32),
    "head.weight": rng.standard_normal((5, 8)).astype(np.float32),
    "labels": np.arange(-3, 7, dtype=np.int64),
    "counts": np.array([0, 1, 255], dtype=np.uint8),
    "small": np.array([-128, 0, 127], dtype=np.int8),
    "mid": np.array([-30000, 3, 30000], dtype=np.int16),
    "mask": np.array([True, False, True]),
    "scale": np.array(0.125, dtype=np.float32),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "wide": np.array([1, 2**40], dtype=np.int64),
    "u32": np.array([7, 2**31], dtype=np.uint32),
}
save_file(tensors, sys.argv[1], metadata={"format": "pt", "note": "mixed dtypes"})
PY
}

# same_tensors A B: Python safetensors loads both files with the same names, dtypes, shapes and bits.
same_tensors() {
  "$PY" - "$1" "$2" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert sorted(a) == sorted(b), (sorted(a), sorted(b))
for name in a:
    assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape, name
    assert a[name].tobytes() == b[name].tobytes(), name
PY
}

# read_only_dir DIR: makes DIR a directory that commands run through `unprivileged` cannot write into
# (mode 555). Returns 1 after reporting a skipped part when that cannot be arranged (root without setpriv).
read_only_dir() {
  [ "$(id -u)" != 0 ] || need_part setpriv || return 1
  mkdir -p "$1"
  chmod 555 "$1"
}

# unprivileged COMMAND...: runs COMMAND as this user, or as nobody when this user is root, who may write
# into any directory. The case's folder and its files are readable by all (mktemp makes it private).
unprivileged() {
  if [ "$(id -u)" = 0 ]; then
    chmod a+rx .
    setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
  else
    "$@"
  fi
}

# make_segmentation_swap: in the current directory, a tiny segmentation model seg.st (a ViT of 8x8 grey
# images pretrained briefly on make-blobs.py's a-d, then its task made segmentation and its four classes
# named background, a, b, c) and 8x8 scenes made by kswap-pack --scenes: learn.st (class e, new to the
# model), forget.st (a), retain.st (b, c), and test sets of each (*-test.st). About 1 s.
make_segmentation_swap() {
  local blobs="$ROOT/Tests/CLI/learn/make-blobs.py"
  "$PY" "$blobs" objects.st a,b,c,d 30 1
  "$PY" "$blobs" new.st e 30 2
  kswap-pretrain -q --train objects.st --patch 4 --dim 16 --depth 2 --heads 2 --mlp-dim 32 --epochs 2 --warmup 1 \
    --seed 0 -o cls.st
  kswap-pack -q cls.st --set-meta task=segmentation --set-meta 'classes=["background","a","b","c"]' -o seg.st
  local scenes=(--scene-size 8x8 --object-scale 0.5-1)
  kswap-pack -q new.st --scenes 30 --seed 2 "${scenes[@]}" -o learn.st
  kswap-pack -q new.st --scenes 12 --seed 3 "${scenes[@]}" -o learn-test.st
  kswap-pack -q objects.st --classes a --scenes 20 --seed 4 "${scenes[@]}" -o forget.st
  kswap-pack -q objects.st --classes a --scenes 12 --seed 5 "${scenes[@]}" -o forget-test.st
  kswap-pack -q objects.st --classes b,c --scenes 30 --seed 6 "${scenes[@]}" -o retain.st
  kswap-pack -q objects.st --classes b,c --scenes 12 --seed 7 "${scenes[@]}" -o retain-test.st
}
