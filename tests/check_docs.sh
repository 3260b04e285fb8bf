#!/usr/bin/env bash
# Compiles every code block of a Markdown document so it cannot rot:
#   ```vtx        must check cleanly (vortexc --emit=ast, exit 0, not even a warning);
#   ```vtx-error  must fail (exit 1); its first line is a comment
#                 `// error: TEXT` and the first diagnostic must contain
#                 "error: TEXT".
# usage: check_docs.sh VORTEXC DOC.md
set -u
vortexc=$1
doc=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v dir="$work" '
  /^```vtx-error[ \t]*$/ { n++; file = sprintf("%s/block%03d.error.vtx", dir, n); inblock = 1; next }
  /^```vtx[ \t]*$/       { n++; file = sprintf("%s/block%03d.ok.vtx", dir, n); inblock = 1; next }
  /^```/ && inblock      { inblock = 0; close(file); next }
  inblock                { print > file }
' "$doc"
n=0 fails=0
for f in "$work"/*.vtx; do
  [ -e "$f" ] || break
  n=$((n + 1))
  err=$("$vortexc" "$f" --emit=ast --color=never 2>&1 >/dev/null)
  rc=$?
  case $f in
  *.ok.vtx)
    if [ "$rc" -ne 0 ] || [ -n "$err" ]; then echo "FAIL block $(basename "$f"): should compile cleanly"; cat "$f"; echo "$err"; fails=$((fails + 1)); fi ;;
  *.error.vtx)
    want=$(head -n 1 "$f" | sed -n 's|^// *error: *||p')
    first=$(head -n 1 <<<"$err")
    if [ -z "$want" ]; then
      echo "FAIL block $(basename "$f"): vtx-error block must start with '// error: TEXT'"; fails=$((fails + 1))
    elif [ "$rc" -ne 1 ] || [[ "$first" != *"error: $want"* ]]; then
      echo "FAIL block $(basename "$f"): want 'error: $want', got (exit $rc) '$first'"; cat "$f"; fails=$((fails + 1))
    fi ;;
  esac
done
echo "docs: $((n - fails))/$n code blocks behave as documented"
[ "$fails" -eq 0 ] && [ "$n" -gt 0 ]
