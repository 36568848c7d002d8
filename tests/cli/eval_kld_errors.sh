#!/usr/bin/env bash
# CLI tests for wk-eval kld / imatrix: argument errors, base-logits files that are truncated,
# of another vocabulary or not base files at all, text too short, --ctx against the file's,
# outputs never over an input; the exit status of each (2 usage, 3 mismatch, 1 format).
# The statistics against llama.cpp are tests/peer/eval_kld.sh and eval_imatrix.sh.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
E="$WK_BIN_DIR/wk-eval"
PY=/usr/bin/python3
MODELS=$WK_SOURCE_DIR/tests/fixtures/models
[ -x "$PY" ] && $PY -c "import sentencepiece" 2>/dev/null ||
    { echo "eval_kld_errors.sh: skipped: $PY with sentencepiece needed" >&2; exit 77; }
[ -f "$MODELS/tiny/consolidated.00.pth" ] || { echo "eval_kld_errors.sh: skipped: no fixture models" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
# refused NAME STATUS PATTERN cmd...: fails with exit STATUS and PATTERN in its stderr
refused() {
    local name=$1 want=$2 pat=$3; shift 3
    "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" = "$want" ] && grep -q -- "$pat" err.txt; then ok "$name: $(head -c 160 err.txt)"
    else bad "$name: exit $rc (want $want), stderr: $(head -c 300 err.txt)"; fi
}

"$WK_BIN_DIR/wk-pack" -q "$MODELS/tiny" f16.gguf --outtype f16 --no-digest || { bad "wk-pack"; exit 1; }
# token ids (sentencepiece, BOS first: what llama.cpp gives, tests/peer/llama_cpp_logits.sh)
$PY - "$MODELS/tokenizer.model" "$MODELS/heldout.txt" <<'PY' || { bad "token ids"; exit 1; }
import sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
ids = [sp.bos_id()] + sp.encode(open(sys.argv[2], encoding="utf-8").read())
open("text.txt", "w").write(" ".join(map(str, ids)) + "\n")
open("short.txt", "w").write(" ".join(map(str, ids[:600])) + "\n")
PY
cp text.txt text.orig

refused "kld without arguments" 2 "expected BASE MODEL" "$E" kld
refused "kld BASE TEXT without --save-base" 2 "expected BASE MODEL" "$E" kld f16.gguf text.txt
refused "kld unknown option" 2 "unknown option --frobnicate" "$E" kld f16.gguf f16.gguf --tokens text.txt --frobnicate
refused "kld --ctx 2" 2 "--ctx 2" "$E" kld f16.gguf f16.gguf --tokens text.txt --ctx 2
refused "--save-base with --base-logits" 2 "together" "$E" kld --base-logits x --save-base y f16.gguf
refused "--svg with no model" 2 "no MODEL" "$E" kld f16.gguf --tokens text.txt --save-base b --svg s.svg
refused "--tokens with --base-logits" 2 "together" "$E" kld --base-logits x --tokens text.txt f16.gguf
refused "text shorter than 2 x ctx" 2 "short.txt: the text gives 600 tokens: at least 2 x 512" \
    "$E" kld f16.gguf f16.gguf --tokens short.txt
refused "--save-base over an input" 1 "refusing to write text.txt" \
    "$E" kld f16.gguf f16.gguf --tokens text.txt --ctx 64 --chunks 2 --save-base text.txt
cmp -s text.txt text.orig && ok "the input was not touched" || bad "--save-base overwrote the tokens"

# a good base file, then damaged copies
"$E" kld f16.gguf --tokens text.txt --ctx 64 --chunks 3 --save-base base.logits -q || bad "kld --save-base"
[ -s base.logits ] && ok "kld BASE TEXT --save-base: $(stat -c %s base.logits) bytes" || bad "no base.logits"
"$E" kld --base-logits base.logits f16.gguf --json -q > self.json || bad "kld --base-logits self"
$PY - self.json <<'PY' && ok "f16 against its own base file: KLD ~ 0, top-1 agreement 1" || bad "self KLD"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["n_ctx"] == 64 and j["n_chunks"] == 3 and j["n_scored"] == 3 * 31, j
assert abs(j["kld_mean"]) < 1e-4 and j["top1_agreement"] == 1 and abs(j["ppl"] / j["ppl_base"] - 1) < 1e-3, j
for k in ("ppl", "ppl_stderr", "n_scored", "n_ctx", "n_chunks", "ppl_base", "kld_mean", "kld_median",
          "kld_p99", "kld_max", "top1_agreement"):
    assert k in j, k
PY
size=$(stat -c %s base.logits)
head -c $((size - 100)) base.logits > trunc.logits
refused "truncated base file" 1 "trunc.logits: truncated at byte $((size - 100))" "$E" kld --base-logits trunc.logits f16.gguf
head -c 10 base.logits > hdr.logits
refused "truncated header" 1 "truncated header" "$E" kld --base-logits hdr.logits f16.gguf
refused "not a base file" 1 "not a base-logits file" "$E" kld --base-logits f16.gguf f16.gguf
$PY - base.logits vocab.logits <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
n_ctx, n_vocab, n_chunk = struct.unpack_from("<Iii", b, 8)
v = 7; s = 2 * ((v + 1) // 2) + 4; rows = n_ctx - 1 - n_ctx // 2
toks = [t % v for t in struct.unpack_from("<%di" % (n_ctx * n_chunk), b, 20)]
out = b[:8] + struct.pack("<Iii", n_ctx, v, n_chunk) + struct.pack("<%di" % len(toks), *toks) + bytes(2 * s * rows * n_chunk)
open(sys.argv[2], "wb").write(out)
PY
refused "base of another vocabulary" 3 "not the same vocabulary" "$E" kld --base-logits vocab.logits f16.gguf
refused "--ctx different from the base file's" 2 "computed with 64" "$E" kld --base-logits base.logits f16.gguf --ctx 128

refused "imatrix without -o" 2 "-o FILE" "$E" imatrix f16.gguf --tokens text.txt
refused "imatrix --output-format xyz" 2 "gguf or dat" "$E" imatrix f16.gguf --tokens text.txt -o x --output-format xyz
refused "imatrix text too short" 2 "at least 2 x 512" "$E" imatrix f16.gguf --tokens short.txt -o im.gguf
refused "imatrix -o over the model" 1 "refusing to write f16.gguf" \
    "$E" imatrix f16.gguf --tokens text.txt -o f16.gguf --ctx 64 --chunks 2
"$E" imatrix f16.gguf --tokens text.txt -o im.gguf --ctx 64 --chunks 2 -q && [ -s im.gguf ] && ok "imatrix -o im.gguf" ||
    bad "imatrix"
"$WK_BIN_DIR/wk-quantize" -q f16.gguf q4.gguf q4_k_m --imatrix im.gguf && ok "wk-quantize --imatrix reads it" ||
    bad "wk-quantize --imatrix im.gguf"

echo "eval_kld_errors.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
