#!/usr/bin/env bash
# one device call with the session's last ~240 s of device time, on main (bf74bf2 + docs): on an
# H200 only (anything else exits at once), step_bench's whole table (18 shapes, dense baseline)
# and report.py on it; no peers, no MLA (too little time for bench/run_all.sh's ~190 s).
name=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader); echo "$name"
echo "$name" | grep -q H200 || { echo "not an H200: nothing run"; exit 0; }
X=$OUT/x; mkdir -p $X
s=$(date +%s)
bash bench/step/build.sh build-step > $X/build.log 2>&1 || { echo "build failed"; tail -20 $X/build.log; }
echo "build $(( $(date +%s) - s )) s"
timeout -k 5 130 build-step/step_bench --json $X/step.json > $X/step.log 2>&1; echo "step_bench rc=$? ($(( $(date +%s) - s )) s)"
tail -3 $X/step.log
python3 bench/step/report.py $X/step.json --json $X/report.json > $X/report.txt 2>&1; cat $X/report.txt
tar czf $OUT/run105.tgz -C $X .
