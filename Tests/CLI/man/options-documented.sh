# Every built kswap-<verb> has Man/kswap-<verb>.1; the page renders without warnings; every option the
# tool accepts (from --experimental-dump-help) appears in the rendered page; kswap.1 names every tool.
. "$ROOT/Tests/CLI/lib.sh"
need man col
bin=$(dirname "$(command -v kswap)")
tools=()
for path in "$bin"/kswap-*; do
  [ -f "$path" ] && [ -x "$path" ] && tools+=("$(basename "$path")")
done
[ "${#tools[@]}" -gt 0 ] || { echo "no kswap-* tools in $bin"; exit 1; }

render() {  # plain ASCII text of a man page, wide so no option is hyphenated; fails on any warning
  local page=$1
  LC_ALL=C.UTF-8 MANPAGER=cat MANWIDTH=80 man --warnings -E ascii -l "$page" 2>render.err >/dev/null
  if [ -s render.err ]; then echo "$page: warnings:"; cat render.err; return 1; fi
  LC_ALL=C.UTF-8 MANPAGER=cat MANWIDTH=400 man -E ascii -l "$page" | col -b
}

mentions() {  # the rendered text mentions option $2 as a whole word
  grep -qE -- "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" "$1"
}

status=0
render "$ROOT/Man/kswap.1" >kswap.txt || status=1
for tool in "${tools[@]}"; do
  page="$ROOT/Man/$tool.1"
  if [ ! -f "$page" ]; then echo "$tool: no man page Man/$tool.1"; status=1; continue; fi
  render "$page" >"$tool.txt" || { status=1; continue; }
  mentions kswap.txt "$tool" || { echo "Man/kswap.1 does not mention $tool"; status=1; }
  "$tool" --experimental-dump-help >"$tool.json"
  "$PY" - "$tool.json" >"$tool.options" <<'PY'
import json, sys
command = json.load(open(sys.argv[1]))["command"]
for argument in command.get("arguments", []):
    for name in argument.get("names", []):
        prefix = "--" if name["kind"] in ("long", "longWithSingleDash") else "-"
        print(prefix + name["name"])
PY
  [ -s "$tool.options" ] || { echo "$tool: no options found in --experimental-dump-help"; status=1; }
  while read -r option; do
    mentions "$tool.txt" "$option" || { echo "$tool: option $option missing from Man/$tool.1"; status=1; }
  done <"$tool.options"
done
exit $status
