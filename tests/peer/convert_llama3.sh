#!/usr/bin/env bash
# Peer test (issue 18): wk-convert on Llama 3.x-shaped Meta checkpoints against
# tests/peer/convert_llama3_ref.py (the 4.45 script's conversion redone with Debian's torch).
# Small deterministic fixtures (bf16, 128256-row embedding, synthesized 128000-token tiktoken
# tokenizer.model) for 3 (detected), 3.1 (2 ranks, GQA), 3.2 (tied embeddings), 3.3 instruct-free,
# 3 --instruct, 3.1 --instruct, and 3.1 with a small --max-shard-size: config.json, generation_config.json,
# every safetensors shard and the index must have the reference's SHA-256; --dry-run sizes are
# the written sizes; -j1 = -j2; --sha256 lines verify.  Then the converted safetensors (read with
# json + struct) in an HF-style forward with config.json's llama3 rope scaling must give Meta's
# forward's logits (interleaved rotary, llama-models' apply_scaling) within 1e-4, and be far off
# without the scaling.  --instruct with 3.1 / 3.2 / 3.3: tokenizer_config.json's chat_template is
# the bytes of llama.cpp's copy of that Meta repository's template (when the llama.cpp source
# bundle is installed), eos <|eot_id|>, the eos list and sampling defaults in
# generation_config.json, and llama.cpp (npm libllama, llama_harness.c) reads the template back
# from the GGUF wk-pack makes of the converted directory.  Each silent-wrong case is refused
# with a clear message.
# Exit 77 (skip) without torch.
set -uo pipefail

PY=/usr/bin/python3
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "convert_llama3.sh: skipped: $PY cannot import torch (apt-get install python3-torch)" >&2
    exit 77
fi
SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
REF=$SRC/tests/peer/convert_llama3_ref.py
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-convl3.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] || { echo "convert_llama3.sh: $BIN not built" >&2; exit 1; }

fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
synth() { "$PY" "$REF" synth "$TMP/$1" "${@:2}" || { echo "not ok - synth $1"; exit 1; }; }

synth m3 --dim 64 --layers 2 --heads 4 --kv-heads 2 --seed 1
synth m31 --dim 64 --layers 2 --heads 4 --kv-heads 2 --ranks 2 --scaled-rope --seed 2
synth m32 --dim 64 --layers 2 --heads 4 --kv-heads 1 --scaled-rope --tied --seed 3
synth m33 --dim 96 --layers 1 --heads 6 --kv-heads 2 --ranks 2 --scaled-rope --ffn-mult 1.5 --seed 4

# case NAME MODEL VERSION [wk-convert options...]: files = reference, sizes, -j, --sha256, logits
case_() {
    local name=$1 model=$TMP/$2 ver=$3
    shift 3
    local w=$TMP/$name.wk r=$TMP/$name.ref refargs=(--llama-version "$ver") a verargs=()
    [ "$ver" = auto ] && refargs=(--llama-version 3) || verargs=(--llama_version "$ver")
    for a in "$@"; do
        case $a in --instruct) refargs+=(--instruct) ;; --max-shard-size=*) refargs+=(--max-shard-size "${a#*=}") ;; esac
    done
    if ! "$BIN" "$model" "$w" -q --sha256 -j2 ${verargs[@]+"${verargs[@]}"} "$@" >"$TMP/$name.sums" 2>"$TMP/$name.err"; then
        bad "$name: wk-convert failed: $(cat "$TMP/$name.err")"; return; fi
    "$PY" "$REF" convert "$model" "$r" "${refargs[@]}" || { bad "$name: reference failed"; return; }
    local diffs=0 f
    for f in "$r"/*; do
        cmp -s "$f" "$w/${f##*/}" || { bad "$name: ${f##*/} differs from the reference"; diffs=1; }
    done
    local extra
    extra=$(cd "$w" && ls | grep -v -e '^tokenizer.json$' -e '^tokenizer_config.json$' \
              -e '^special_tokens_map.json$' | while read -r f; do [ -e "$r/$f" ] || echo "$f"; done)
    [ -z "$extra" ] || { bad "$name: files the reference does not write: $extra"; diffs=1; }
    [ $diffs -eq 0 ] && ok "$name: $(ls "$r" | tr '\n' ' ')= reference bytes"
    (cd "$TMP" && sha256sum -c --quiet "$TMP/$name.sums") && ok "$name: --sha256 lines verify" \
        || bad "$name: --sha256 lines"
    "$BIN" "$model" --dry-run ${verargs[@]+"${verargs[@]}"} "$@" | awk '$2 != "total" && $1 ~ /^[0-9]+$/ {print $2, $1}' |
        sort >"$TMP/$name.plan"
    (cd "$w" && for f in *; do echo "$f $(stat -c %s "$f")"; done) | sort >"$TMP/$name.sizes"
    cmp -s "$TMP/$name.plan" "$TMP/$name.sizes" && ok "$name: --dry-run sizes = written sizes" \
        || bad "$name: --dry-run sizes: $(diff "$TMP/$name.plan" "$TMP/$name.sizes" | head -4)"
    "$BIN" "$model" "$w.j1" -q -j1 ${verargs[@]+"${verargs[@]}"} "$@" &&
        diff -r -q "$w" "$w.j1" >/dev/null && ok "$name: -j1 = -j2" || bad "$name: -j1 differs"
    rm -rf "$w.j1"
    local lv=$ver; [ "$ver" = auto ] && lv=3
    if "$PY" "$REF" logits "$w" "$model" --llama-version "$lv" >"$TMP/$name.logits" 2>&1; then
        ok "$name: logits = Meta forward ($(tr '\n' ';' <"$TMP/$name.logits"))"
    else bad "$name: logits: $(cat "$TMP/$name.logits")"; fi
    rm -rf "$r"
}

case_ v3-detected m3 auto
case_ v3-instruct m3 3 --instruct
case_ v31-mp2 m31 3.1
case_ v31-instruct m31 3.1 --instruct
case_ v31-shards m31 3.1 --max-shard-size=16500000
case_ v32-tied m32 3.2
case_ v33-mp2 m33 3.3
if [ -d "$TMP/v32-tied.wk" ]; then :; fi
grep -q '"lm_head.weight"' "$TMP/v31-mp2.wk/model.safetensors" && ok "3.1 keeps lm_head" || bad "3.1: no lm_head"
[ "$(ls "$TMP"/v31-shards.wk/model-0000*-of-*.safetensors | wc -l)" -ge 3 ] && ok "small --max-shard-size: >= 3 shards" \
    || bad "small --max-shard-size: fewer than 3 shards"

# ---- --instruct with 3.1 / 3.2 / 3.3: the Meta repository's chat template ----
TPL=/opt/weightkit-peers/llama.cpp-src-3.22.1/models/templates
"$BIN" "$TMP/m32" "$TMP/v32-instruct.wk" -q --llama_version 3.2 --instruct 2>"$TMP/v32i.err" \
    || bad "3.2 --instruct: wk-convert failed: $(cat "$TMP/v32i.err")"
"$BIN" "$TMP/m33" "$TMP/v33-instruct.wk" -q --llama_version 3.3 --instruct 2>"$TMP/v33i.err" \
    || bad "3.3 --instruct: wk-convert failed: $(cat "$TMP/v33i.err")"
instruct_files() { # DIR: the instruct JSON files, whatever the version
    "$PY" - "$1" <<'PYEOF'
import json, sys, os
d = sys.argv[1]
g = json.load(open(os.path.join(d, "generation_config.json")))
assert g["eos_token_id"] == [128001, 128008, 128009] and g["bos_token_id"] == 128000, g
assert g["do_sample"] is True and g["temperature"] == 0.6 and g["top_p"] == 0.9, g
assert "_from_model_config" not in g, g
c = json.load(open(os.path.join(d, "config.json")))
assert c["eos_token_id"] == [128001, 128008, 128009], c["eos_token_id"]
t = json.load(open(os.path.join(d, "tokenizer_config.json")))
assert t["eos_token"] == "<|eot_id|>" and t["bos_token"] == "<|begin_of_text|>", t["eos_token"]
s = json.load(open(os.path.join(d, "special_tokens_map.json")))
assert s["eos_token"]["content"] == "<|eot_id|>", s
PYEOF
}
same_template() { # DIR JINJA
    "$PY" -c "import json,sys; t=json.load(open(sys.argv[1]))['chat_template'].encode(); sys.exit(0 if t == open(sys.argv[2],'rb').read() else 1)" \
        "$1/tokenizer_config.json" "$2"
}
for vj in "31:meta-llama-Llama-3.1-8B-Instruct" "32:meta-llama-Llama-3.2-3B-Instruct" "33:meta-llama-Llama-3.3-70B-Instruct"; do
    d=$TMP/v${vj%%:*}-instruct.wk j=$TPL/${vj#*:}.jinja
    [ -d "$d" ] || continue
    instruct_files "$d" && ok "v${vj%%:*}-instruct: eos <|eot_id|>, eos list [128001, 128008, 128009], do_sample/0.6/0.9" \
        || bad "v${vj%%:*}-instruct: instruct JSON files"
    if [ -f "$j" ]; then
        same_template "$d" "$j" && ok "v${vj%%:*}-instruct: chat_template = llama.cpp's ${vj#*:}.jinja, byte for byte" \
            || bad "v${vj%%:*}-instruct: chat_template differs from $j"
    else
        echo "# skipped: $j absent (llama.cpp source bundle not installed)" >&2
    fi
done
# llama.cpp reads the template back from wk-pack's GGUF of the converted 3.1 instruct directory
. "$SRC/tests/peer/_peer_lib.sh"
PACK=${WK_BIN_DIR:-$SRC/build/bin}/wk-pack
if [ -d "$TMP/v31-instruct.wk" ] && [ -x "$PACK" ] && wk_llama_peer_try convert_llama3; then
    if cc -std=c11 -O1 -Wall -o "$TMP/harness" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" \
           -I"$GGML_INCDIR" "${WK_LLAMA_LINK[@]}" 2>"$TMP/cc.err" &&
       "$PACK" "$TMP/v31-instruct.wk" "$TMP/v31i.gguf" -q 2>"$TMP/pack.err" &&
       WK_LLAMA_LIBDIR=$LIBDIR "$TMP/harness" template "$TMP/v31i.gguf" >"$TMP/v31i.tpl" 2>"$TMP/h.err"; then
        "$PY" -c "import json,sys; t=json.load(open(sys.argv[1]))['chat_template'].encode(); g=open(sys.argv[2],'rb').read(); sys.exit(0 if g in (t, t+b'\n') else 1)" \
            "$TMP/v31-instruct.wk/tokenizer_config.json" "$TMP/v31i.tpl" \
            && ok "llama.cpp reports the 3.1 chat template from wk-pack's GGUF of the converted directory" \
            || bad "llama.cpp's chat template differs: $(head -c 200 "$TMP/v31i.tpl")"
    else
        bad "llama.cpp template check: $(cat "$TMP/cc.err" "$TMP/pack.err" "$TMP/h.err" 2>/dev/null | head -3)"
    fi
else
    echo "# skipped: llama.cpp template check (no llama.cpp peer or wk-pack)" >&2
fi

# ---- refusals: each names the file and the reason; nothing is written ----
refuse() { # WHAT PATTERN MODEL ARGS...
    local what=$1 pat=$2 m=$3; shift 3
    rm -rf "$TMP/out"
    if "$BIN" "$m" "$TMP/out" -q "$@" 2>"$TMP/r.err"; then bad "$what: accepted"
    elif grep -q -- "$pat" "$TMP/r.err" && [ ! -e "$TMP/out" ]; then ok "$what: refused: $(head -c 200 "$TMP/r.err")"
    else bad "$what: message \"$(cat "$TMP/r.err")\" lacks \"$pat\""; fi
}
variant() { # NAME FROM PYTHON-EXPR-ON-p : a copy of model FROM with params.json edited
    rm -rf "$TMP/$1"; cp -r "$TMP/$2" "$TMP/$1"
    "$PY" -c "import json,sys; p=json.load(open(sys.argv[1])); $3; open(sys.argv[1],'w').write(json.dumps(p))" "$TMP/$1/params.json"
}
refuse "use_scaled_rope without --llama_version" "3.1, 3.2 and 3.3 look alike" "$TMP/m31"
refuse "--llama_version 3 with use_scaled_rope" '"use_scaled_rope"' "$TMP/m31" --llama_version 3
refuse "--llama_version 3.1 without use_scaled_rope" 'no "use_scaled_rope": true' "$TMP/m3" --llama_version 3.1
variant ropesc m31 'p["rope_scaling"]={"factor":8.0,"rope_type":"yarn"}'
refuse "params.json rope_scaling (a rope variant not implemented)" '"rope_scaling" in params.json' "$TMP/ropesc" --llama_version 3.1
variant unk m31 'p["moe_args"]={"num_experts":16}'
refuse "an unknown params.json key" 'unknown key "moe_args"' "$TMP/unk" --llama_version 3.1
refuse "--llama_version 3.2 on an untied checkpoint" "output.weight differs from tok_embeddings.weight" "$TMP/m31" --llama_version 3.2
refuse "--instruct with --llama_version Guard-3 (its template and model are not carried)" \
    "Guard-3 and the vision models are not supported" "$TMP/m32" --llama_version Guard-3 --instruct
rm -rf "$TMP/spm"; cp -r "$TMP/m3" "$TMP/spm"; cp "$SRC/tests/fixtures/models/tokenizer.model" "$TMP/spm/tokenizer.model" 2>/dev/null &&
    refuse "--llama_version 3 with a SentencePiece tokenizer.model" "not a tiktoken file" "$TMP/spm" --llama_version 3
refuse "a Llama 3 checkpoint with a LLaMA 1/2 profile" "LLaMA 1/2 profiles" "$TMP/m3" --torch-version 2.1
if [ -d "$SRC/tests/fixtures/models/tiny" ]; then
    refuse "--post-processor on a LLaMA 1/2 model" "is for Llama 3 conversions" \
        "$SRC/tests/fixtures/models/tiny" --post-processor bytelevel
    refuse "--instruct on a LLaMA 1/2 model" "is for Llama 3 conversions" \
        "$SRC/tests/fixtures/models/tiny" --instruct
fi
refuse "the Llama 3 checkpoint without --llama_version but --no-tokenizer (no way to tell)" \
    "looks like Llama 3" "$TMP/m3" --no-tokenizer

exit $fail
