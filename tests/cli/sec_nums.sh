#!/usr/bin/env bash
# sec_nums.sh — issue #24 items 1, 6, 7 and the number message of 18: hostile numbers and
# hyperparameters in params.json / config.json, and lossy conversions in wk-pack / wk-convert.
# Every hostile input is built on the fly from tests/fixtures/models/tiny: each case must exit
# non-zero with a message naming the file, the key (or tensor) and what is allowed, and leave
# no output behind; the good neighbours of each case must still work.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
MODELS=$SRC/tests/fixtures/models
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*
cd "$TMP"
fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }

# expect_fail WANT OUT -- CMD...: CMD exits non-zero, stderr holds WANT, OUT does not exist.
expect_fail() {
    local want=$1 out=$2
    shift 3
    local rc=0
    "$@" >stdout.txt 2>stderr.txt || rc=$?
    if [[ $rc -eq 0 ]]; then bad "$* exited 0 (want: $want)"; return; fi
    if ! grep -qF -- "$want" stderr.txt; then bad "$*: message lacks '$want': $(cat stderr.txt)"; return; fi
    if [[ -e $out ]]; then bad "$*: left $out behind"; return; fi
    if grep -q "runtime error" stderr.txt; then bad "$*: sanitizer: $(cat stderr.txt)"; return; fi
    ok "$(basename "$1") refuses: $want"
}
expect_ok() {
    local rc=0
    "$@" >stdout.txt 2>stderr.txt || rc=$?
    if [[ $rc -ne 0 ]] || grep -q "runtime error" stderr.txt; then bad "$* failed ($rc): $(cat stderr.txt)"
    else ok "$* works"; fi
}

# edit JSON FILE KEY=VALUE... (VALUE is Python, raw text with 'raw:' for literals Python cannot write)
edit() {
    local f=$1
    shift
    "$PY" - "$f" "$@" <<'PYEOF'
import json, sys
f = sys.argv[1]
d = json.load(open(f))
raw = {}
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    if v == "DEL":
        d.pop(k, None)
    elif v.startswith("raw:"):
        d[k] = "@@%s@@" % k
        raw[k] = v[4:]
    else:
        d[k] = eval(v)
t = json.dumps(d)
for k, v in raw.items():
    t = t.replace('"@@%s@@"' % k, v)
open(f, "w").write(t)
PYEOF
}

meta() { rm -rf m; cp -r "$MODELS/tiny" m; edit m/params.json "$@"; }

# ---- item 1: numbers range-checked before any conversion (params.json) ----------------------
for v in 1e300 1e17 3e16 1e-300; do
    meta ffn_dim_multiplier=raw:$v
    expect_fail "m/params.json: \"ffn_dim_multiplier\" is" o -- "$BIN/wk-convert" m o
    expect_fail "must be a number >= 0.01 and <= 16" o.gguf -- "$BIN/wk-pack" m o.gguf
done
meta norm_eps=raw:9223372036854775807
expect_fail 'm/params.json: "norm_eps" is 9223372036854775807: must be a number > 0 and < 1' o -- "$BIN/wk-convert" m o
# item 18: an integer beyond int64 says what it is and what is allowed
meta norm_eps=raw:99999999999999999999999999
expect_fail '"norm_eps" is 99999999999999999999999999: must be a number > 0 and < 1' o -- "$BIN/wk-convert" m o
for v in 0 -1 1e300 1; do
    meta norm_eps=raw:$v
    expect_fail "\"norm_eps\" is" o.gguf -- "$BIN/wk-pack" m o.gguf
done
for v in 1e300 -1e300 1 0.5; do
    meta rope_theta=raw:$v
    expect_fail "\"rope_theta\" is" o -- "$BIN/wk-convert" m o
done
meta n_heads=raw:1e300
expect_fail '"n_heads" must be a positive integer in [1, 1099511627776] (got 1e+300)' o -- "$BIN/wk-convert" m o

# ---- item 6: hyperparameters that contradict the checkpoint (Meta) -------------------------
for h in 8 2; do
    meta n_heads=$h
    expect_fail "m/params.json: n_heads $h contradicts the checkpoint: tensor \"rope.freqs\"" o -- "$BIN/wk-convert" m o
    expect_fail "n_heads $h contradicts the checkpoint" o.gguf -- "$BIN/wk-pack" m o.gguf
done
meta rope_theta=500000
expect_fail "m/params.json: rope_theta 500000 contradicts the checkpoint" o -- "$BIN/wk-convert" m o
expect_fail "rope_theta 500000 contradicts the checkpoint" o.gguf -- "$BIN/wk-pack" m o.gguf
meta n_kv_heads=2
expect_fail "n_kv_heads 2 contradicts the tensors" o -- "$BIN/wk-convert" m o
for kv in 'moe={"num_experts": 8}' 'sliding_window=4096' 'use_scaled_rope=True' \
          'rope_scaling={"factor": 8.0}' 'lora_rank=16'; do
    meta "$kv"
    expect_fail "m/params.json: " o -- "$BIN/wk-convert" m o
    grep -qF "\"${kv%%=*}\"" stderr.txt || bad "message does not name ${kv%%=*}: $(cat stderr.txt)"
done
# the keys real LLaMA-1/2/3 and Code Llama files carry are accepted
meta ffn_dim_multiplier=1.0 rope_theta=10000.0 n_kv_heads=4 vocab_size=-1 max_seq_len=2048 use_scaled_rope=False
expect_ok "$BIN/wk-convert" m o1
expect_ok "$BIN/wk-convert" "$MODELS/tiny-gqa" o2 --transformers-version 4.31.0

# ---- item 6: config.json (HF) ------------------------------------------------------------------
"$BIN/wk-convert" "$MODELS/tiny" hf0 >/dev/null 2>&1 || bad "wk-convert tiny -> hf0"
hf() { rm -rf h; cp -r hf0 h; edit h/config.json "$@"; }
hf num_attention_heads=8
expect_fail "h/config.json: num_attention_heads 8 contradicts the checkpoint: tensor \"model.layers.0.self_attn.rotary_emb.inv_freq\"" o.gguf -- "$BIN/wk-pack" h o.gguf
hf rope_theta=500000.0
expect_fail "h/config.json: rope_theta 500000 contradicts the checkpoint" o.gguf -- "$BIN/wk-pack" h o.gguf
hf num_key_value_heads=2
expect_fail "expected 2 kv heads" o.gguf -- "$BIN/wk-pack" h o.gguf
for v in 0 -1 1e300 9223372036854775807; do
    hf rms_norm_eps=raw:$v
    expect_fail "h/config.json: \"rms_norm_eps\" is" o.gguf -- "$BIN/wk-pack" h o.gguf
done
for v in 1e300 -1e300; do
    hf rope_theta=raw:$v
    expect_fail "h/config.json: \"rope_theta\" is" o.gguf -- "$BIN/wk-pack" h o.gguf
done
for v in -4 0 1e300; do
    hf 'rope_scaling={"type": "linear", "factor": '$v'}'
    expect_fail "h/config.json: \"rope_scaling.factor\" is" o.gguf -- "$BIN/wk-pack" h o.gguf
done
hf max_position_embeddings=raw:1e300
expect_fail '"max_position_embeddings" must be a positive integer in [1, 4294967295]' o.gguf -- "$BIN/wk-pack" h o.gguf
hf hidden_act='"gelu"'
expect_fail 'h/config.json: "hidden_act" must be "silu"' o.gguf -- "$BIN/wk-pack" h o.gguf
hf num_local_experts=8
expect_fail 'h/config.json: "num_local_experts": mixture-of-experts' o.gguf -- "$BIN/wk-pack" h o.gguf
hf sliding_window=4096
expect_fail 'h/config.json: "sliding_window" is set' o.gguf -- "$BIN/wk-pack" h o.gguf
hf 'rope_scaling={"type": "dynamic", "factor": 2.0}'
expect_fail 'rope_scaling type "dynamic"' o.gguf -- "$BIN/wk-pack" h o.gguf
hf tie_word_embeddings=True
expect_fail 'h/config.json: tie_word_embeddings is true but the checkpoint has its own "lm_head.weight"' o.gguf -- "$BIN/wk-pack" h o.gguf
hf head_dim=32
expect_fail 'h/config.json: head_dim 32 is not hidden_size' o.gguf -- "$BIN/wk-pack" h o.gguf
# accepted: what the 2023 converters write, a linear factor >= 1, sliding_window null
hf 'rope_scaling={"type": "linear", "factor": 2.0}' sliding_window=None pretraining_tp=1 num_key_value_heads=4
expect_ok "$BIN/wk-pack" h ok.gguf
expect_ok "$BIN/wk-pack" hf0 ok0.gguf

echo "# $fails failure(s)"
[[ $fails -eq 0 ]]
