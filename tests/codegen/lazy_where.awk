# awk -f lazy_where.awk GENERATED.cu
# Fails (exit 1) when a value function of a generated .cu calls, under a
# lazy `?:` (`return COND(...) != 0.0f ? ARM : ARM;`, the form of `where`),
# a function that may execute a warp shuffle while the condition may differ
# between the lanes taking part in it: a full-mask __shfl_xor_sync that
# some lanes skip is undefined behaviour (it hangs the block, for instance).
# The condition may differ between lanes when
# - the file is the vector index form (value functions take `int dl`): the
#   lane groups of a warp own different pages, so every condition may;
# - it takes the lane's dim (a `d` argument): in the scalar form lane l
#   takes d = l, l + 32, ... of a reduction over dim; page, head, sub and
#   tok are the same on every lane of a warp.
# "May execute a shuffle": the function's body holds __shfl, or it calls a
# function that may (fixpoint over the calls of the functions in the file).
function calls_of(text,    out, rest, name) {
  out = ""
  rest = text
  while (match(rest, /[A-Za-z_][A-Za-z_0-9]*\(/)) {
    name = substr(rest, RSTART, RLENGTH - 1)
    out = out " " name
    rest = substr(rest, RSTART + RLENGTH)
  }
  return out
}
/^static __device__ .*\(.*\) *\{$/ {
  line = $0
  sub(/\(.*/, "", line)
  n = split(line, words, /[ *&]+/)
  cur = words[n]
  if ($0 ~ /int dl\)/) vector = 1
  next
}
cur != "" && /^}/ { cur = ""; next }
cur != "" {
  if ($0 ~ /__shfl/) shfl[cur] = 1
  calls[cur] = calls[cur] calls_of($0)
  if ($0 ~ /^ *return .* != 0\.0f \? .* : .*;$/) {
    nl++
    lazy_fn[nl] = cur
    lazy_line[nl] = $0
  }
}
END {
  do {
    changed = 0
    for (f in calls) {
      if (f in shfl) continue
      m = split(calls[f], callee, " ")
      for (i = 1; i <= m; i++)
        if (callee[i] in shfl) { shfl[f] = 1; changed = 1; break }
    }
  } while (changed)
  bad = 0
  for (k = 1; k <= nl; k++) {
    line = lazy_line[k]
    p = index(line, " != 0.0f ? ")
    cond = substr(line, 1, p - 1)
    arms = substr(line, p + 11)
    if (!vector && cond !~ /[(, ]d[,)]/) continue
    m = split(calls_of(arms), callee, " ")
    for (i = 1; i <= m; i++)
      if (callee[i] in shfl) {
        printf "lazy where in %s: %s reaches a shuffle under a condition that may differ between lanes:\n%s\n",
               lazy_fn[k], callee[i], line
        bad = 1
      }
  }
  if (bad) exit 1
  printf "ok: %d selections (`!= 0.0f ?`) checked, %s index form\n", nl, vector ? "vector" : "scalar"
}
