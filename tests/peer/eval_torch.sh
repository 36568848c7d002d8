#!/usr/bin/env bash
# eval_torch.sh — wk-eval's forward pass against torch references (Debian python3-torch):
#   1. logits of every position, max |ours - ref| / max |ref| <= 1e-4:
#      - the Meta fixtures (tiny fp16, tiny-gqa bf16 GQA rope_theta 1e6, tiny-mp2 two ranks merged,
#        tiny-ft) read as Meta directories, against their committed ref_logits.bin
#        (tests/fixtures/gen/reference_forward.py, torch float32, Meta's interleaved rotary);
#      - the same models as GGUF (wk-pack: F32, F16; tiny-gqa BF16) and as an HF directory
#        (wk-convert: half-split rotary) against the same references;
#      - the architecture fixtures (Llama 3.1 with llama3 rope scaling, tied, Mistral, Mistral with
#        head_dim, Qwen2 with q/k/v biases, tied Qwen2) as HF directories, one safetensors file, and
#        F32 GGUF (wk-pack), against tests/peer/hf_arch_ref.py (transformers' formulas);
#   2. perplexity by llama-perplexity's rules within 0.01 % of tests/peer/eval_ppl_ref.py's over
#      the same torch forward (ctx 128, 4 windows of the held-out text): tiny as Meta, HF and F32
#      GGUF; llama31 and qwen2 (no BOS) as HF directories.
# Exit 77 when Debian python3 with torch / numpy / sentencepiece is missing.
set -euo pipefail
SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}/eval_torch
M=$SRC/tests/fixtures/models
A=$M/arch
PY=/usr/bin/python3
rm -rf "$TMP" && mkdir -p "$TMP"
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
$PY -c "import torch, numpy, sentencepiece" 2>/dev/null ||
    { echo "eval_torch: skipped: Debian python3 with torch, numpy and sentencepiece needed" >&2; exit 77; }
[[ -f $M/tiny/ref_logits.bin && -d $A/qwen2 ]] || { echo "eval_torch: skipped: fixtures missing" >&2; exit 77; }
for t in wk-eval wk-pack wk-convert; do [[ -x $BIN/$t ]] || { echo "FAIL: no $BIN/$t" >&2; exit 1; }; done

rel() { $PY - "$1" "$2" <<'PY'
import sys, numpy as np
a = np.fromfile(sys.argv[1], "<f4"); b = np.fromfile(sys.argv[2], "<f4")
print("%.3e" % (np.abs(a - b).max() / np.abs(b).max()) if a.size == b.size and a.size else "size")
PY
}
le() { $PY -c "import sys; sys.exit(0 if sys.argv[1] != 'size' and float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }
# check_logits LABEL MODEL IDS REF.bin
check_logits() {
    local r
    if ! "$BIN/wk-eval" logits -q "$2" --tokens "$3" -o "$TMP/out.bin"; then bad "$1: wk-eval failed"; return; fi
    r=$(rel "$TMP/out.bin" "$4")
    if le "$r" 1e-4; then ok "$1 logits: relative error $r <= 1e-4"; else bad "$1 logits: relative error $r > 1e-4"; fi
}

echo "== Meta fixtures and their GGUF / HF forms vs reference_forward.py"
for m in tiny tiny-gqa tiny-mp2 tiny-ft; do
    $PY -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" \
        "$M/$m/ref_logits.json" >"$TMP/$m.ids"
    check_logits "$m (Meta dir)" "$M/$m" "$TMP/$m.ids" "$M/$m/ref_logits.bin"
done
"$BIN/wk-pack" -q "$M/tiny" "$TMP/tiny-f32.gguf" --outtype f32
"$BIN/wk-pack" -q "$M/tiny" "$TMP/tiny-f16.gguf" --outtype f16
"$BIN/wk-pack" -q "$M/tiny-gqa" "$TMP/gqa-bf16.gguf"
"$BIN/wk-pack" -q "$M/tiny-mp2" "$TMP/mp2-f32.gguf" --outtype f32
"$BIN/wk-convert" -q "$M/tiny" "$TMP/tiny-hf"
"$BIN/wk-convert" -q "$M/tiny-gqa" "$TMP/gqa-hf"
check_logits "tiny F32 GGUF" "$TMP/tiny-f32.gguf" "$TMP/tiny.ids" "$M/tiny/ref_logits.bin"
check_logits "tiny F16 GGUF" "$TMP/tiny-f16.gguf" "$TMP/tiny.ids" "$M/tiny/ref_logits.bin"
check_logits "tiny-gqa BF16 GGUF" "$TMP/gqa-bf16.gguf" "$TMP/tiny-gqa.ids" "$M/tiny-gqa/ref_logits.bin"
check_logits "tiny-mp2 F32 GGUF" "$TMP/mp2-f32.gguf" "$TMP/tiny-mp2.ids" "$M/tiny-mp2/ref_logits.bin"
check_logits "tiny HF dir" "$TMP/tiny-hf" "$TMP/tiny.ids" "$M/tiny/ref_logits.bin"
check_logits "tiny-gqa HF dir" "$TMP/gqa-hf" "$TMP/tiny-gqa.ids" "$M/tiny-gqa/ref_logits.bin"

echo "== architecture fixtures vs hf_arch_ref.py (transformers' formulas)"
TOKS="1 $(seq -s ' ' 7 10 477)"
echo "$TOKS" >"$TMP/arch.ids"
for m in llama31 llama31-tied mistral mistral-hd qwen2 qwen2-tied; do
    # shellcheck disable=SC2086
    $PY "$SRC/tests/peer/hf_arch_ref.py" logits "$A/$m" "$TMP/$m-ref.bin" $TOKS >/dev/null
    check_logits "$m (HF dir)" "$A/$m" "$TMP/arch.ids" "$TMP/$m-ref.bin"
    "$BIN/wk-pack" -q "$A/$m" "$TMP/$m.gguf" --outtype f32 --vocab "$M/tokenizer.model"
    check_logits "$m F32 GGUF" "$TMP/$m.gguf" "$TMP/arch.ids" "$TMP/$m-ref.bin"
done
check_logits "qwen2 (one safetensors file)" "$A/qwen2/model.safetensors" "$TMP/arch.ids" "$TMP/qwen2-ref.bin"

echo "== perplexity vs the torch reference (ctx 128, 4 windows)"
$PY -c "
import sentencepiece as spm, sys
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
ids = [sp.bos_id()] + sp.encode(open(sys.argv[2], encoding='utf-8').read())
open(sys.argv[3], 'w').write(' '.join(map(str, ids)))" "$M/tokenizer.model" "$M/heldout.txt" "$TMP/heldout.ids"
# check_ppl LABEL MODEL HF_DIR_FOR_TORCH
check_ppl() {
    local ours bos ref
    ours=$("$BIN/wk-eval" ppl "$2" --tokens "$TMP/heldout.ids" --ctx 128 --chunks 4 --json) ||
        { bad "$1: wk-eval ppl failed"; return; }
    bos=$($PY -c "import json,sys; print(json.loads(sys.argv[1])['bos'])" "$ours")
    ref=$($PY "$SRC/tests/peer/eval_ppl_ref.py" torch "$3" "$TMP/heldout.ids" 128 4 "$bos")
    if $PY - "$ours" "$ref" "$1" <<'PY'
import json, sys
o, r = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = abs(o["ppl"] - r["ppl"]) / r["ppl"]
ds = abs(o["ppl_stderr"] - r["ppl_stderr"]) / r["ppl_stderr"]
print("%s: PPL %.6f vs torch %.6f (rel %.2e), +/- %.5f vs %.5f, %d vs %d scored"
      % (sys.argv[3], o["ppl"], r["ppl"], d, o["ppl_stderr"], r["ppl_stderr"], o["n_scored"], r["n_scored"]))
sys.exit(0 if d <= 1e-4 and ds <= 1e-3 and o["n_scored"] == r["n_scored"] else 1)
PY
    then ok "$1 PPL within 0.01 % of torch"; else bad "$1 PPL differs from torch by more than 0.01 %"; fi
}
check_ppl "tiny (Meta dir)" "$M/tiny" "$TMP/tiny-hf"
check_ppl "tiny (HF dir)" "$TMP/tiny-hf" "$TMP/tiny-hf"
check_ppl "tiny (F32 GGUF)" "$TMP/tiny-f32.gguf" "$TMP/tiny-hf"
check_ppl "tiny-gqa (BF16 GGUF)" "$TMP/gqa-bf16.gguf" "$TMP/gqa-hf"
check_ppl "llama31 (HF, llama3 rope)" "$A/llama31" "$A/llama31"
check_ppl "qwen2 (HF)" "$A/qwen2" "$A/qwen2"
exit $fail
