# Malformed inputs exit 2 with a message naming the file and the fault, and leave no output;
# contradictory options exit 64.
expect() {  # expect STATUS MESSAGE-FRAGMENT ARGS...: kswap-pack ARGS exits STATUS, stderr has the fragment
  local status=$1 fragment=$2; shift 2
  set +e; kswap-pack "$@" -o out.safetensors 2>err.txt; local got=$?; set -e
  [ "$got" = "$status" ] || { echo "kswap-pack $*: exit $got, expected $status"; cat err.txt; exit 1; }
  grep -qF -- "$fragment" err.txt || { echo "kswap-pack $*: message lacks '$fragment':"; cat err.txt; exit 1; }
  [ ! -e out.safetensors ] || { echo "kswap-pack $*: left an output file"; exit 1; }
}
printf '\0\0\10\3\0\0\0\2\0\0\0\2\0\0\0\2abcdefg' >short-idx3-ubyte
printf '\0\0\10\1\0\0\0\2\1\2' >labels-idx1-ubyte
printf '1,2,3,4,0\n1,2,3,0\n' >ragged.csv
printf '1,2,3,4,0\n5,6,7,8,1\n' >good.csv
printf 'not numpy' >bad.npy
printf 'PK\3\4garbage' >bad.npz
head -c 30 /dev/urandom | gzip | head -c 20 >cut.csv.gz
expect 2 "short-idx3-ubyte: IDX data truncated: dimensions [2, 2, 2] need 8 bytes of u8, found 7" short-idx3-ubyte --labels labels-idx1-ubyte
expect 2 "short-idx3-ubyte: IDX images need --labels FILE" short-idx3-ubyte
expect 2 "ragged.csv: line 2 has 4 columns, expected 5" ragged.csv
expect 2 "bad.npy: not a .npy file" bad.npy
expect 2 "bad.npz" bad.npz
expect 2 "cut.csv.gz" cut.csv.gz
expect 2 "no class \"zebra\"" good.csv --classes zebra
expect 2 "missing.whl" missing.whl --member data.csv
expect 64 "--resize expects HxW" good.csv --resize 28
expect 64 "--images-key and --labels-key go together" bad.npz --images-key x
expect 64 "--fraction must be above 0" good.csv --fraction 0
expect 2 "good.csv: --channels applies to coco, folder, segmentation input, not to csv" good.csv --channels 1
expect 2 "--labels applies to imported formats" good.safetensors --labels labels-idx1-ubyte
