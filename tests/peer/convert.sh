#!/usr/bin/env bash
# Peer test: wk-convert against tests/peer/convert_ref.py (the v4.28–v4.32 conversion done with
# Debian's torch: torch.cat/view/transpose, Tensor.to(float16), torch.save, json.dumps).
# For every fixture model (single rank, 2 ranks with shared per-layer storages, bf16 GQA, the
# fine-tune) and extra synthetic ones: every output file must have the same SHA-256; torch.load
# of our shards must give the reference tensors; --sha256 lines must match sha256sum; --dry-run
# sizes must be the written sizes; -j1 and -j2 must give the same bytes; a tiny --max-shard-size
# must give >= 3 shards.  The tokenizer files are the fast path's (tokenizer.json, built by the
# reference from sentencepiece's view of the model); with the synthetic stand-ins (a random
# tokenizer.model) or without python3-sentencepiece, both sides run with --slow-tokenizer.
# Exit 77 (skip) without torch.
set -euo pipefail

PY=/usr/bin/python3
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "convert.sh: skipped: $PY cannot import torch (apt-get install python3-torch)" >&2
    exit 77
fi
SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
REF=$SRC/tests/peer/convert_ref.py
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-convert-peer.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "convert.sh: $BIN not built" >&2; exit 1; }

fail=0
cases=0
note() { echo "convert.sh: $*"; }
bad() { echo "convert.sh: FAIL: $*" >&2; fail=1; }

# run_case NAME MODEL_DIR [wk-convert/reference options...]
run_case() {
    local name=$1 model=$2
    shift 2
    [ -z "$TOKOPT" ] || set -- "$@" "$TOKOPT"
    local w=$TMP/$name.wk r=$TMP/$name.ref ref_args=() a
    cases=$((cases + 1))
    for a in "$@"; do
        case $a in -j*) ;; *) ref_args+=("$a") ;; esac
    done
    if ! grep -q '"n_kv_heads"' "$model/params.json" || printf '%s\n' "$@" | grep -q -- --transformers-version; then :
    else ref_args+=(--transformers-version 4.31.0); fi   # wk-convert's automatic choice for GQA
    if ! "$BIN" "$model" "$w" --sha256 -q "$@" >"$TMP/$name.sums"; then
        bad "$name: wk-convert failed"
        return
    fi
    "$PY" "$REF" convert "$model" "$r" "${ref_args[@]}"
    (cd "$w" && sha256sum -- * | sort -k2) >"$TMP/$name.w.sha"
    (cd "$r" && sha256sum -- * | sort -k2) >"$TMP/$name.r.sha"
    if ! diff -u "$TMP/$name.r.sha" "$TMP/$name.w.sha"; then
        bad "$name: files differ from the reference (- reference, + wk-convert)"
    fi
    # --sha256 printed sha256sum lines of OUTPUT_DIR/<file>
    (cd "$TMP" && sha256sum -c --quiet "$TMP/$name.sums") || bad "$name: --sha256 lines do not verify"
    # --dry-run sizes = written sizes
    "$BIN" "$model" --dry-run "$@" | awk '$2 != "total" && $1 ~ /^[0-9]+$/ {print $2, $1}' |
        sort >"$TMP/$name.plan"
    (cd "$w" && for f in *; do echo "$f $(stat -c %s "$f")"; done) | sort >"$TMP/$name.sizes"
    diff -u "$TMP/$name.plan" "$TMP/$name.sizes" || bad "$name: --dry-run sizes differ"
    # the reference tensors, loaded by torch from our files
    "$PY" "$REF" compare "$r" "$w" >"$TMP/$name.cmp" || { cat "$TMP/$name.cmp"; bad "$name: torch.load differs"; }
    note "$name: $(wc -l <"$TMP/$name.w.sha") files identical ($(tail -1 "$TMP/$name.cmp"))"
}

# ---- the models: committed fixtures, else synthetic stand-ins ---------------------------------
FIX=$SRC/tests/fixtures/models
M=$TMP/models
mkdir -p "$M"
synth() { "$PY" "$REF" synth "$M/$1" "${@:2}"; }
TOKOPT=""
"$PY" -c "import sentencepiece" 2>/dev/null ||
    { TOKOPT=--slow-tokenizer; note "no python3-sentencepiece: tokenizer.json not compared"; }
if [ -f "$FIX/tiny/params.json" ]; then
    cp "$FIX/tokenizer.model" "$M/tokenizer.model"
    for m in tiny tiny-mp2 tiny-gqa tiny-ft; do
        [ -f "$FIX/$m/params.json" ] && ln -s "$FIX/$m" "$M/$m"
    done
else
    note "fixtures not found in $FIX: using synthetic stand-ins"
    TOKOPT=--slow-tokenizer
    head -c 4096 /dev/urandom >"$M/tokenizer.model"
    synth tiny --dim 256 --layers 2 --heads 4 --vocab 512 --seed 1
    synth tiny-mp2 --dim 256 --layers 2 --heads 4 --vocab 512 --ranks 2 --seed 1 --share-layer-storage
    synth tiny-gqa --dim 256 --layers 2 --heads 4 --kv-heads 2 --vocab 512 --dtype bf16 \
        --ffn-mult 0.75 --rope-theta 1000000 --seed 2
fi
# always: bf16 GQA split over 2 ranks with shared storages; fp32 input
synth gqa-mp2 --dim 128 --layers 3 --heads 8 --kv-heads 2 --vocab 320 --ranks 2 --dtype bf16 \
    --seed 5 --share-layer-storage
synth f32 --dim 64 --layers 1 --heads 2 --vocab 96 --dtype f32 --seed 6

for m in "$M"/*/; do
    m=${m%/}
    run_case "$(basename "$m")" "$m"
done
run_case gqa-mp2-432 "$M/gqa-mp2" --transformers-version 4.32.0
run_case mp2-shards "$M/tiny-mp2" --max-shard-size 200KB -j1
n=$(ls "$TMP"/mp2-shards.wk/pytorch_model-*.bin | wc -l)
[ "$n" -ge 3 ] || bad "mp2-shards: expected >= 3 shards, got $n"
run_case mp2-shards-j2 "$M/tiny-mp2" --max-shard-size 200KB -j2
cmp -s "$TMP/mp2-shards.w.sha" "$TMP/mp2-shards-j2.w.sha" || bad "-j1 and -j2 outputs differ"
run_case gqa-shards-429 "$M/tiny" --max-shard-size 0.1MiB --transformers-version 4.29.2
run_case tiny-empty-first "$M/tiny" --max-shard-size 10kb  # every tensor > limit: E1 empty shard
run_case tiny-st "$M/tiny-mp2" --safetensors --max-shard-size 300KB

# torch 2.1 layout: cannot be compared byte for byte with torch 1.13, but torch loads it
"$BIN" "$M/tiny-mp2" "$TMP/t21" -q --torch-version 2.1 --no-tokenizer
"$PY" "$REF" compare "$TMP/tiny-mp2.ref" "$TMP/t21" >/dev/null || bad "torch-2.1 layout: tensors differ"
"$PY" - "$TMP/t21/pytorch_model.bin" <<'EOF' || bad "torch-2.1 layout: records"
import sys, zipfile
names = [i.filename for i in zipfile.ZipFile(sys.argv[1]).infolist()]
assert names[1] == "pytorch_model/byteorder" and names[-1] == "pytorch_model/.data/serialization_id", names
EOF

# the Python script's command line: --input_dir DIR --model_size tokenizer_only --output_dir DIR
mkdir -p "$TMP/layout"
cp "$M/tokenizer.model" "$TMP/layout/tokenizer.model"
"$BIN" --input_dir "$TMP/layout" --model_size tokenizer_only --output_dir "$TMP/layout.out" -q $TOKOPT
want="special_tokens_map.json tokenizer.json tokenizer.model tokenizer_config.json "
[ -z "$TOKOPT" ] || want="special_tokens_map.json tokenizer.model tokenizer_config.json "
[ "$(ls "$TMP/layout.out" | tr '\n' ' ')" = "$want" ] ||
    bad "tokenizer_only: unexpected files $(ls "$TMP/layout.out")"
for f in tokenizer_config.json tokenizer.json; do
    [ -e "$TMP/tiny.ref/$f" ] || continue
    cmp -s "$TMP/layout.out/$f" "$TMP/tiny.ref/$f" || bad "tokenizer_only: $f differs"
done

if [ "$fail" -ne 0 ]; then
    echo "convert.sh: FAILED" >&2
    exit 1
fi
note "all $cases cases byte-identical to the torch reference"
