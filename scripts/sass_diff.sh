#!/usr/bin/env bash
# sass_diff.sh [-D FLAG]... REV [SOURCE.cu]: the machine code of SOURCE.cu
# (default runtime/src/decode_launch.cu) as REV had it against the working
# tree's, per kernel, with register numbers and encodings left out. Answers
# "did this refactor change what runs?" on the build machine, where no GPU
# is: exit 0 when every kernel's instructions are the same (the GPU need
# not re-time it), 1 when some differ (the table says which and by how many
# lines; re-time on the GPU), 2 on a usage or build error.
#   scripts/sass_diff.sh HEAD~1
#   scripts/sass_diff.sh -D VX_DECODE_STEAL=1 main runtime/src/decode_launch.cu
# cuobjdump is not part of this machine's CUDA install; without one on PATH
# (or CUOBJDUMP=...) it comes from PyPI's nvidia-cuda-cuobjdump wheel,
# unpacked once into ${XDG_CACHE_HOME:-~/.cache}/vortexc-cuobjdump.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
defs=()
while [ $# -gt 0 ] && [ "$1" = -D ]; do defs+=("-D$2"); shift 2; done
if [ $# -lt 1 ] || [ $# -gt 2 ]; then sed -n '2,8p' "$0" >&2; exit 2; fi
rev=$1 src=${2:-runtime/src/decode_launch.cu}
git rev-parse --verify -q "$rev^{commit}" > /dev/null || { echo "sass_diff: '$rev' is not a commit" >&2; exit 2; }
[ -f "$src" ] || { echo "sass_diff: no file $src" >&2; exit 2; }

# cuobjdump runs nvdisasm, found beside it or on PATH.
find_cuobjdump() {
  if [ -n "${CUOBJDUMP:-}" ]; then echo "$CUOBJDUMP"; return; fi
  if command -v cuobjdump > /dev/null && command -v nvdisasm > /dev/null; then command -v cuobjdump; return; fi
  local cache=${XDG_CACHE_HOME:-$HOME/.cache}/vortexc-cuobjdump
  if [ -z "$(find "$cache" -name nvdisasm -type f 2> /dev/null)" ]; then
    mkdir -p "$cache"
    pip download --no-deps -q nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm -d "$cache" >&2 || return 1
    (cd "$cache" && for w in ./*.whl; do python3 -m zipfile -e "$w" .; done) || return 1
    find "$cache" \( -name cuobjdump -o -name nvdisasm \) -type f -exec chmod +x {} +
  fi
  find "$cache" -name cuobjdump -type f | head -n 1
}
CUOBJ=$(find_cuobjdump) || CUOBJ=""
if [ ! -x "$CUOBJ" ]; then echo "sass_diff: no cuobjdump (set CUOBJDUMP=...)" >&2; exit 2; fi
PATH="$PATH:$(dirname "$CUOBJ")"
export PATH

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old"
git archive "$rev" | tar -x -C "$tmp/old"
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # NVFLAGS (relative -I paths: each build runs in its own tree)
build() { # TREE OUT.cubin
  # shellcheck disable=SC2086 # NVFLAGS is a list of flags
  (cd "$1" && nvcc $NVFLAGS "${defs[@]}" -cubin "$src" -o "$2") || { echo "sass_diff: nvcc failed in $1" >&2; exit 2; }
}
build "$tmp/old" "$tmp/old.cubin" & p_old=$!
build "$root" "$tmp/new.cubin" & p_new=$!
wait $p_old && wait $p_new || exit 2

for v in old new; do "$CUOBJ" -sass "$tmp/$v.cubin" > "$tmp/$v.sass" || exit 2; done
python3 - "$tmp/old.sass" "$tmp/new.sass" "$rev" << 'EOF'
import difflib, re, sys
from collections import defaultdict

# One list of instructions per kernel; register numbers, addresses and
# encodings left out, so a renaming is not a difference.
INS = re.compile(r"^\s*/\*[0-9a-f]+\*/\s*(.*?)\s*(/\*.*)?$")
REG = re.compile(r"\bU?[RP]\d+\b")
def load(path):
    kernels, name = defaultdict(list), None
    for line in open(path):
        if "Function :" in line:
            name = line.split("Function :", 1)[1].strip()
        elif name and (m := INS.match(line)) and m.group(1):
            kernels[name].append(" ".join(REG.sub("R", m.group(1)).split()))
    return kernels
old, new = load(sys.argv[1]), load(sys.argv[2])
changed = 0
for name in sorted(set(old) | set(new)):
    a, b = old.get(name, []), new.get(name, [])
    if a == b:
        continue
    changed += 1
    d = sum(1 for l in difflib.ndiff(a, b) if l[:1] in "+-")
    print(f"{len(a):6d} -> {len(b):6d} instructions, {d:5d} lines differ  {name}")
print(f"sass_diff: {changed} of {len(set(old) | set(new))} kernels differ from {sys.argv[3]} "
      "(register numbers and encodings ignored)")
sys.exit(1 if changed else 0)
EOF
