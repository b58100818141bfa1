# kswap-pack --coco-dir writes one file per image into a temporary directory beside DIR, registered with
# all of its file names at once: a signal after more files than the 32 slots of single registrations
# removes every one of them and the directory, and no DIR appears.
. "$ROOT/Tests/CLI/lib.sh"
"$PY" - <<'PY'
import numpy as np
from safetensors.numpy import save_file
n = 2000
images = np.random.default_rng(0).integers(0, 256, (n, 1, 32, 32), dtype=np.uint8)
save_file({"images": images, "boxes": np.zeros((0, 4), np.float32), "box_labels": np.zeros(0, np.int64),
           "box_offsets": np.zeros(n + 1, np.int64)}, "many.safetensors",
          metadata={"dataset": "1", "task": "detection", "classes": '["a"]'})
PY
kswap-pack many.safetensors --coco-dir exported &
pack=$!
count() { find . -maxdepth 2 -path './.exported.kswap-*/*.png' | wc -l; }
for _ in $(seq 200); do [ "$(count)" -ge 40 ] && break; sleep 0.05; done
[ "$(count)" -ge 40 ] || fail "fewer than 40 pictures written in 10 seconds"
kill -TERM "$pack"
status=0
wait "$pack" || status=$?
[ "$status" = 143 ] || fail "exit status $status, expected 143 (SIGTERM)"
[ ! -e exported ] || fail "exported/ appeared"
no_litter .
[ -z "$(find . -name '*.png')" ] || fail "pictures left behind"
