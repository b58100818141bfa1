# Resource bombs (Scripts/make-bombs.py, built here at run time, and the pickle bombs of
# Tests/Fixtures/malicious-pickles): each file claims far more than it holds or inflates far beyond
# what it declares; each is refused with exit 2 and an error naming the file and the fault, under a
# 512 MiB address-space limit and within 10 seconds (they take well under one: see Benchmarks/limits.md),
# and writes no output. KSWAP_MAX_IMPORT_BYTES and KSWAP_MAX_PICKLE_VALUES move the limits.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" "$ROOT/Scripts/make-bombs.py" . >/dev/null
pickles="$ROOT/Tests/Fixtures/malicious-pickles"

# bomb TOOL ARGS... -- FRAGMENT...: TOOL ARGS exits 2 under ulimit -v 524288 and timeout 10, its
# stderr holding every FRAGMENT, and leaves no out.safetensors. With BOMB_LOG=FILE set, each line of
# FILE gets the seconds (wall, user, system) and peak resident KB that GNU time measured, and the command.
bomb() {
  local command=()
  while [ "$1" != -- ]; do
    command+=("$1")
    shift
  done
  shift
  local timer=()
  [ -z "${BOMB_LOG:-}" ] || timer=(/usr/bin/time -o time.txt -f '%e %U %S %M')
  expect 2 "${timer[@]}" bash -c 'ulimit -v 524288 && exec timeout 10 "$@"' bomb "${command[@]}"
  [ -z "${BOMB_LOG:-}" ] || echo "$(tail -n 1 time.txt) ${command[*]}" >>"$BOMB_LOG"
  local fragment
  for fragment in "$@"; do err_has "$fragment"; done
  [ ! -e out.safetensors ] || fail "${command[*]}: an output was written"
}

# Zip members and gzip streams.
bomb kswap-pack npz-short-2gib.npz -o out.safetensors -- \
  "npz-short-2gib.npz:x.npy: .npy data has 2147483644 bytes, shape [536870912] of <f4 needs 2147483648"
bomb kswap-pack npz-inflates-past.npz -o out.safetensors -- "x.npy: inflates past the 1152 bytes its archive declares"
bomb kswap-pack torch-pickle-inflates.pt -o out.safetensors -- \
  "torch-pickle-inflates.pt:archive/data.pkl: inflates past the 1024 bytes its archive declares"
bomb kswap-pack npy-claims-2gib.npy.gz -o out.safetensors -- \
  "npy-claims-2gib.npy.gz: the .npy data needs 2147483648 bytes, more than a gzip stream of"
bomb kswap-pack npy-zeros-2gib.npy.gz -o out.safetensors -- "npy-zeros-2gib.npy.gz: cannot allocate"
bomb kswap-pack idx-trailing.idx3-ubyte.gz --labels idx-short.idx3-ubyte -o out.safetensors -- \
  "idx-trailing.idx3-ubyte.gz: IDX data has trailing bytes: dimensions [10, 28, 28] need 7840 bytes of u8, found more"
bomb kswap-pack csv-billion-columns.csv.gz -o out.safetensors -- \
  "csv-billion-columns.csv.gz: line 1 has more than 1048577 columns"
bomb kswap-pack csv-endless-rows.csv.gz -o out.safetensors -- "csv-endless-rows.csv.gz: cannot allocate"

# Labels that would name millions of classes: a dataset has at most 65,536.
bomb kswap-pack csv-label-bomb.csv -o out.safetensors -- \
  "csv-label-bomb.csv: label 16777215 is too large (labels are below 65536)"
bomb kswap-pack dataset-label-bomb.safetensors --classes 0 -o out.safetensors -- \
  "dataset-label-bomb.safetensors: label 16777215 is too large (labels are below 65536)"
bomb kswap-eval "$ROOT/Tests/Fixtures/checkpoints/hf-vit" --set dataset-label-bomb.safetensors -- \
  "dataset-label-bomb.safetensors: label 16777215 is too large (labels are below 65536)"

# Headers that claim too much.
bomb kswap-pack idx-huge-dims.idx3-ubyte --labels idx-short.idx3-ubyte -o out.safetensors -- \
  "IDX dimensions [2147483648, 2147483648, 2147483648] are too large"
bomb kswap-pack idx-short.idx3-ubyte --labels idx-short.idx3-ubyte -o out.safetensors -- \
  "IDX data truncated: dimensions [60000, 28, 28] need 47040000 bytes of u8, found 0"
bomb kswap-pack safetensors-petabytes.safetensors -o out.safetensors -- \
  "tensors need 4000000000000000 data bytes, it has 8"
bomb bash -c 'cat safetensors-petabytes.safetensors | kswap-pack - -o out.safetensors' -- \
  "input ends after 8 of the 4000000000000000 bytes"
bomb kswap-inspect safetensors-overflow.safetensors -- "element count overflows"
bomb kswap-pack kst-terabytes.kst -o out.safetensors -- \
  "kst-terabytes.kst: tensor 'w': a record of 148 bytes cannot hold the 4000000000000 raw bytes"
bomb kswap-inspect kst-terabytes.kst -- "cannot hold the 4000000000000 raw bytes"
bomb bash -c 'cat kst-terabytes.kst | kswap-pack - -o out.safetensors' -- \
  "zstd frame of 13 bytes cannot hold 1000000000000 bytes"

# JSON nested 100,000 deep: the safetensors and .kst headers, a dataset's class list.
bomb kswap-inspect safetensors-deep-json.safetensors -- "recursion limit exceeded"
bomb kswap-inspect kst-deep-json.kst -- "kst-deep-json.kst: invalid .kst header: invalid JSON: recursion limit exceeded"
bomb kswap-pack dataset-deep-json.safetensors --classes 0 -o out.safetensors -- \
  'dataset-deep-json.safetensors: metadata "classes" is not a JSON array'

# Images whose headers claim more pixels than the limit, or than the file can hold; a progressive JPEG
# of 1000 scans.
for image in png-huge.png png-tiny-8000.png jpeg-huge.jpg jpeg-tiny-8000.jpg jpeg-scans.jpg; do
  mkdir -p "$image.d/a" && cp "$image" "$image.d/a/"
  case $image in
  png-huge.png) fragment="image size 100000x100000 is empty or over the limit of 67108864 pixels" ;;
  png-tiny-8000.png) fragment="PNG of 69 bytes cannot hold its 8000x8000 image" ;;
  jpeg-huge.jpg) fragment="image size 65000x65000 is empty or over the limit" ;;
  jpeg-tiny-8000.jpg) fragment="damaged JPEG: Corrupt JPEG data: premature end of data segment" ;;
  jpeg-scans.jpg) fragment="damaged JPEG: more than 256 scans" ;;
  esac
  bomb kswap-pack "$image.d" -o out.safetensors -- "$image.d/a/$image: $fragment"
done

# Pickles: a huge memo, millions of values, nesting 100,000 deep, shared references.
bomb kswap-pack "$pickles/memo-huge.pt" -o out.safetensors -- "pickle: more than 1048576 memo entries"
bomb kswap-pack "$pickles/values-huge.pt" -o out.safetensors -- "pickle: more than 1048576 values"
bomb kswap-pack "$pickles/nesting-lists.pt" -o out.safetensors -- "containers nested deeper than 128 levels"
bomb kswap-pack "$pickles/nesting-tuples.pt" -o out.safetensors -- "containers nested deeper than 128 levels"
bomb kswap-pack "$pickles/shared-references.pt" -o out.safetensors -- "refers to its parts more often"
bomb kswap-pack "$pickles/shared-tensor.pt" -o out.safetensors -- "names one tensor more than 16 times"

# The limits move with the environment; a bad value is refused.
state="$ROOT/Tests/Fixtures/torch-checkpoint/state.pt"
expect 2 env KSWAP_MAX_PICKLE_VALUES=64 kswap-pack "$state" -o out.safetensors
err_has "pickle: more than 64 values"
KSWAP_MAX_PICKLE_VALUES=1M kswap-pack "$state" -o out.safetensors && rm out.safetensors
expect 2 env KSWAP_MAX_IMPORT_BYTES=512 kswap-pack "$state" -o out.safetensors
err_has "state.pt:state/data.pkl: 925 bytes uncompressed, over the limit of 512 (KSWAP_MAX_IMPORT_BYTES raises it)"
expect 2 env KSWAP_MAX_IMPORT_BYTES=lots kswap-pack "$state" -o out.safetensors
err_has "KSWAP_MAX_IMPORT_BYTES: must be a positive count such as 8589934592 or 8G, not 'lots'"
