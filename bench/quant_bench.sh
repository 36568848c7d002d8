#!/usr/bin/env bash
# quant_bench.sh — quantization throughput of weightkit vs ggml_quantize_chunk (the
# real libggml-base of @node-llama-cpp/linux-x64@3.22.1), same process, same input,
# 1 thread and all threads; medians of several runs.  Prints a Markdown table for the
# "wk-quantize kernels" section of docs/benchmarks.md.
#
#   bench/quant_bench.sh [BUILD_DIR]       (default: build; needs BUILD_DIR/libweightkit.a)
# Environment: QB_ROWS (default 2048), QB_COLS (default 4096: a 32 MB float32 matrix),
# QB_RUNS (default 5), QB_THREADS (default: nproc), QB_SEARCH_ROWS (default 64: rows for the
# --search timing, which also checks that its output is the same for every thread count),
# QB_TYPES (comma list, default all), QB_IMATRIX=1 (both sides get the same importance
# matrix: ggml's weighted quantizers vs weightkit's), QB_IMATRIX=2 (both modes in the same
# run: without, then with), CC, WK_PEERS_DIR.
# QB_SEARCH_EVAL=CHECKPOINT.pth: instead, print the RMSE of the reference quantizer vs
# the error-minimising search (wk-quantize --search) for every type on its 2-D tensors.
# QB_E2E=F32.gguf: instead, the whole `wk-quantize F32.gguf OUT TYPE -j 1` process against
# ggml_quantize_chunk's compute for the same tensors + the I/O floor (bench/quant_e2e.c),
# QB_RUNS rounds interleaved, for QB_E2E_TYPES (default: every type wk-quantize takes);
# OUT is written beside the input.  The table also gives the per-thread kernel ratio of each
# file's main type and the statistics' share of wk-quantize's CPU time (issue #23).  QB_E2E_GEN="DIM LAYERS VOCAB FF" first writes F32.gguf
# (a LLaMA-shaped random f32 GGUF, gguf-py of the llama.cpp source bundle) if it is missing.
# Build weightkit in Release or RelWithDebInfo (not a sanitizer build) for numbers.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib quant_bench "$BUILD"   # LIB, WK_INC
wk_llama_peer_bench quant_bench   # LIBDIR, GGML_INCDIR, WK_GGML_BASE_LINK, or exit 1

exe=${TMPDIR:-/tmp}/wk-quant-bench.$$
trap 'rm -f "$exe"' EXIT
"${CC:-cc}" -std=c11 -O2 -fopenmp -Wall -Wextra "${WK_INC[@]}" -I"$GGML_INCDIR" \
  "$SRC/bench/quant_bench.c" "$SRC/bench/bench_load.c" "$LIB" "${WK_GGML_BASE_LINK[@]}" \
  $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm -o "$exe"

if [ "${QB_E2E:-}" ]; then           # whole process vs ggml compute + the I/O floor
  if [ ! -f "$QB_E2E" ]; then
    [ "${QB_E2E_GEN:-}" ] || { echo "quant_bench: no $QB_E2E (set QB_E2E_GEN)" >&2; exit 1; }
    /usr/bin/python3 "$SRC/bench/quant_e2e_gguf.py" "$QB_E2E" $QB_E2E_GEN
  fi
  e2e=${TMPDIR:-/tmp}/wk-quant-e2e.$$
  trap 'rm -f "$exe" "$e2e"' EXIT
  "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -D_GNU_SOURCE "${WK_INC[@]}" -I"$GGML_INCDIR" \
    "$SRC/bench/quant_e2e.c" "$LIB" "${WK_GGML_BASE_LINK[@]}" -fopenmp \
    $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm -o "$e2e"
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
       "$(${CC:-cc} --version | head -1)."
  types=${QB_E2E_TYPES:-q4_0,q4_1,q5_0,q5_1,q8_0,q2_k,q3_k_m,q4_k_m,q5_k_m,q6_k,iq4_nl,iq4_xs}
  # not exec: the EXIT trap removes the two executables
  rc=0
  "$e2e" "$BUILD/bin/wk-quantize" "$QB_E2E" "${QB_E2E%.gguf}.e2e-out.gguf" "${QB_RUNS:-5}" ${types//,/ } || rc=$?
  exit $rc
fi

if [ "${QB_SEARCH_EVAL:-}" ]; then    # RMSE of --search vs the reference on a checkpoint
  exec "$exe" --search-eval "$QB_SEARCH_EVAL"
fi

echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); $(${CC:-cc} --version | head -1)."
QB_SEARCH_ROWS=${QB_SEARCH_ROWS:-64} "$exe" "${QB_ROWS:-2048}" "${QB_COLS:-4096}" "${QB_RUNS:-5}" "${QB_THREADS:-$(nproc)}"
