#!/usr/bin/env bash
# index_form_choice.sh VORTEXC EXAMPLES_DIR: the index kernel form vortexc
# picks per module. The tensor-core form is recognised by its mma.sync
# scoring call (ALG_mma_op::run_m16(acc...)); the vector form by its lane-group page
# loader (ALG_page_at with an id). Each expectation follows from the rule in
# codegen/emit_index_mma.c, worked out by hand per example. The one-launch
# index kernel (ALG_fused_kernel, small batches) exists in the mma form
# only: its output must define and launch it, the other forms must not. So
# does its two-blocks-an-SM sibling (ALG_fused_pair_kernel, batch 32), but
# not for a mass select (mass_topp), whose helper runs in 512-thread blocks.
set -u
vortexc=${1:?usage: index_form_choice.sh VORTEXC EXAMPLES_DIR}
examples=${2:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
form_of() { # EXAMPLE FLAGS... -> mma | vector | scalar | error
  local ex=$1 src; shift
  src="$examples/$ex.vtx"
  [ -f "$src" ] || src="$work/$ex.vtx"
  if ! "$vortexc" "$src" "$@" -o "$work/$ex.cu" 2> "$work/err"; then echo error; return; fi
  if grep -q "_mma_op::run_m16(acc" "$work/$ex.cu"; then echo mma
  elif grep -Eq "_page_at\(c, [a-z0-9]+, " "$work/$ex.cu"; then echo vector
  else echo scalar; fi
}
expect() { # WANT EXAMPLE FLAGS...
  local want=$1; shift
  local got
  got=$(form_of "$@")
  if [ "$got" = "$want" ]; then echo "ok   $* -> $got"; else echo "FAIL $* -> $got (want $want)"; fails=$((fails + 1)); fi
  [ "$got" = error ] && return
  local defined launched
  defined=$(grep -c "^[a-z_0-9]*_fused_kernel(vx_paged_kv kv" "$work/$1.cu")
  launched=$(grep -c "vx_launch([a-z_0-9]*_fused_kernel," "$work/$1.cu")
  if [ "$got" = mma ] && { [ "$defined" != 1 ] || [ "$launched" != 1 ]; }; then
    echo "FAIL $* -> mma form without its one-launch kernel (defined $defined, launched $launched)"; fails=$((fails + 1))
  elif [ "$got" != mma ] && [ "$defined$launched" != 00 ]; then
    echo "FAIL $* -> $got form with a fused mma kernel (defined $defined, launched $launched)"; fails=$((fails + 1))
  fi
  local want_pair=00
  [ "$got" = mma ] && [ "$1" != mass_topp ] && want_pair=11
  defined=$(grep -c "^[a-z_0-9]*_fused_pair_kernel(vx_paged_kv kv" "$work/$1.cu")
  launched=$(grep -c "vx_launch([a-z_0-9]*_fused_pair_kernel," "$work/$1.cu")
  if [ "$defined$launched" != "$want_pair" ]; then
    echo "FAIL $* -> $got form: fused pair kernel defined $defined, launched $launched (want $want_pair)"; fails=$((fails + 1))
  fi
}
# Envelopes of a value computed in f32: split into three bf16 terms, one
# mma column each, so at most 8 / 3 heads fit.
variant() { # NAME SCORE: quest with another score expression
  sed "s/algorithm quest/algorithm $1/; s/^    score = .*;/    score = $2;/" "$examples/quest.vtx" > "$work/$1.vtx"
}
variant env_mean_q 'sum(max(mean(q, head) * kmax, mean(q, head) * kmin), dim)'
variant env_softmax_q 'max(sum(max(softmax(q, dim) * kmax, softmax(q, dim) * kmin), dim), head)'
variant env_scaled_q 'max(sum(max((q * 2) * kmax, (q * 2) * kmin), dim), head)'
# a max over dim of a field the envelope also reads: needs per-dim values
variant env_and_max 'max(sum(max(q * kmax, q * kmin), dim), head) + max(kmax, dim)'
# bilinear scores: Quest's envelope (exact bf16 query), the centroid dot
# products (exact query, or an f32 mean over heads split into bf16 terms)
expect mma quest
expect mma quest --head-dim=64 --group=8 --kv-dtype=f16
expect mma dynamic_budget
expect mma block_topk
expect mma mass_topp
expect mma running_average
expect mma threshold_recency
# not taken: three fields (h2o_page), a softmax over pages (gqa_block_topk:
# one fused block per row), sub-page fields (lserve), an f32 query value with
# f16 fields, 4 heads x 3 split terms (more than 8 mma columns), a query
# value recomputed per page instead of staged once per row, and the forms
# asked for explicitly
expect vector h2o_page
expect vector gqa_block_topk
expect vector lserve_subpage_quest
expect vector block_topk --head-dim=64 --group=8 --kv-dtype=f16
expect mma env_mean_q
expect mma env_softmax_q --group=2
expect vector env_softmax_q
expect vector env_scaled_q
expect vector env_and_max
expect vector quest --index-codegen=vector
expect scalar quest --index-codegen=scalar
# a bad value is an error with the accepted spellings
if "$vortexc" "$examples/quest.vtx" --index-codegen=tensor -o "$work/bad.cu" 2> "$work/err"; then
  echo "FAIL --index-codegen=tensor accepted"; fails=$((fails + 1))
elif grep -q -- "--index-codegen=auto" "$work/err" && [ ! -e "$work/bad.cu" ]; then
  echo "ok   --index-codegen=tensor rejected: $(head -n1 "$work/err")"
else
  echo "FAIL --index-codegen=tensor: $(cat "$work/err")"; fails=$((fails + 1))
fi
[ "$fails" -eq 0 ]
