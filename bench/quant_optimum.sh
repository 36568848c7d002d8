#!/usr/bin/env bash
# quant_optimum.sh — how close wk-quantize --search gets to the best Q4_0 / Q5_0 file the
# layout allows: per 2-D tensor of the fixture models (tests/fixtures/models/tiny and
# tiny-gqa), the RMSE of ggml's reference quantizer, of --search, and of the exact optimum
# (brute force over every finite fp16 scale, both signs; see bench/quant_optimum.c).
#
#   bench/quant_optimum.sh [BUILD_DIR]    (default: build; needs BUILD_DIR/libweightkit.a)
# Environment: QO_SAMPLE (default 64: every 64th block is also searched with no pruning at
# all, which must give the same minimum), QO_THREADS (default: nproc), QO_IMATRIX (a raw
# float32 file of per-column weights: then errors are importance-weighted, on the tensors
# with that many columns), QO_MODELS (checkpoints; default: tiny and tiny-gqa), CC.
# Exit 1 if a check fails (pruned != unpruned optimum, or --search below the optimum).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib quant_optimum "$BUILD"   # LIB, WK_INC
exe=${TMPDIR:-/tmp}/wk-quant-optimum.$$
trap 'rm -f "$exe"' EXIT
"${CC:-cc}" -std=c11 -O2 -fopenmp -Wall -Wextra "${WK_INC[@]}" \
  "$SRC/bench/quant_optimum.c" "$SRC/bench/bench_load.c" "$LIB" $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm -o "$exe"
M=$SRC/tests/fixtures/models
models=${QO_MODELS:-$M/tiny/consolidated.00.pth $M/tiny-gqa/consolidated.00.pth}
echo "quant_optimum: $(date -u +%Y-%m-%d), $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo '?'), $BUILD"
# shellcheck disable=SC2086
"$exe" --sample "${QO_SAMPLE:-64}" --threads "${QO_THREADS:-$(nproc)}" \
  ${QO_IMATRIX:+--imatrix "$QO_IMATRIX"} $models
