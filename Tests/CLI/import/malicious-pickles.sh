# Pickle stays data: every case of Tests/Fixtures/malicious-pickles (Scripts/make-malicious-pickles.py;
# torch.load runs each code payload there, creating pwned-<case> in its working directory) is refused
# with exit 2 and an error naming the file and the global or opcode refused, writes no output and runs
# nothing: no pwned-* file appears here, where the payloads would create theirs. The bare pickles (the
# format before PyTorch 1.6) are refused before they are read; a payload inside a wheel member and one
# given to a model tool are refused too.
. "$ROOT/Tests/CLI/lib.sh"
fixtures="$ROOT/Tests/Fixtures/malicious-pickles"
cases=0
while IFS=$'\t' read -r case _ named; do
  expect 2 kswap-pack "$fixtures/$case.pt" -o out.safetensors
  err_has "$fixtures/$case.pt"
  err_has "$named"
  [ ! -e out.safetensors ] || fail "$case.pt: an output was written"
  if [ -e "$fixtures/$case.pkl" ]; then
    expect 2 kswap-pack "$fixtures/$case.pkl" --format torch -o out.safetensors
    err_has "$case.pkl: not a zip-format PyTorch checkpoint"
  fi
  cases=$((cases + 1))
done <"$fixtures/cases.tsv"
[ "$cases" -ge 20 ] || fail "only $cases cases in cases.tsv"
"$PY" - "$fixtures/os-system.pt" <<'PY'
import sys, zipfile
with zipfile.ZipFile("weights-1.0-py3-none-any.whl", "w") as z:
    z.write(sys.argv[1], "weights/model.pth")
PY
expect 2 kswap-pack weights-1.0-py3-none-any.whl --member weights/model.pth -o out.safetensors
err_has "weights/model.pth:archive/data.pkl: pickle: GLOBAL os.system is not allowed"
expect 2 kswap-eval "$fixtures/subprocess-popen.pt" --set test=none.kst
err_has "GLOBAL subprocess.Popen is not allowed"
sleep 0.2  # subprocess.Popen would create its file a moment later
[ -z "$(find . "$fixtures" -name 'pwned-*')" ] || fail "a payload ran: $(find . "$fixtures" -name 'pwned-*')"
