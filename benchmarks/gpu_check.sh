#!/usr/bin/env bash
# The prepared GPU check: one call on a machine with a GPU and no network, everything under $OUT.
#
# Here, once:   mkdir -p .cache && cp ~/.cache/nprob/mnist.npz .cache/    (.cache/ is ignored by git)
# There:        OUT=<folder> bash benchmarks/gpu_check.sh                   (carry .cache; about 9 minutes)
#
# It uses the machine's python3 and its packages (CuPy, NumPy, SciPy, matplotlib, tqdm, pytest and
# hypothesis; set PYTHON to use another) and nprob from this checkout, and writes six files: log.txt (every
# step's output and exit status), benchmark_cupy.json (timed on the GPU), counts_standin.json (the same
# code counted on the stand-in, for the side-by-side), quick_metrics.json, quick_report.md and summary.txt.
set -uo pipefail
out=${OUT:-gpu-check}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 NPROB_DATA_DIR=$PWD/.cache
py=${PYTHON:-python3}
log=$out/log.txt
: > "$log"

step() {   # step NAME SECONDS COMMAND...: run with a time limit, log its output and its exit status
    local name=$1 limit=$2
    shift 2
    echo "=== $name" >> "$log"
    timeout "$limit" "$@" >> "$log" 2>&1
    local rc=$?
    echo "$name: exit $rc" | tee -a "$out/summary.txt" >> "$log"
}

step machine 30 bash -c "nvidia-smi; $py -c 'import cupy, numpy; print(\"cupy\", cupy.__version__, \"numpy\", numpy.__version__)'"
step tests 150 "$py" -m pytest -q -p no:cacheprovider -m "realgpu or gpu" tests
step benchmark 150 "$py" -m benchmarks --backend cupy --quick --json "$out/benchmark_cupy.json"
step counts 60 env NPROB_CUPY_STANDIN=1 "$py" -m benchmarks.gpu_counts --quick --json "$out/counts_standin.json"
step quick_run 180 "$py" run_all.py --quick --backend cupy --quiet --out /tmp/nprob-gpu-quick
cp /tmp/nprob-gpu-quick/metrics.json "$out/quick_metrics.json" 2>/dev/null
cp /tmp/nprob-gpu-quick/report.md "$out/quick_report.md" 2>/dev/null
cat "$out/summary.txt"
