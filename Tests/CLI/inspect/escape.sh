# Control characters in names and metadata are escaped in the table and exact in JSON.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" -c '
import numpy as np
from safetensors.numpy import save_file
save_file({"evil\x1b[2J\nname": np.zeros(1, np.float32)}, "evil.safetensors", metadata={"k\x07": "v\x1b]0;title\x07"})'
expect 0 kswap-inspect evil.safetensors
out_has 'evil\x1B[2J\nname'
out_has 'k\x07: v\x1B]0;title\x07'
if LC_ALL=C grep -q $'\x1b' out; then fail "raw escape character in the table"; fi
expect 0 kswap-inspect evil.safetensors --json
"$PY" -c '
import json
r = json.load(open("out"))
assert r["tensors"][0]["name"] == "evil\x1b[2J\nname" and r["metadata"] == {"k\x07": "v\x1b]0;title\x07"}'
