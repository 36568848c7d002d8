#!/usr/bin/env bash
# bench_gemv.sh — wk-bench's GEMV timing (wk_bench_time_gemm) against the bare kernel, in one
# process, alternating (bench/bench_gemv.c): where the time between the two goes.
#
#   bench/bench_gemv.sh [BUILD_DIR]      (default: build-bench; needs BUILD_DIR/libweightkit.a)
# Env: BV_ROWS (4096), BV_COLS (4096), BV_REPS (7), BV_TYPES (q4_0,q8_0,q4_k,q6_k,q2_k,iq4_xs), CC.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib bench_gemv "$BUILD"   # LIB, WK_INC
exe=${TMPDIR:-/tmp}/wk-bench-gemv.$$
trap 'rm -f "$exe"' EXIT
"${CC:-cc}" -std=c11 -O2 -fopenmp "${WK_INC[@]}" "$SRC/bench/bench_gemv.c" "$LIB" \
  $(pkg-config --libs libzip libxxhash) -lcrypto -lz -ldl -lm -o "$exe"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); 1 thread."
"$exe" "${BV_ROWS:-4096}" "${BV_COLS:-4096}" "${BV_REPS:-7}" "${BV_TYPES:-q4_0,q8_0,q4_k,q6_k,q2_k,iq4_xs}"
echo "load average afterwards $(cut -d' ' -f1-3 /proc/loadavg)."
