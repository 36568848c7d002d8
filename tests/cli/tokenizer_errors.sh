#!/usr/bin/env bash
# wk-convert's fast tokenizer path on tokenizer.model files it cannot turn into tokenizer.json:
# a SentencePiece unigram model, a tiktoken file (Llama 3's tokenizer.model), a truncated
# protobuf (cut between fields or inside one).  Each must exit non-zero with one error naming the file and the reason (the model
# type for unigram, "tiktoken" for tiktoken), and leave no output directory.  Since issue 18 a
# tiktoken file converts (Llama 3: tokenizer.json etc., tests/peer/llama3_tokenizer.sh); what
# stays refused is asking for the slow LlamaTokenizer files from it (--slow-tokenizer).  --slow-tokenizer
# on the unigram model still writes the slow files (no tokenizer.json).  A valid BPE model with
# every JSON escape converts (tests/peer/spm_craft.py).  Needs only python3's standard library.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-tokerr.XXXXXX")}
PY=$(command -v python3 || echo /usr/bin/python3)
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "tokenizer_errors.sh: $BIN not built" >&2; exit 1; }

fail=0 n=0
EXTRA=()
ok() { n=$((n + 1)); echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

mkdir -p "$TMP/uni" "$TMP/tik" "$TMP/trunc" "$TMP/trunc2" "$TMP/bpe"
"$PY" "$SRC/tests/peer/spm_craft.py" "$TMP/uni/tokenizer.model" unigram || { echo "spm_craft.py failed"; exit 1; }
"$PY" "$SRC/tests/peer/spm_craft.py" "$TMP/bpe/tokenizer.model" || { echo "spm_craft.py failed"; exit 1; }
printf 'IQ== 0\nIg== 1\nIw== 2\nJA== 3\n' >"$TMP/tik/tokenizer.model"
# cut at a field boundary (a valid message without trainer_spec) and inside a field
head -c 300 "$SRC/tests/fixtures/models/tokenizer.model" >"$TMP/trunc/tokenizer.model"
head -c 305 "$SRC/tests/fixtures/models/tokenizer.model" >"$TMP/trunc2/tokenizer.model"

# refuse CASE WANT...: exit non-zero, stderr has the file name and every WANT, no output dir
refuse() {
    local c=$1; shift
    local rc=0
    "$BIN" --input_dir "$TMP/$c" --model_size tokenizer_only --output_dir "$TMP/$c.out" -q \
        ${EXTRA[@]+"${EXTRA[@]}"} 2>"$TMP/$c.err" || rc=$?
    if [ $rc -eq 0 ]; then bad "$c: wk-convert succeeded"; return; fi
    grep -qF "$TMP/$c/tokenizer.model" "$TMP/$c.err" || { bad "$c: error does not name the file: $(cat "$TMP/$c.err")"; return; }
    local w
    for w in "$@"; do
        grep -qF -- "$w" "$TMP/$c.err" || { bad "$c: error lacks \"$w\": $(cat "$TMP/$c.err")"; return; }
    done
    [ "$(wc -l <"$TMP/$c.err")" -eq 1 ] || { bad "$c: more than one error line: $(cat "$TMP/$c.err")"; return; }
    [ ! -e "$TMP/$c.out" ] || { bad "$c: output directory left behind"; return; }
    [ -z "$(ls -A "$TMP" | grep "^$c.out")" ] || { bad "$c: temporary output left behind"; return; }
    ok "$c: exit $rc, $(cat "$TMP/$c.err")"
}
refuse uni "model type unigram" "BPE" "--slow-tokenizer"
EXTRA=(--slow-tokenizer)
refuse tik "tiktoken" "--slow-tokenizer"
EXTRA=()
if "$BIN" --input_dir "$TMP/tik" --model_size tokenizer_only --output_dir "$TMP/tik.l3" -q &&
   [ "$(ls "$TMP/tik.l3" | tr '\n' ' ')" = "special_tokens_map.json tokenizer.json tokenizer_config.json " ] &&
   grep -q '"<|eot_id|>": 13' <(tr -d ' \n' <"$TMP/tik.l3/tokenizer.json" | sed 's/,/\n/g; s/"id":13/"<|eot_id|>": 13/') ; then
    ok "tiktoken file: the Llama 3 tokenizer files (special tokens from id 4)"
else bad "tiktoken file: Llama 3 tokenizer files"; fi
refuse trunc "no trainer_spec" "unigram"
refuse trunc2 "byte 302"

if "$BIN" --input_dir "$TMP/uni" --model_size tokenizer_only --output_dir "$TMP/uni.slow" -q --slow-tokenizer &&
   [ "$(ls "$TMP/uni.slow" | tr '\n' ' ')" = "special_tokens_map.json tokenizer.model tokenizer_config.json " ]; then
    ok "unigram with --slow-tokenizer: the three slow files"
else bad "unigram with --slow-tokenizer"; fi

if "$BIN" --input_dir "$TMP/bpe" --model_size tokenizer_only --output_dir "$TMP/bpe.out" -q &&
   grep -qF '"\u0001 \u0001"' "$TMP/bpe.out/tokenizer.json" && grep -qF '"q \""' "$TMP/bpe.out/tokenizer.json"; then
    ok "crafted BPE model: tokenizer.json with escaped merges"
else bad "crafted BPE model"; fi

[ $fail -eq 0 ] && echo "$n passed, 0 failed"
exit $fail
