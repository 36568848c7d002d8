#!/usr/bin/env bash
# tokenize_spm.sh — wk_tokenize's SentencePiece BPE encoder (formats/tokenizer/wk_tok_spm.c)
# against the real sentencepiece (Debian python3-sentencepiece) and the real llama.cpp
# (llama_tokenize, npm peer), on Meta's LLaMA tokenizer.model and Mistral's (shared data).
#
#   For each tokenizer.model: a tiny random model directory with it (bpe_tiny_model.py, 32000
#   rows) is packed by wk-pack; on every text of the corpus — the committed multilingual.txt and
#   stress.txt and the edge cases written here (empty text, lone/leading/trailing spaces and
#   runs, newlines and CR LF, tabs, digits, emoji and ZWJ sequences, CJK, combining marks,
#   "<s>"/"<0x41>"-like literals, U+2581 itself, NUL, private-use and U+10FFFF, ...):
#     wk_tok_encode on the GGUF (its add_bos) = llama.cpp's llama_tokenize(add_special) =
#     wk_tok_encode on the directory (tokenizer.model) = [bos] + sentencepiece's encode.
#   Invalid UTF-8 is refused with the byte offset.
# Exit 77 when the shared data, python3-sentencepiece or the llama.cpp peer is missing.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/tests/peer/_peer_lib.sh"
wk_peer_start tokenize_spm   # BIN, TMP, PY, skip, die
ENC=$BIN/../tests/wk_tok_encode
. "$SRC/tests/cli/_shared_data.sh"

[[ -x $BIN/wk-pack && -x $ENC ]] || skip "wk-pack / tests/wk_tok_encode not built"
wk_shared_data || exit 77
$PY -c "import sentencepiece, numpy" 2>/dev/null || skip "Debian python3-sentencepiece / numpy needed"
wk_llama_peer tokenize_spm
HARNESS=$TMP/llama_harness
wk_llama_harness "$HARNESS" || die "cannot compile the harness against $INCDIR"

# the corpus: edge cases, one file each, plus the committed multilingual texts
$PY "$SRC/tests/peer/tokenize_corpus.py" "$TMP/corpus" || die "tokenize_corpus.py"
cp "$SRC/tests/fixtures/tokenizers/multilingual.txt" "$SRC/tests/fixtures/tokenizers/stress.txt" "$TMP/corpus/"
n_texts=$(ls "$TMP/corpus" | wc -l)

for name in llama-tokenizer.model mistral-v0.1-tokenizer.model; do
    model=$WK_DATA/$name
    [[ -f $model ]] || { echo "tokenize_spm: $model absent: skipped" >&2; continue; }
    d=$TMP/${name%.model}
    $PY "$SRC/tests/peer/bpe_tiny_model.py" "$d" 32000 || die "$name: tiny model"
    cp "$model" "$d/tokenizer.model"
    "$BIN/wk-pack" -q "$d" "$d.gguf" || die "$name: wk-pack"
    [[ $("$ENC" info gguf "$d.gguf") == "spm 32000 1 1" ]] || die "$name: info: $("$ENC" info gguf "$d.gguf")"
    # sentencepiece's ids, one line per text (same order as the loop below)
    $PY - "$model" "$TMP/corpus" >"$TMP/sp.txt" <<'PYEOF' || die "$name: sentencepiece"
import os, sys, sentencepiece as spm
p = spm.SentencePieceProcessor(model_file=sys.argv[1])
for f in sorted(os.listdir(sys.argv[2])):
    t = open(os.path.join(sys.argv[2], f), encoding="utf-8", newline="").read()
    print(" ".join(map(str, [p.bos_id()] + p.encode(t))))
PYEOF
    TEXTS=()
    for f in $(ls "$TMP/corpus" | sort); do TEXTS+=("$TMP/corpus/$f"); done
    mapfile -t SP <"$TMP/sp.txt"
    mapfile -t A < <("$ENC" gguf "$d.gguf" "${TEXTS[@]}") || die "$name: wk_tok_encode (gguf)"
    mapfile -t B < <("$HARNESS" tokenize-each "$d.gguf" "${TEXTS[@]}") || die "$name: llama.cpp tokenize"
    mapfile -t C < <("$ENC" dir "$d" "${TEXTS[@]}") || die "$name: wk_tok_encode (dir)"
    [[ ${#A[@]} -eq $n_texts && ${#B[@]} -eq $n_texts && ${#C[@]} -eq $n_texts && ${#SP[@]} -eq $n_texts ]] ||
        die "$name: ${#A[@]}/${#B[@]}/${#C[@]}/${#SP[@]} lines of ids for $n_texts texts"
    n=0
    for i in "${!TEXTS[@]}"; do
        f=$(basename "${TEXTS[$i]}")
        [[ ${A[$i]} == "${B[$i]}" ]] || { echo "ours:      ${A[$i]}" >&2; echo "llama.cpp: ${B[$i]}" >&2; die "$name: $f: ids differ from llama.cpp"; }
        [[ ${A[$i]} == "${C[$i]}" ]] || die "$name: $f: directory ids differ from the GGUF's"
        [[ ${A[$i]} == "${SP[$i]}" ]] || { echo "ours:          ${A[$i]}" >&2; echo "sentencepiece: ${SP[$i]}" >&2; die "$name: $f: ids differ from sentencepiece"; }
        n=$((n + $(wc -w <<<"${A[$i]}")))
    done
    echo "ok - $name: $n_texts texts, $n ids: ours (GGUF and directory) = llama.cpp = sentencepiece"
    [[ $("$ENC" --nobos gguf "$d.gguf" "$TMP/corpus/e00.txt") == "" ]] || die "$name: empty text without BOS is not empty"
    printf 'ok \xff then' >"$TMP/bad.txt"
    if out=$("$ENC" gguf "$d.gguf" "$TMP/bad.txt" 2>&1); then die "$name: invalid UTF-8 accepted: $out"; fi
    [[ $out == *"byte 3: invalid UTF-8"* ]] || die "$name: invalid UTF-8: message '$out' does not name byte 3"
    echo "ok - $name: invalid UTF-8 refused at its byte offset"
done
echo "tokenize_spm: OK"
