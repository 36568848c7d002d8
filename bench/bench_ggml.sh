#!/usr/bin/env bash
# bench_ggml.sh — wk-bench's integer dot kernels vs ggml's own vec_dot (libggml-cpu-haswell.so
# of @node-llama-cpp/linux-x64@3.22.1, dlopen'ed), same process, same blocks: correctness is
# checked first (tests/peer/bench_ggml_peer.c), then a GEMV over ROWS x COLS weights is timed
# for each: single GEMVs, ours and ggml's strictly alternating for REPS x 100 ms, the median of
# each side (so both see the same load and cache state), for every width in BG_COLS.  Prints
# one Markdown table for docs/benchmarks.md.
#
#   bench/bench_ggml.sh [BUILD_DIR]      (default: build-bench; needs BUILD_DIR/libweightkit.a)
# Env: BG_COLS (a list of row widths, default the LLaMA-family widths
#      "4096 5120 6656 8192 11008 13824 14336 28672"), BG_ROWS (default: 4096 * 4096 / COLS,
#      rounded down to a multiple of 64, so every width times the same number of weights),
#      BG_REPS (7), BG_THREADS (1), BG_TYPES (comma list, default every quant type), CC,
#      WK_PEERS_DIR, WK_GGML_CPU.
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
first=1
for cols in ${BG_COLS:-4096 5120 6656 8192 11008 13824 14336 28672}; do
  rows=${BG_ROWS:-$(( (4096 * 4096 / cols) / 64 * 64 ))}
  if [ $first = 1 ]; then hdr=(); first=0; else hdr=(env BG_NOHEADER=1); fi
  "${hdr[@]}" "$exe" "$LIBDIR" time "$rows" "$cols" "${BG_REPS:-7}" "${BG_THREADS:-1}" | grep -v '^all agree$'
done
echo "all agree; load average afterwards $(cut -d' ' -f1-3 /proc/loadavg)."
