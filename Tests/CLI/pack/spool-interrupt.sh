# A pipe whose tensors come in another order than the output's is spooled to $TMPDIR; a signal that
# ends kswap-pack mid-stream removes the spool (and its output's temporary file) too.
. "$ROOT/Tests/CLI/lib.sh"
$PY - <<'PYTHON'
import json, struct
# "a" (U8) first: the aligned output puts the F32 first, so kswap-pack must spool the stream.
header = {"a": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
          "b": {"dtype": "F32", "shape": [4000000], "data_offsets": [3, 16000003]}}
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
open("in.st", "wb").write(struct.pack("<Q", len(h)) + h + bytes(16000003))
PYTHON
mkdir spool
mkfifo pipe
(head -c 1000000 in.st; sleep 30) > pipe &
writer=$!
TMPDIR=$PWD/spool kswap-pack - -o out.st < pipe &
pack=$!
for _ in $(seq 50); do [ -n "$(ls -A spool)" ] && break; sleep 0.1; done
[ -n "$(ls -A spool)" ]  # the spool exists while the stream is read
kill -TERM "$pack"
status=0; wait "$pack" || status=$?
kill "$writer" 2>/dev/null || true
[ "$status" = 143 ]
[ -z "$(ls -A spool)" ]
[ ! -e out.st ]
no_litter .
