#!/usr/bin/env bash
# tokenize_bench.sh — wk_tokenize's encoders against llama.cpp's llama_tokenize, same GGUF, same
# text, one thread, side by side.
#
#   bash bench/tokenize_bench.sh [BUILD_DIR] [GGUF...]      (default build; GGUFs: see below)
#
# The text: docs/*.md (English prose, tables, code) followed by the multilingual test texts,
# cut to at most 1000000 bytes at a character boundary.  Each GGUF is timed BENCH_RUNS times (default 5),
# ours (tests/wk_tok_encode --repeat) and llama.cpp's (tests/peer/llama_harness.c tokenize-time)
# alternating, each run encoding the text BENCH_REPS times (default 3, model load excluded);
# prints MB/s medians, the ratio and the load average.  GGUFs given or, by default, those
# tests/peer/tokenize_spm.sh and tokenize_bpe.sh left under build/tmp (LLaMA, Llama 3, Qwen3).
# Needs the llama.cpp npm peer (tests/peer/setup_llama_cpp.sh) and a non-sanitizer build.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
shift || true
RUNS=${BENCH_RUNS:-5}
REPS=${BENCH_REPS:-3}
ENC=$BUILD/tests/wk_tok_encode
. "$ROOT/tests/peer/_peer_lib.sh"
wk_llama_peer_bench tokenize_bench
wk_bench_lib tokenize_bench "$BUILD"
[[ -x $ENC ]] || { echo "tokenize_bench: no $ENC (build first)" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wk-tok-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cc -std=c11 -O2 -Wall -o "$WORK/harness" "$ROOT/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}"
export WK_LLAMA_LIBDIR=$LIBDIR
cat "$ROOT"/docs/*.md "$ROOT"/tests/fixtures/tokenizers/*.txt >"$WORK/all.txt"
/usr/bin/python3 -c '
import sys
b = open(sys.argv[1], "rb").read()[:1000000]
open(sys.argv[2], "wb").write(b.decode("utf-8", "ignore").encode("utf-8"))' "$WORK/all.txt" "$WORK/text.txt"
T=$BUILD/tmp
GGUFS=("$@")
[[ ${#GGUFS[@]} -gt 0 ]] || GGUFS=("$T/peer.tokenize_spm/tokenize_spm/llama-tokenizer.gguf"
                                   "$T/peer.tokenize_bpe/tokenize_bpe/tokenizer-llama3_1.gguf"
                                   "$T/peer.tokenize_bpe/tokenize_bpe/tokenizer-qwen3.gguf")
mbs() { awk '{ printf "%.2f", $1 / $3 / 1e6 }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "text: $(wc -c <"$WORK/text.txt") bytes; $RUNS runs x $REPS encodes; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '| vocabulary | ids | wk_tokenize MB/s | llama.cpp MB/s | ratio |\n|---|---|---|---|---|\n'
for g in "${GGUFS[@]}"; do
    [[ -f $g ]] || { echo "tokenize_bench: $g absent (run the tokenize peer tests first): skipped" >&2; continue; }
    ours=() theirs=() n=
    for ((r = 0; r < RUNS; r++)); do
        o=$("$ENC" --repeat "$REPS" gguf "$g" "$WORK/text.txt")
        l=$("$WORK/harness" tokenize-time "$g" "$WORK/text.txt" "$REPS")
        ours+=("$(mbs <<<"$o")")
        theirs+=("$(mbs <<<"$l")")
        n=$(awk -v r="$REPS" '{ print $2 / r }' <<<"$o")
    done
    a=$(printf '%s\n' "${ours[@]}" | median)
    b=$(printf '%s\n' "${theirs[@]}" | median)
    printf '| %s (%s) | %s | %s | %s | %.2f |\n' "$(basename "$g" .gguf)" \
        "$("$ENC" info gguf "$g" | cut -d' ' -f1)" "$n" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
