#!/usr/bin/env bash
# pack_arch.sh — wk-pack's architectures against the real llama.cpp and an independent torch
# forward pass (docs/pack.md "Architectures").
#
#   1. tests/fixtures/gen/make_arch_models.py rerun into WK_TMP writes the committed fixtures
#      (tests/fixtures/models/arch) byte for byte: they are reproducible.
#   2. Each fixture (Llama 3.1-style with llama3 rope scaling, tied and untied; Mistral;
#      Qwen2 with q/k/v biases, tied and untied; bf16 and f16; one file, shards, .bin) is packed
#      to an F32 GGUF; llama.cpp (flash attention off, F32 KV cache) computes the logits of 48
#      positions and they must match tests/peer/hf_arch_ref.py's forward pass (transformers'
#      formulas in torch, float32) within 1e-3 relative (max |diff| / max |ref|).  For the llama3
#      models the reference without rope scaling must be far off (> 1e-2): the test can tell.
#      The stored-type GGUF (bf16 / f16) and an F16 GGUF of a bf16 model are loaded and reported.
#   3. rope_freqs.weight is bit-identical to the numpy float32 reimplementation of the converter
#      and to the converter's own code (LlamaModel.generate_extra_tensors, run with torch).
#   4. The --quant variants (hidden 256, 8 layers) packed to F16: llama_model_quantize and
#      wk-quantize (-j1 and -j2) give identical files for q4_k_m and q5_k_m; and for q4_k_m on
#      80-layer variants, where llama.cpp's model type (70B or 65B) decides attn_v's type.
# Exit 77 (skipped) if npm / the registry is unavailable or Debian's python3-torch is missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (npm cache).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
ARCH=$SRC/tests/fixtures/models/arch
VOCAB=$SRC/tests/fixtures/models/tokenizer.model
PY=/usr/bin/python3
REF=$SRC/tests/peer/hf_arch_ref.py
skip() { echo "pack_arch: SKIP: $*" >&2; exit 77; }
die() { echo "pack_arch: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -d $ARCH/qwen2 && -f $VOCAB ]] || skip "fixtures not present in $ARCH"
[[ -x $PY ]] && $PY -c "import torch, numpy" 2>/dev/null || skip "Debian python3 with torch and numpy needed"
[[ -x $BIN/wk-pack && -x $BIN/wk-quantize ]] || die "build wk-pack and wk-quantize first ($BIN)"
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*

wk_llama_peer pack_arch   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 77 / 1
wk_peer_tools pack_arch "$TMP"   # $TMP/harness, $TMP/qpeer
cd "$TMP"

echo "== fixtures are reproducible"
$PY "$SRC/tests/fixtures/gen/make_arch_models.py" regen
diff -r regen "$ARCH" >/dev/null || die "make_arch_models.py does not reproduce $ARCH ($(diff -rq regen "$ARCH" | head -1))"
echo "ok - make_arch_models.py rewrites tests/fixtures/models/arch byte for byte"

rel() { wk_rel "$@"; }
le() { wk_le "$@"; }

TOKS="1 $(seq -s ' ' 7 10 477)"   # BOS + 47 ids spread over the 512-piece vocabulary
echo "== logits: llama.cpp vs the torch reference (48 positions)"
for m in llama31-tied llama31 mistral mistral-hd qwen2-tied qwen2; do
    "$BIN/wk-pack" -q "$ARCH/$m" "$m-f32.gguf" --outtype f32 --vocab "$VOCAB" || die "wk-pack $m"
    "$BIN/wk-pack" -q "$ARCH/$m" "$m-auto.gguf" --vocab "$VOCAB" || die "wk-pack $m (stored type)"
    # shellcheck disable=SC2086
    $PY "$REF" logits "$ARCH/$m" "$m-ref.bin" $TOKS || die "reference forward of $m"
    for t in f32 auto; do
        # shellcheck disable=SC2086
        ./harness logits "$m-$t.gguf" "$m-$t.bin" $TOKS >/dev/null || die "llama.cpp cannot run $m-$t.gguf"
    done
    r=$(rel "$m-f32.bin" "$m-ref.bin")
    le "$r" 1e-3 || die "$m F32: relative error $r > 1e-3"
    echo "ok - $m F32: relative error $r (stored type: $(rel "$m-auto.bin" "$m-ref.bin"), reported)"
    if [[ $m == llama31* ]]; then
        # shellcheck disable=SC2086
        $PY "$REF" logits "$ARCH/$m" "$m-noscale.bin" $TOKS --no-rope-scaling
        r=$(rel "$m-f32.bin" "$m-noscale.bin")
        le "$r" 1e-2 && die "$m: the reference without rope scaling is only $r away: the test cannot tell"
        echo "ok - $m: without llama3 rope scaling the reference is $r away"
        $PY "$REF" ropefreqs "$m-f32.gguf" "$ARCH/$m/config.json" || die "$m: rope_freqs"
    fi
done
"$BIN/wk-pack" -q "$ARCH/qwen2-tied" q2t-f16.gguf --outtype f16 --vocab "$VOCAB" || die "wk-pack bf16 -> f16"
# shellcheck disable=SC2086
./harness logits q2t-f16.gguf q2t-f16.bin $TOKS >/dev/null || die "llama.cpp cannot run q2t-f16.gguf"
echo "ok - qwen2-tied bf16 -> F16 GGUF loads: relative error $(rel q2t-f16.bin qwen2-tied-ref.bin) (reported)"

echo "== q4_k_m / q5_k_m: wk-quantize vs llama_model_quantize, byte for byte"
mkdir -p q
cp "$VOCAB" q/
$PY "$SRC/tests/fixtures/gen/make_arch_models.py" q --quant
for m in llama31-tied llama31 mistral mistral-hd qwen2-tied qwen2; do
    "$BIN/wk-pack" -q "q/$m" "$m-q.gguf" --outtype f16 --no-digest || die "wk-pack --quant $m"
    for tf in q4_k_m:15 q5_k_m:17; do
        t=${tf%:*}
        ./qpeer quantize "$m-q.gguf" "ref-$m-$t.gguf" "${tf#*:}" 2 || die "llama_model_quantize $m $t"
        for j in 1 2; do
            "$BIN/wk-quantize" -q "$m-q.gguf" "wk-$m-$t-j$j.gguf" "$t" -j$j || die "wk-quantize $m $t"
            cmp -s "ref-$m-$t.gguf" "wk-$m-$t-j$j.gguf" ||
                die "$m $t: wk-quantize -j$j differs from llama.cpp ($(cmp "ref-$m-$t.gguf" "wk-$m-$t-j$j.gguf" | head -1))"
        done
        echo "ok - $m $t: identical to llama_model_quantize ($(stat -c %s "ref-$m-$t.gguf") bytes, -j1 and -j2)"
    done
done
# 80 layers: llama.cpp takes llama with GQA and qwen2 for "70B" (attn_v at least Q5_K), llama
# without GQA for LLaMA-1 65B (no bump)
mkdir -p q80 q80g
cp "$VOCAB" q80/
cp "$VOCAB" q80g/
$PY "$SRC/tests/fixtures/gen/make_arch_models.py" q80 --quant --layers 80 --kv 4 --only llama31
$PY "$SRC/tests/fixtures/gen/make_arch_models.py" q80g --quant --layers 80 --only llama31,qwen2
for d in q80/llama31:65B:q4_K q80g/llama31:70B:q5_K q80g/qwen2:70B:q5_K; do
    IFS=: read -r dir size vt <<<"$d"
    n=${dir//\//-}
    "$BIN/wk-pack" -q "$dir" "$n.gguf" --outtype f16 --no-digest || die "wk-pack $dir"
    ./qpeer quantize "$n.gguf" "ref-$n.gguf" 15 2 || die "llama_model_quantize $n"
    "$BIN/wk-quantize" -q "$n.gguf" "wk-$n.gguf" q4_k_m -j2 || die "wk-quantize $n"
    cmp -s "ref-$n.gguf" "wk-$n.gguf" || die "$n (80 layers, $size): wk-quantize differs from llama.cpp"
    "$BIN/wk-inspect" "wk-$n.gguf" | grep "blk.10.attn_v.weight *$vt " >/dev/null || die "$n: blk.10.attn_v is not $vt"
    echo "ok - $n q4_k_m (80 layers: llama.cpp's $size, attn_v $vt): identical to llama_model_quantize"
done
echo "pack_arch: OK"
