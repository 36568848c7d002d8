#!/usr/bin/env bash
# llama_cpp_logits.sh — the real llama.cpp loads wk-pack's GGUF files and agrees with an
# independent reference forward pass (tests/fixtures/gen/reference_forward.py, torch float32,
# Meta's architecture) and with sentencepiece's tokenizer.
#
#   1. tests/peer/setup_llama_cpp.sh installs node-llama-cpp's prebuilt libllama (npm) and the
#      matching llama.h/ggml.h; tests/peer/llama_harness.c is compiled against them (here, not
#      by CMake).
#   2. wk-pack the committed tiny model (Meta layout, fp16) to F32 and F16 GGUF; tiny-gqa (bf16,
#      grouped-query attention, rope_theta 1e6) to F32 and BF16 GGUF; tiny-mp2 (two ranks) and
#      tiny-ft to F32 GGUF.
#   3. llama.cpp computes the logits of every position of the reference token sequence
#      (ref_logits.json) with flash attention off and an F32 KV cache.  Relative error =
#      max |llama - reference| / max |reference|; F32 must be <= 1e-3 (F16 is reported: llama.cpp
#      rounds activations to F16 for F16 weights).
#   4. llama.cpp's tokenization of sample text (ASCII, digits, runs of spaces, tabs, newlines,
#      non-ASCII through byte fallback) must equal [BOS] + sentencepiece's encode().
#   5. --chat-template metharme is stored and read back by llama.cpp unchanged.
# Exit 77 (skipped) if npm / the registry is unavailable or the fixtures are missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PACK_MODELS overrides the
# fixture directory; WK_PEERS_DIR the npm cache (default /opt/weightkit-peers).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=${WK_PACK_MODELS:-$SRC/tests/fixtures/models}
PY=/usr/bin/python3
mkdir -p "$TMP"

skip() { echo "llama_cpp_logits: SKIP: $*" >&2; exit 77; }
die() { echo "llama_cpp_logits: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -f $MODELS/tiny/ref_logits.json && -f $MODELS/tokenizer.model ]] ||
    skip "fixture models not present in $MODELS (tests/fixtures/gen/make_models.sh)"
[[ -x $PY ]] && $PY -c "import numpy, sentencepiece" 2>/dev/null ||
    skip "Debian python3 with numpy and sentencepiece needed (apt-get install python3-numpy python3-sentencepiece)"

wk_llama_peer llama_cpp_logits   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 77 / 1

HARNESS=$TMP/llama_harness
cc -std=c11 -O1 -Wall -o "$HARNESS" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" ||
    die "cannot compile the harness against $INCDIR"
export WK_LLAMA_LIBDIR=$LIBDIR

compare() {  # compare MODEL_DIR LOGITS_BIN LABEL MAX_REL(or -)
    $PY - "$1" "$2" "$3" "$4" <<'EOF'
import json, sys
import numpy as np
mdir, got_path, label, limit = sys.argv[1:]
info = json.load(open(mdir + "/ref_logits.json"))
ref = np.fromfile(mdir + "/ref_logits.bin", dtype="<f4").reshape(info["shape"])
got = np.fromfile(got_path, dtype="<f4")
if got.size != ref.size:
    sys.exit("%s: llama.cpp gave %d logits, reference %d" % (label, got.size, ref.size))
got = got.reshape(ref.shape)
rel = float(np.abs(got - ref).max() / np.abs(ref).max())
same_top = int((got.argmax(1) == ref.argmax(1)).sum())
print("%-22s relative error %.3e  (max abs %.3e, argmax equal at %d/%d positions)"
      % (label, rel, float(np.abs(got - ref).max()), same_top, ref.shape[0]))
if limit != "-" and not rel <= float(limit):
    sys.exit("%s: relative error %.3e exceeds %s" % (label, rel, limit))
EOF
}

logits() {  # logits GGUF MODEL_DIR LABEL LIMIT
    local toks
    toks=$($PY -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" \
        "$2/ref_logits.json")
    # shellcheck disable=SC2086
    "$HARNESS" logits "$1" "$TMP/logits.bin" $toks >/dev/null || die "llama.cpp failed on $1"
    compare "$2" "$TMP/logits.bin" "$3" "$4" || die "$3"
}

echo "== wk-pack"
"$BIN/wk-pack" -q "$MODELS/tiny" "$TMP/tiny-f32.gguf" --outtype f32
"$BIN/wk-pack" -q "$MODELS/tiny" "$TMP/tiny-f16.gguf" --outtype f16
"$BIN/wk-pack" -q "$MODELS/tiny" "$TMP/tiny-chat.gguf" --chat-template metharme

echo "== logits vs reference_forward.py (flash attention off, F32 KV cache)"
logits "$TMP/tiny-f32.gguf" "$MODELS/tiny" "tiny F32" 1e-3
logits "$TMP/tiny-f16.gguf" "$MODELS/tiny" "tiny F16 (report)" -
if [[ -f $MODELS/tiny-gqa/ref_logits.json ]]; then
    "$BIN/wk-pack" -q "$MODELS/tiny-gqa" "$TMP/gqa-f32.gguf" --outtype f32
    "$BIN/wk-pack" -q "$MODELS/tiny-gqa" "$TMP/gqa-bf16.gguf"
    logits "$TMP/gqa-f32.gguf" "$MODELS/tiny-gqa" "tiny-gqa F32" 1e-3
    logits "$TMP/gqa-bf16.gguf" "$MODELS/tiny-gqa" "tiny-gqa BF16 (report)" -
fi
if [[ -f $MODELS/tiny-mp2/ref_logits.json ]]; then
    "$BIN/wk-pack" -q "$MODELS/tiny-mp2" "$TMP/mp2-f32.gguf" --outtype f32
    logits "$TMP/mp2-f32.gguf" "$MODELS/tiny-mp2" "tiny-mp2 F32" 1e-3
fi

if [[ -f $MODELS/tiny-ft/ref_logits.json ]]; then
    "$BIN/wk-pack" -q "$MODELS/tiny-ft" "$TMP/ft-f32.gguf" --outtype f32
    logits "$TMP/ft-f32.gguf" "$MODELS/tiny-ft" "tiny-ft F32" 1e-3
fi

echo "== tokenizer: llama.cpp vs sentencepiece"
SAMPLE=$TMP/sample.txt
{
    head -c 3000 "$MODELS/heldout.txt" 2>/dev/null || true
    printf '\nNumbers 12345 and 3.14159; spaces:  two   three\ttab\n'
    printf 'Non-ASCII via byte fallback: caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x99\x82 \xe2\x80\x94 end\n'
    printf 'trailing spaces   \n\n\nlast line'
} >"$SAMPLE"
for m in tiny-f32 gqa-f32; do
    [[ -f $TMP/$m.gguf ]] || continue
    "$HARNESS" tokenize "$TMP/$m.gguf" "$SAMPLE" >"$TMP/llama.ids" || die "llama.cpp tokenize failed"
    $PY - "$MODELS/tokenizer.model" "$SAMPLE" "$TMP/llama.ids" "$m" <<'EOF' || die "tokenization differs"
import sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
text = open(sys.argv[2], encoding="utf-8").read()
want = [sp.bos_id()] + sp.encode(text)
got = [int(x) for x in open(sys.argv[3]).read().split()]
if got != want:
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    sys.exit("%s: llama.cpp %d tokens, sentencepiece %d; first difference at %d: %s vs %s"
             % (sys.argv[4], len(got), len(want), i, got[i:i + 5], want[i:i + 5]))
print("%-22s %d tokens, identical to sentencepiece (%d byte-fallback pieces)"
      % (sys.argv[4], len(got), sum(1 for t in got if sp.is_byte(t))))
EOF
done

echo "== tokenizer from tokenizer.json (no tokenizer.model): llama.cpp vs sentencepiece"
# The fixtures' model scores its first merge -0.0, which the HF converter drops (see
# docs/formats/tokenizer-json.md); a copy without zero-scored pieces is converted, its
# tokenizer.model removed, and wk-pack reads tokenizer.json (scores derived from the merges).
$PY "$SRC/tests/peer/spm_craft.py" --rescore "$MODELS/tokenizer.model" "$TMP/rescored.model"
rm -rf "$TMP/hf-tokjson"
"$BIN/wk-convert" -q "$MODELS/tiny" "$TMP/hf-tokjson" --tokenizer "$TMP/rescored.model"
rm "$TMP/hf-tokjson/tokenizer.model"
"$BIN/wk-pack" -q "$TMP/hf-tokjson" "$TMP/tokjson.gguf" --outtype f32
"$HARNESS" tokenize "$TMP/tokjson.gguf" "$SAMPLE" >"$TMP/llama.ids" || die "llama.cpp tokenize failed"
$PY - "$TMP/rescored.model" "$SAMPLE" "$TMP/llama.ids" <<'EOF' || die "tokenization from tokenizer.json differs"
import sys
import sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
text = open(sys.argv[2], encoding="utf-8").read()
want = [sp.bos_id()] + sp.encode(text)
got = [int(x) for x in open(sys.argv[3]).read().split()]
if got != want:
    i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    sys.exit("tokenizer.json GGUF: llama.cpp %d tokens, sentencepiece %d; first difference at %d: %s vs %s"
             % (len(got), len(want), i, got[i:i + 5], want[i:i + 5]))
print("%-22s %d tokens, identical to sentencepiece" % ("tokenizer.json vocab", len(got)))
EOF

echo "== chat template"
"$HARNESS" template "$TMP/tiny-chat.gguf" >"$TMP/tmpl.txt" || die "llama.cpp reads no chat template"
$PY - "$TMP/tmpl.txt" <<'EOF' || die "chat template differs"
import sys
t = open(sys.argv[1], encoding="utf-8").read().rstrip("\n")
for tag in ("<|system|>", "<|user|>", "<|model|>", "add_generation_prompt"):
    assert tag in t, tag
print("metharme template      %d bytes, read back by llama.cpp" % len(t))
EOF
# Render it with the Jinja implementation that ships with node-llama-cpp (@huggingface/jinja,
# the one transformers.js uses): the system prompt goes first, roles as Metharme marks them.
NM=$(dirname "$(dirname "$(dirname "$(dirname "$LIBDIR")")")")
if command -v node >/dev/null 2>&1 && [[ -d $NM/@huggingface/jinja ]]; then
    got=$(node - "$NM" "$TMP/tmpl.txt" <<'EOF'
const { Template } = require(process.argv[2] + "/@huggingface/jinja");
const src = require("fs").readFileSync(process.argv[3], "utf8").replace(/\n$/, "");
process.stdout.write(new Template(src).render({
  messages: [{ role: "user", content: "Hi" }, { role: "system", content: "Enter RP mode." },
             { role: "assistant", content: "Hello!" }, { role: "user", content: "How are you?" }],
  add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>" }));
EOF
)
    want='<|system|>Enter RP mode.<|user|>Hi<|model|>Hello!<|user|>How are you?<|model|>'
    [[ $got == "$want" ]] || die "metharme template renders as '$got', expected '$want'"
    echo "metharme rendering     $got"
fi
echo "llama_cpp_logits: OK"
