#!/usr/bin/env bash
# The published hashes of a real conversion's tokenizer files (issue 16): wk-convert
# --model_size tokenizer_only on Meta's LLaMA tokenizer.model (../shared/data, sha256
# 9e556afd…) must give, byte for byte, what transformers + tokenizers 0.13.3 wrote:
#   default profile (4.28.0.dev0, fast path)  tokenizer.json f9ffc4ae…, tokenizer_config.json
#       380608719f…, special_tokens_map.json ff3b4a61…, tokenizer.model copied (9e556afd…)
#   --transformers-version 4.31.0 / 4.32.0     tokenizer.json 8eea70c4… (update_post_processor)
#   --slow-tokenizer                          no tokenizer.json; tokenizer_config.json the slow
#                                             file (model_max_length 1e30, 516c6167…)
#   --dry-run                                 lists tokenizer.json with its exact size (1842665)
# Mistral-7B-v0.1's tokenizer.model (also in ../shared/data) must convert too.
# Exit 77 with a message when the shared data is absent (tests/cli/_shared_data.sh).
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-tokhash.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "tokenizer_hashes.sh: $BIN not built" >&2; exit 1; }
. "$SRC/tests/cli/_shared_data.sh"
wk_shared_data || exit 77
DATA=$WK_DATA
[ -f "$DATA/llama-tokenizer.model" ] || { echo "tokenizer_hashes.sh: no llama-tokenizer.model in $DATA" >&2; exit 1; }

fail=0
check() { # FILE SHA256 WHAT
    local got
    got=$(sha256sum <"$1" | cut -d' ' -f1)
    if [ "$got" = "$2" ]; then echo "ok   $3"
    else echo "FAIL $3: sha256 $got, expected $2"; fail=1; fi
}

TOKM=9e556afd44213b6bd1be2b850ebbbd98f5481437a8021afaf58ee7fb1818d347
check "$DATA/llama-tokenizer.model" $TOKM "the shared llama-tokenizer.model is Meta's"
mkdir -p "$TMP/in"
cp "$DATA/llama-tokenizer.model" "$TMP/in/tokenizer.model"

conv() { # OUT ARGS...
    local out=$1; shift
    "$BIN" --input_dir "$TMP/in" --model_size tokenizer_only --output_dir "$out" -q "$@" \
        || { echo "FAIL wk-convert $* exited $?"; fail=1; }
}

conv "$TMP/o428"
check "$TMP/o428/tokenizer.json" f9ffc4aede0845ab65324ce5dccb823dca2427f9a0710981e5bc2398d73d8162 \
    "tokenizer.json, default profile (April 2023)"
check "$TMP/o428/tokenizer_config.json" 380608719f3af6ef2b343e2ed53bf55556678609337e88a14f58cc49177b9e18 \
    "tokenizer_config.json (fast path, model_max_length 2048)"
check "$TMP/o428/special_tokens_map.json" ff3b4a612c4e447acb02d40071bddd989fe0da87eb5b7fe0dbadfc4f74de7531 \
    "special_tokens_map.json"
check "$TMP/o428/tokenizer.model" $TOKM "tokenizer.model (copied)"
n=$(ls "$TMP/o428" | wc -l)
[ "$n" = 4 ] || { echo "FAIL tokenizer_only wrote $n files, expected 4"; fail=1; }

for v in 4.31.0 4.32.0; do
    conv "$TMP/o$v" --transformers-version $v
    check "$TMP/o$v/tokenizer.json" 8eea70c4866c4f1320ba096fc986ac82038a8374dbe135212ba7628835b4a6f1 \
        "tokenizer.json, transformers $v (update_post_processor template)"
done
conv "$TMP/o430" --transformers-version 4.30.2
check "$TMP/o430/tokenizer.json" f9ffc4aede0845ab65324ce5dccb823dca2427f9a0710981e5bc2398d73d8162 \
    "tokenizer.json, transformers 4.30.2 (before update_post_processor)"

conv "$TMP/slow" --slow-tokenizer
[ ! -e "$TMP/slow/tokenizer.json" ] || { echo "FAIL --slow-tokenizer wrote tokenizer.json"; fail=1; }
check "$TMP/slow/tokenizer_config.json" 516c6167c884793a738c440e29ccb80c15e1493ffc965affc69a1a8ddef4572a \
    "--slow-tokenizer: the slow tokenizer_config.json"

plan=$("$BIN" --input_dir "$TMP/in" --model_size tokenizer_only --dry-run 2>&1)
if grep -Eq '^ +1842665 +tokenizer\.json$' <<<"$plan"; then echo "ok   --dry-run lists tokenizer.json, 1842665 bytes"
else echo "FAIL --dry-run does not list tokenizer.json with 1842665 bytes:"; echo "$plan"; fail=1; fi
[ ! -e "$TMP/dry" ] || fail=1

if [ -f "$DATA/mistral-v0.1-tokenizer.model" ]; then
    mkdir -p "$TMP/mis"
    cp "$DATA/mistral-v0.1-tokenizer.model" "$TMP/mis/tokenizer.model"
    if "$BIN" --input_dir "$TMP/mis" --model_size tokenizer_only --output_dir "$TMP/omis" -q &&
       [ -s "$TMP/omis/tokenizer.json" ]; then echo "ok   Mistral v0.1 tokenizer.model converts"
    else echo "FAIL Mistral v0.1 tokenizer.model"; fail=1; fi
fi

[ $fail = 0 ] && echo "tokenizer_hashes.sh: all published hashes reproduced"
exit $fail
