#!/usr/bin/env bash
# eval_llama_cpp.sh — wk-eval ppl against the real llama.cpp (libllama from the npm peer) on the
# same GGUF files, the same token ids and the same context: PPL within 0.1 % for F16 and for
# every quant type wk-quantize writes (q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k q2_k q3_k iq4_nl
# iq4_xs, from the F16 GGUF of the tiny fixture; also tiny-gqa F16 and Q4_K and an F32 GGUF).
# llama.cpp's side: tests/peer/llama_harness.c `chunks` evaluates each window from position 0
# (flash attention off, F32 KV cache) and writes every position's logits; the PPL is computed
# from them by llama-perplexity's rules in tests/peer/eval_ppl_ref.py (the windows, with BOS
# first, are made there too).  ctx 128, 8 windows of the held-out text (tokenized by
# sentencepiece, BOS first).
# Exit 77 when the peer or Debian python3 with numpy/sentencepiece is unavailable.
set -euo pipefail
SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}/eval_llama_cpp
M=$SRC/tests/fixtures/models
PY=/usr/bin/python3
CTX=128
CHUNKS=8
rm -rf "$TMP" && mkdir -p "$TMP"
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
$PY -c "import numpy, sentencepiece" 2>/dev/null ||
    { echo "eval_llama_cpp: skipped: Debian python3 with numpy and sentencepiece needed" >&2; exit 77; }
[[ -f $M/tiny/params.json ]] || { echo "eval_llama_cpp: skipped: fixtures missing" >&2; exit 77; }
for t in wk-eval wk-pack wk-quantize; do [[ -x $BIN/$t ]] || { echo "FAIL: no $BIN/$t" >&2; exit 1; }; done
. "$SRC/tests/peer/_peer_lib.sh"
wk_llama_peer eval_llama_cpp
cc -std=c11 -O1 -Wall -o "$TMP/harness" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" || { echo "eval_llama_cpp: FAIL: cannot compile llama_harness.c" >&2; exit 1; }
export WK_LLAMA_LIBDIR=$LIBDIR

$PY -c "
import sentencepiece as spm, sys
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
ids = [sp.bos_id()] + sp.encode(open(sys.argv[2], encoding='utf-8').read())
open(sys.argv[3], 'w').write(' '.join(map(str, ids)))" "$M/tokenizer.model" "$M/heldout.txt" "$TMP/heldout.ids"

# check LABEL GGUF
check() {
    local ours bos ref
    ours=$("$BIN/wk-eval" ppl "$2" --tokens "$TMP/heldout.ids" --ctx $CTX --chunks $CHUNKS --json) ||
        { bad "$1: wk-eval ppl failed"; return; }
    bos=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['bos'])" "$ours")
    $PY "$SRC/tests/peer/eval_ppl_ref.py" windows "$TMP/heldout.ids" $CTX $CHUNKS "$bos" "$TMP/win.ids"
    "$TMP/harness" chunks "$2" "$TMP/llama.bin" $CTX "$TMP/win.ids" >/dev/null ||
        { bad "$1: llama.cpp failed on $2"; return; }
    ref=$($PY "$SRC/tests/peer/eval_ppl_ref.py" logits "$TMP/llama.bin" "$TMP/heldout.ids" $CTX $CHUNKS)
    if $PY - "$ours" "$ref" "$1" <<'PY'
import json, sys
o, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = abs(o["ppl"] - r["ppl"]) / r["ppl"]
print("%-14s %5.2f bpw  PPL %.5f  llama.cpp %.5f  rel %.2e  (+/- %.4f vs %.4f, %d scored)"
      % (sys.argv[3], o["bpw"], o["ppl"], r["ppl"], d, o["ppl_stderr"], r["ppl_stderr"], o["n_scored"]))
sys.exit(0 if d <= 1e-3 and o["n_scored"] == r["n_scored"] else 1)
PY
    then ok "$1: PPL within 0.1 % of llama.cpp's"; else bad "$1: PPL differs from llama.cpp's by more than 0.1 %"; fi
}

"$BIN/wk-pack" -q "$M/tiny" "$TMP/tiny-f16.gguf" --outtype f16
"$BIN/wk-pack" -q "$M/tiny" "$TMP/tiny-f32.gguf" --outtype f32
"$BIN/wk-pack" -q "$M/tiny-gqa" "$TMP/gqa-f16.gguf" --outtype f16
check "tiny f32" "$TMP/tiny-f32.gguf"
check "tiny f16" "$TMP/tiny-f16.gguf"
for q in q4_0 q4_1 q5_0 q5_1 q8_0 q4_k q5_k q6_k q2_k q3_k iq4_nl iq4_xs; do
    "$BIN/wk-quantize" -q "$TMP/tiny-f16.gguf" "$TMP/tiny-$q.gguf" $q || { bad "wk-quantize $q"; continue; }
    check "tiny $q" "$TMP/tiny-$q.gguf"
done
check "tiny-gqa f16" "$TMP/gqa-f16.gguf"
"$BIN/wk-quantize" -q "$TMP/gqa-f16.gguf" "$TMP/gqa-q4_k.gguf" q4_k && check "tiny-gqa q4_k" "$TMP/gqa-q4_k.gguf"
exit $fail
