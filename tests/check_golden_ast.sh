#!/usr/bin/env bash
# Golden test of the front end: `vortexc --emit=ast` of every example (the
# parse plus what the checker recorded: references, shapes, constants)
# must equal tests/golden_ast/NAME.ast. After an intended change, rerun
# with UPDATE=1 and review the diff in the same commit.
# usage: [UPDATE=1] check_golden_ast.sh VORTEXC EXAMPLES_DIR GOLDEN_DIR
set -u
vortexc=$1 examples=$2 golden=$3
fails=0 n=0
for f in "$examples"/*.vtx; do
  name=$(basename "$f" .vtx)
  n=$((n + 1))
  if [ "${UPDATE:-0}" = 1 ]; then
    "$vortexc" "$f" --emit=ast -o "$golden/$name.ast" || fails=$((fails + 1))
  elif ! "$vortexc" "$f" --emit=ast | diff -u "$golden/$name.ast" - ; then
    echo "FAIL $name: AST differs from $golden/$name.ast"
    fails=$((fails + 1))
  fi
done
echo "golden ASTs: $((n - fails))/$n match"
[ "$fails" -eq 0 ]
