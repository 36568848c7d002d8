#!/usr/bin/env bash
# quant_imatrix.sh — what an importance matrix buys wk-quantize --search on the tiny fixture
# model, with a real llama.cpp imatrix statistic (bench/quant_imatrix_collect.c: libllama's
# eval callback, as llama-imatrix, which the npm package does not ship).  The held-out text is
# split at a line break near 40%: the first part calibrates the imatrix, the rest is evaluated.
# Prints the importance-weighted error of Q4_0/Q5_0 (reference, --search, --search --imatrix;
# bench/quant_imatrix_err.c) and llama.cpp's perplexity on the evaluation part for F16, Q4_0
# and Q4_K_M, each plain, --search and --search --imatrix.
#
#   bench/quant_imatrix.sh [BUILD_DIR]     (default: build; needs bin/wk-pack, bin/wk-quantize)
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
B=$BUILD/bin
M=$SRC/tests/fixtures/models
. "$SRC/tests/peer/_peer_lib.sh"
wk_src_includes "$SRC"
wk_llama_peer_bench quant_imatrix   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 1
export WK_LLAMA_LIBDIR=$LIBDIR
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
LL=(-I"$INCDIR" -I"$GGML_INCDIR" "${WK_LLAMA_LINK[@]}" -lm)
cc -std=c11 -O2 -o "$T/collect" "$SRC/bench/quant_imatrix_collect.c" "${LL[@]}"
cc -std=c11 -O2 -o "$T/peer" "$SRC/tests/peer/llama_quantize_peer.c" "${LL[@]}"
cc -std=c11 -O2 -fopenmp "${WK_INC[@]}" -o "$T/err" "$SRC/bench/quant_imatrix_err.c" \
   "$BUILD/libweightkit.a" $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm
/usr/bin/python3 - "$M/heldout.txt" "$T" <<'PY'
import sys
t = open(sys.argv[1]).read(); c = t.rfind("\n", 0, int(len(t) * 0.4)) + 1
open(sys.argv[2] + "/calib.txt", "w").write(t[:c]); open(sys.argv[2] + "/eval.txt", "w").write(t[c:])
PY
cd "$T"
"$B/wk-pack" "$M/tiny" t16.gguf --outtype f16 --no-digest -q
./collect t16.gguf calib.txt imatrix.gguf 2>/dev/null
echo "## importance-weighted error (tiny model, matrices the imatrix covers)"
./err t16.gguf imatrix.gguf
echo "## perplexity on the evaluation part (n_ctx 128)"
./peer ppl t16.gguf eval.txt 128 x.logits | sed 's/^/f16 /'
for t in q4_0 q4_k_m; do
    "$B/wk-quantize" t16.gguf a.gguf $t -q
    "$B/wk-quantize" t16.gguf b.gguf $t -q --search
    "$B/wk-quantize" t16.gguf c.gguf $t -q --search --imatrix imatrix.gguf
    echo "$t $(./peer ppl a.gguf eval.txt 128 x.logits)"
    echo "$t --search $(./peer ppl b.gguf eval.txt 128 x.logits)"
    echo "$t --search --imatrix $(./peer ppl c.gguf eval.txt 128 x.logits)"
done
