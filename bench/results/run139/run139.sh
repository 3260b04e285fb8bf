#!/usr/bin/env bash
# one device call, on a `git archive` of main with tests/gpu/codegen/generated carried
# (gen_prepare.sh); VX_COMMIT = the code's commit (7f363bb's device code). In order:
#   step  the full benchmark through run115.sh (MLA_S=0 BODY_S=0): bench/run_all.sh with its
#         model stage (bench/model, first run) and STEP_ARGS (--gather-sms 132,99,66,44)
#   cg    the Qwen3-geometry cases the model benchmark uses (quest_qwen3, block_topk_qwen3 and
#         their vector and scalar forms) against the CPU interpreter: gen_gpu.sh, GEN_ONLY
#   wide  on an H200 with > 200 s left: run128.sh with CHK_S=0 (the VX_STEP_WIDE A/B)
# Files: $OUT/run115.tgz (the benchmark), $OUT/run139_cg.tgz, $OUT/run128.tgz.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
t0=$(date +%s)
MLA_S=0 BODY_S=0 STEP_TIMEOUT=${STEP_TIMEOUT:-360} bash bench/results/run115/run115.sh
left=$(( ${CALL_S:-560} - ($(date +%s) - t0) ))
echo "benchmark done at $(( $(date +%s) - t0 )) s; ${left} s left"
if [ "$left" -gt 90 ]; then
  X=$OUT/cg; mkdir -p "$X"
  cap=$(( left - 30 < 200 ? left - 30 : 200 ))
  OUT=$X VX_COMMIT=${VX_COMMIT:-unknown} GPU_STAGES=codegen STAGE_TIMEOUT=$cap GEN_ONLY='*qwen3*' PACK=0 TAIL_LINES=25 \
    bash scripts/gpu_all.sh
  tar czf "$OUT/run139_cg.tgz" -C "$X" . && rm -rf "$X"
fi
left=$(( ${CALL_S:-560} - ($(date +%s) - t0) ))
echo "cg done at $(( $(date +%s) - t0 )) s; ${left} s left"
if nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 && [ "$left" -gt 200 ]; then
  CHK_S=0 BODY_S=$(( left - 30 )) CALL_S=0 bash bench/results/run128/run128.sh
fi
echo "done at $(( $(date +%s) - t0 )) s"
