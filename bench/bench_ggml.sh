#!/usr/bin/env bash
# bench_ggml.sh — wk-bench's integer dot kernels vs ggml's own vec_dot (libggml-cpu-haswell.so
# of @node-llama-cpp/linux-x64@3.22.1, dlopen'ed), same process, same blocks: correctness is
# checked first (tests/peer/bench_ggml_peer.c), then a GEMV over ROWS x COLS weights is timed
# for each (median of REPS runs of >= 50 ms).  Prints a Markdown table for docs/benchmarks.md.
#
#   bench/bench_ggml.sh [BUILD_DIR]      (default: build-bench; needs BUILD_DIR/libweightkit.a)
# Env: BG_ROWS (4096), BG_COLS (4096), BG_REPS (7), BG_THREADS (1), CC, WK_PEERS_DIR, WK_GGML_CPU.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib bench_ggml "$BUILD"   # LIB, WK_INC
wk_llama_peer_bench bench_ggml   # LIBDIR, GGML_INCDIR, or exit 1
exe=${TMPDIR:-/tmp}/wk-bench-ggml.$$
trap 'rm -f "$exe"' EXIT
"${CC:-cc}" -std=c11 -O2 -fopenmp "${WK_INC[@]}" -I"$GGML_INCDIR" \
  "$SRC/tests/peer/bench_ggml_peer.c" "$LIB" $(pkg-config --libs libzip libxxhash) \
  -lcrypto -lz -ldl -lm -o "$exe"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); threads ${BG_THREADS:-1}."
"$exe" "$LIBDIR" time "${BG_ROWS:-4096}" "${BG_COLS:-4096}" "${BG_REPS:-7}" "${BG_THREADS:-1}"
