#!/usr/bin/env bash
# one device call (any card), on a `git archive` of main (no generated cases needed);
# VX_COMMIT = the code's commit. run_all.sh without its PyTorch peers, for a call with little
# device time left (~140 s of work where run_all.sh takes ~230 s): step_bench (dense, quest,
# block top-k; 8K/32K/128K x batch 16/32/64) and libvortexrt's MLA decode, then report.py over
# both (its peer columns empty). STEP_ARGS adds step_bench arguments. Files: $OUT/run138.tgz.
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
cd wt-main 2>/dev/null || true # the call may start there
X=$OUT/x; mkdir -p $X
t0=$(date +%s)
{ echo "${VX_COMMIT:-unknown}"; date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>&1; cat bench/step/gen/PROVENANCE; } > $X/env.txt
bash bench/step/build.sh build-step > $X/build.log 2>&1; echo "build rc=$? at $(( $(date +%s) - t0 )) s"
sel=$(mktemp -d)
# shellcheck disable=SC2086
build-step/step_bench --json $X/step.json --sel-dir "$sel" ${STEP_ARGS:-} > $X/step.log 2>&1; echo "step rc=$? at $(( $(date +%s) - t0 )) s"
# shellcheck source=scripts/gpu_build.sh
source scripts/gpu_build.sh # B (build-gpu), vx_gpu_build
vx_gpu_build > $X/mla_build.log 2>&1; echo "mla_build rc=$? at $(( $(date +%s) - t0 )) s"
"$B/vortex-bench" --mla-only --json $X/mla.json > $X/mla.log 2>&1; echo "mla rc=$? at $(( $(date +%s) - t0 )) s"
python3 bench/step/report.py $X/step.json --mla $X/mla.json --json $X/report.json | tee $X/report.txt
tar czf $OUT/run138.tgz -C $X . && rm -rf $X "$sel"
echo "done at $(( $(date +%s) - t0 )) s"
