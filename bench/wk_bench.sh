#!/usr/bin/env bash
# wk_bench.sh — the runs behind the "wk-bench" section of docs/benchmarks.md.
#
#   bench/wk_bench.sh [BUILD_DIR] [OUTDIR]   (defaults: build-bench, ./wk-bench-out)
#
# 1. fidelity, synthetic 4096 x 4096, every format and its -search variant, all three
#    distributions, seed 1 (deterministic: any machine gives the same numbers);
# 2. fidelity on the committed tiny model (tests/fixtures/models/tiny), every format;
# 3. speed on 4096 x 4096 with 1 thread and with all cores (+ GEMV thread scaling);
# 4. our integer dot kernels vs ggml's vec_dot (bench/bench_ggml.sh: every LLaMA-family row width),
#    1 thread and all cores; 5. wk-bench's GEMV timing vs the bare kernel (bench/bench_gemv.sh).
# Writes OUTDIR/*.txt (the tables), *.json and *.svg.  Env: BW_REPS (default 7).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
OUT=${2:-$PWD/wk-bench-out}
B=$BUILD/bin/wk-bench
[ -x "$B" ] || { echo "wk_bench.sh: no $B (build first)" >&2; exit 1; }
if nm -A "$BUILD/libweightkit.a" 2>/dev/null | grep -q '__asan_'; then
  echo "wk_bench.sh: sanitizer build; timings would be meaningless" >&2; exit 1
fi
mkdir -p "$OUT"
REPS=${BW_REPS:-7}
NP=$(nproc)
log() { echo "== $* (load average $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$OUT/load.txt"; }

log "fidelity synthetic"
"$B" --rows 4096 --cols 4096 --dist all --search --no-speed --seed 1 \
  --json "$OUT/fidelity-4096.json" --svg "$OUT/fidelity-4096.svg" | tee "$OUT/fidelity-4096.txt"
log "fidelity tiny model"
"$B" --model "$SRC/tests/fixtures/models/tiny" --search --no-speed --seed 1 \
  --json "$OUT/fidelity-tiny.json" --svg "$OUT/fidelity-tiny.svg" | tee "$OUT/fidelity-tiny.txt"
log "speed -j 1"
"$B" --rows 4096 --cols 4096 --speed-only --seed 1 -j 1 --reps "$REPS" \
  --json "$OUT/speed-j1.json" --svg "$OUT/speed-j1.svg" | tee "$OUT/speed-j1.txt"
log "speed -j $NP"
"$B" --rows 4096 --cols 4096 --speed-only --seed 1 -j "$NP" --reps "$REPS" --scaling \
  --json "$OUT/speed-j$NP.json" --svg "$OUT/speed-j$NP.svg" | tee "$OUT/speed-j$NP.txt"
log "ggml vec_dot, 1 thread"
BG_REPS=$REPS BG_THREADS=1 bash "$SRC/bench/bench_ggml.sh" "$BUILD" | tee "$OUT/ggml-j1.txt"
log "ggml vec_dot, $NP threads"
BG_REPS=$REPS BG_THREADS=$NP bash "$SRC/bench/bench_ggml.sh" "$BUILD" | tee "$OUT/ggml-j$NP.txt"
log "wk-bench GEMV vs the bare kernel"
BV_REPS=$REPS bash "$SRC/bench/bench_gemv.sh" "$BUILD" | tee "$OUT/gemv-vs-bare.txt"
log "done"
