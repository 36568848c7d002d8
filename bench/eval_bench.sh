#!/usr/bin/env bash
# eval_bench.sh — tokens/s of `wk-eval ppl` vs llama.cpp on the same GGUF, the same windows and
# the same threads (docs/benchmarks.md, "wk-eval").
#
#   bench/eval_bench.sh [BUILD_DIR]     (default: build)
#
# Makes a synthetic LLaMA-shaped Meta checkpoint (random fp16 * 0.02; dim 2048, 2 layers, FFN
# 5632, vocab 32000: BENCH_DIM / BENCH_LAYERS), packs it to F16 GGUF with wk-pack and quantizes it
# to q8_0, q4_0 and q4_k with wk-quantize.  For each: `wk-eval ppl --tokens` over BENCH_CHUNKS
# (default 2) windows of BENCH_CTX (default 256) ids, and llama.cpp evaluating the same windows
# (tests/peer/llama_harness.c `chunks ... half`: one decode per window from position 0, logits of
# the second half only — what llama-perplexity asks), each a whole process (load included, page
# cache warm), BENCH_REPS (default 3) runs interleaved; medians and the ratio
# wk-eval / llama.cpp in tokens/s (evaluated positions per second).  Threads: BENCH_THREADS
# (default nproc) for both.  The load average is printed with each result.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
BIN=$BUILD/bin
PY=/usr/bin/python3
DIM=${BENCH_DIM:-2048}
LAYERS=${BENCH_LAYERS:-2}
CTX=${BENCH_CTX:-256}
CHUNKS=${BENCH_CHUNKS:-2}
REPS=${BENCH_REPS:-3}
THREADS=${BENCH_THREADS:-$(nproc)}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wk-eval-bench.XXXXXX")}
KEEP=${BENCH_DIR:+1}
trap '[[ -n $KEEP ]] || rm -rf "$WORK"' EXIT
mkdir -p "$WORK/model"
for t in wk-eval wk-pack wk-quantize; do [[ -x $BIN/$t ]] || { echo "eval_bench: no $BIN/$t" >&2; exit 1; }; done
if nm -A "$BUILD/libweightkit.a" 2>/dev/null | grep '__asan_' >/dev/null; then
    echo "eval_bench: sanitizer build; timings would be meaningless" >&2; exit 1
fi
. "$ROOT/tests/peer/_peer_lib.sh"
wk_llama_peer_bench eval_bench
cc -std=c11 -O2 -Wall -o "$WORK/harness" "$ROOT/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}"
export WK_LLAMA_LIBDIR=$LIBDIR

if [[ ! -f $WORK/model/consolidated.00.pth ]]; then
    echo "eval_bench: writing a synthetic checkpoint (dim $DIM, $LAYERS layers) to $WORK/model" >&2
    "$PY" "$ROOT/bench/pack_model.py" "$WORK/model" "$DIM" "$LAYERS" "$ROOT" --unit-norms
fi
[[ -f $WORK/f16.gguf ]] || "$BIN/wk-pack" -q "$WORK/model" "$WORK/f16.gguf" --outtype f16
for q in q8_0 q4_0 q4_k; do
    [[ -f $WORK/$q.gguf ]] || "$BIN/wk-quantize" -q "$WORK/f16.gguf" "$WORK/$q.gguf" $q
done
# ids: BOS-free random ids below 32000, fixed seed; windows with BOS (1) first, as llama-perplexity
"$PY" -c "
import random, sys
random.seed(1); n, ctx, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
ids = [random.randrange(2, 32000) for _ in range(n)]
open(sys.argv[4], 'w').write(' '.join(map(str, [1] + ids[1:])))
w = [[1] + ids[c * ctx + 1:(c + 1) * ctx] for c in range(k)]
open(sys.argv[5], 'w').write('\n'.join(' '.join(map(str, x)) for x in w))
" $((CTX * CHUNKS)) "$CTX" "$CHUNKS" "$WORK/ids.txt" "$WORK/win.txt"

now() { date +%s.%N; }
secs() { local a b; a=$(now); "$@" >/dev/null 2>&1 || { echo "eval_bench: failed: $*" >&2; exit 1; }; b=$(now); echo "$b - $a" | bc -l; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

NT=$((CTX * CHUNKS))
echo "eval_bench: dim $DIM, $LAYERS layers, vocab 32000, $CHUNKS windows of $CTX, -j $THREADS, $REPS runs each"
printf '%-6s %12s %12s %8s  %s\n' type "wk-eval t/s" "llama t/s" ratio "load average"
for t in f16 q8_0 q4_0 q4_k; do
    W=() L=()
    cat "$WORK/$t.gguf" >/dev/null
    for _ in $(seq "$REPS"); do
        W+=("$(secs "$BIN/wk-eval" ppl "$WORK/$t.gguf" --tokens "$WORK/ids.txt" --ctx "$CTX" -j "$THREADS" -q)")
        L+=("$(secs "$WORK/harness" chunks "$WORK/$t.gguf" "$WORK/out.bin" "$CTX" "$WORK/win.txt" "$THREADS" half)")
    done
    mw=$(median "${W[@]}") ml=$(median "${L[@]}")
    printf '%-6s %12.1f %12.1f %8.2f  %s\n' "$t" "$(echo "$NT / $mw" | bc -l)" "$(echo "$NT / $ml" | bc -l)" \
        "$(echo "$ml / $mw" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
done
