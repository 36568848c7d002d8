#!/usr/bin/env bash
# wk-convert on bad inputs and options: each case must exit non-zero, print one error that
# names the offending file / tensor / option, and leave nothing at the output path (no output
# directory, no temporary directory next to it).  Cases that need a tensor rewritten use
# Debian's torch and are skipped without it; with neither fixtures nor torch: exit 77.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
PY=/usr/bin/python3
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-convert-err.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "convert_errors.sh: $BIN not built" >&2; exit 1; }
have_torch=0
"$PY" -c "import torch" 2>/dev/null && have_torch=1

FIX=$SRC/tests/fixtures/models
M=$TMP/src
mkdir -p "$M"
if [ -f "$FIX/tiny-mp2/params.json" ] && [ -f "$FIX/tiny-gqa/params.json" ]; then
    cp "$FIX/tokenizer.model" "$M/"
    for m in tiny-mp2 tiny-gqa; do
        mkdir -p "$M/$m"
        cp "$FIX/$m/params.json" "$FIX/$m"/consolidated.*.pth "$M/$m/"
    done
elif [ $have_torch = 1 ]; then
    head -c 2048 /dev/urandom >"$M/tokenizer.model"
    "$PY" "$SRC/tests/peer/convert_ref.py" synth "$M/tiny-mp2" --dim 256 --layers 2 --heads 4 \
        --vocab 512 --ranks 2 --share-layer-storage
    "$PY" "$SRC/tests/peer/convert_ref.py" synth "$M/tiny-gqa" --dim 256 --layers 2 --heads 4 \
        --kv-heads 2 --vocab 512 --dtype bf16
else
    echo "convert_errors.sh: skipped: no fixtures in $FIX and no torch to make a model" >&2
    exit 77
fi

fail=0
n=0
# expect NAME MODEL_DIR "needle1|needle2..." [extra options]: must fail, stderr must contain
# every needle, nothing at $TMP/out.NAME.
expect() {
    local name=$1 model=$2 needles=$3
    shift 3
    local out=$TMP/out.$name
    n=$((n + 1))
    "$BIN" "$model" "$out" "$@" >"$TMP/$name.stdout" 2>"$TMP/$name.stderr"
    local rc=$?
    if [ $rc -eq 0 ]; then
        echo "FAIL $name: exit 0" >&2
        fail=1
    fi
    local IFS='|' s
    for s in $needles; do
        grep -qF -- "$s" "$TMP/$name.stderr" ||
            { echo "FAIL $name: stderr lacks \"$s\": $(cat "$TMP/$name.stderr")" >&2; fail=1; }
    done
    if [ -e "$out" ] || ls -a "$TMP" | grep -q "^\.out\.$name\.wk-tmp"; then
        echo "FAIL $name: something was left at the output path" >&2
        fail=1
    fi
    [ "$(wc -l <"$TMP/$name.stderr")" -eq 1 ] ||
        { echo "FAIL $name: expected one error line, got: $(cat "$TMP/$name.stderr")" >&2; fail=1; }
    echo "ok $name (exit $rc): $(cat "$TMP/$name.stderr")"
}

# variant NAME SRC: a fresh copy of model SRC as $TMP/NAME (printed)
variant() {
    rm -rf "$TMP/$1"
    cp -r "$M/$2" "$TMP/$1"
    cp "$M/tokenizer.model" "$TMP/$1/"
    echo "$TMP/$1"
}

# ---- ranks --------------------------------------------------------------------------------
d=$(variant missing-rank tiny-mp2); rm "$d/consolidated.01.pth"
expect missing-rank "$d" "tok_embeddings.weight|missing or extra rank file"
d=$(variant gap-rank tiny-mp2); mv "$d/consolidated.01.pth" "$d/consolidated.02.pth"
expect gap-rank "$d" "consolidated.01.pth is missing"
d=$(variant extra-rank tiny-mp2); cp "$d/consolidated.01.pth" "$d/consolidated.02.pth"
expect extra-rank "$d" "consolidated.00..02.pth|missing or extra rank file"
d=$(variant no-rank tiny-mp2); rm "$d"/consolidated.*.pth
expect no-rank "$d" "no consolidated.NN.pth"
d=$(variant bad-rank-name tiny-mp2); mv "$d/consolidated.01.pth" "$d/consolidated.1.pth"
expect bad-rank-name "$d" "consolidated.1.pth"

# ---- params.json against the tensors ----------------------------------------------------------
d=$(variant params-dim tiny-mp2); sed -i 's/"dim": 256/"dim": 512/' "$d/params.json"
expect params-dim "$d" "params.json|dim 512 contradicts|norm.weight"
d=$(variant params-layers tiny-mp2); sed -i 's/"n_layers": 2/"n_layers": 3/' "$d/params.json"
expect params-layers "$d" "consolidated.00.pth|missing tensor \"layers.2."
d=$(variant params-layers-less tiny-mp2); sed -i 's/"n_layers": 2/"n_layers": 1/' "$d/params.json"
expect params-layers-less "$d" "consolidated.00.pth|\"layers.1.|n_layers = 1"
d=$(variant params-kv tiny-gqa); sed -i 's/"n_kv_heads": 2/"n_kv_heads": 4/' "$d/params.json"
expect params-kv "$d" "params.json|n_kv_heads 4 contradicts|wk.weight"
d=$(variant params-vocab tiny-mp2); sed -i 's/"vocab_size": -1/"vocab_size": 32000/' "$d/params.json"
expect params-vocab "$d" "params.json|vocab_size 32000|tok_embeddings.weight"
d=$(variant params-ffn tiny-mp2); sed -i 's/"multiple_of": 256/"multiple_of": 1024/' "$d/params.json"
expect params-ffn "$d" "params.json|FFN size|w1.weight"
d=$(variant params-broken tiny-mp2); echo '{"dim": 256,' >"$d/params.json"
expect params-broken "$d" "params.json"
d=$(variant params-missing tiny-mp2); rm "$d/params.json"
expect params-missing "$d" "params.json"

# ---- damaged rank files --------------------------------------------------------------------------
d=$(variant truncated tiny-mp2); truncate -s 1000000 "$d/consolidated.01.pth"
expect truncated "$d" "consolidated.01.pth"
d=$(variant garbage tiny-mp2); head -c 5000 /dev/zero >"$d/consolidated.00.pth"
expect garbage "$d" "consolidated.00.pth"
if [ $have_torch = 1 ]; then
    d=$(variant shape-disagree tiny-mp2)
    "$PY" - "$d/consolidated.01.pth" <<'EOF'
import sys, torch
sd = torch.load(sys.argv[1])
sd["layers.1.feed_forward.w1.weight"] = sd["layers.1.feed_forward.w1.weight"][:-8].clone()
torch.save(sd, sys.argv[1])
EOF
    expect shape-disagree "$d" "shape disagreement|layers.1.feed_forward.w1.weight|consolidated.01.pth"
    d=$(variant unknown-key tiny-mp2)
    "$PY" - "$d/consolidated.00.pth" <<'EOF'
import sys, torch
sd = torch.load(sys.argv[1])
sd["layers.0.attention.wqkv.weight"] = torch.zeros(4, dtype=torch.float16)
torch.save(sd, sys.argv[1])
EOF
    expect unknown-key "$d" "consolidated.00.pth|unknown tensor \"layers.0.attention.wqkv.weight\""
    d=$(variant bad-dtype tiny-mp2)
    "$PY" - "$d/consolidated.00.pth" <<'EOF'
import sys, torch
sd = torch.load(sys.argv[1])
sd["norm.weight"] = sd["norm.weight"].to(torch.int32)
torch.save(sd, sys.argv[1])
EOF
    expect bad-dtype "$d" "consolidated.00.pth|norm.weight|int32"
else
    echo "convert_errors.sh: torch missing: skipping the shape / unknown key / dtype cases" >&2
fi

# ---- tokenizer, output path, options -------------------------------------------------------------
d=$(variant no-tokenizer tiny-mp2); rm "$d/tokenizer.model"
mkdir -p "$TMP/isolated" && mv "$d" "$TMP/isolated/" && d=$TMP/isolated/no-tokenizer
expect no-tokenizer "$d" "tokenizer.model not found"
d=$(variant out-exists tiny-mp2)
mkdir -p "$TMP/out.exists" && echo keep >"$TMP/out.exists/file"
"$BIN" "$d" "$TMP/out.exists" 2>"$TMP/out-exists.stderr" && { echo "FAIL out-exists: exit 0" >&2; fail=1; }
grep -qF "out.exists" "$TMP/out-exists.stderr" || { echo "FAIL out-exists: $(cat "$TMP/out-exists.stderr")" >&2; fail=1; }
[ "$(ls "$TMP/out.exists")" = file ] && [ "$(cat "$TMP/out.exists/file")" = keep ] ||
    { echo "FAIL out-exists: existing directory modified" >&2; fail=1; }
ls -a "$TMP" | grep -q '^\.out\.exists\.wk-tmp' && { echo "FAIL out-exists: temp dir left" >&2; fail=1; }
echo "ok out-exists: $(cat "$TMP/out-exists.stderr")"
m=$M/tiny-mp2
expect gqa-old-profile "$M/tiny-gqa" "grouped-query attention|4.31" --transformers-version 4.28.0
expect tf-version "$m" "4.40.0|4.28 .. 4.32" --transformers-version 4.40.0
expect tf-version-syntax "$m" "\"four\"" --transformers-version four
expect torch-version "$m" "--torch-version 3.0" --torch-version 3.0
expect shard-size "$m" "\"10TB\"" --max-shard-size 10TB
expect model-size "$m" "--model_size 7B|dim 4096" --model_size 7B
expect model-size-name "$m" "--model_size 8X" --model_size 8X
expect unknown-option "$m" "unknown option --frobnicate" --frobnicate
"$BIN" >/dev/null 2>"$TMP/noargs.stderr" && { echo "FAIL noargs: exit 0" >&2; fail=1; }
grep -q "missing INPUT_DIR" "$TMP/noargs.stderr" || { echo "FAIL noargs: $(cat "$TMP/noargs.stderr")" >&2; fail=1; }

if [ $fail -ne 0 ]; then
    echo "convert_errors.sh: FAILED" >&2
    exit 1
fi
echo "convert_errors.sh: all $n cases refused cleanly"
