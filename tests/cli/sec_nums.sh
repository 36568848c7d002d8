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

# ---- item 7: NaN/Inf and overflow to inf, in wk-pack and wk-convert --------------------------
# poke PTH KEY ROW COL VALUE: one element of a tensor of a torch.save'd checkpoint
poke() {
    "$PY" - "$@" <<'PYEOF'
import sys, torch
path, key, r, c, v = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
d = torch.load(path)
d[key][r, c] = v
torch.save(d, path)
PYEOF
}
if "$PY" -c "import torch" 2>/dev/null; then
    rm -rf n; cp -r "$MODELS/tiny" n
    poke n/consolidated.00.pth tok_embeddings.weight 3 5 nan
    expect_fail 'n: tensor "model.embed_tokens.weight": 1 NaN/Inf value in the float16 output (first at element 773)' o -- "$BIN/wk-convert" n o
    expect_fail 'n/consolidated.00.pth: tensor "tok_embeddings.weight": 1 NaN/Inf value (first at element 773)' o.gguf -- "$BIN/wk-pack" n o.gguf
    expect_fail 'tensor "tok_embeddings.weight": 1 NaN/Inf value (first at element 773)' o.safetensors -- "$BIN/wk-pack" n o.safetensors --no-digest
    expect_ok "$BIN/wk-convert" n o3 --allow-nonfinite
    grep -q "1 NaN/Inf value(s) written" stderr.txt && ok "wk-convert reports the count" || bad "wk-convert --allow-nonfinite count: $(cat stderr.txt)"
    expect_ok "$BIN/wk-pack" n o3.gguf --allow-nonfinite
    grep -q "1 NaN/Inf value(s) passed on" stderr.txt && ok "wk-pack reports the count" || bad "wk-pack --allow-nonfinite count: $(cat stderr.txt)"
    # bf16 values beyond +-65504: fine as bf16, inf as float16
    rm -rf g; cp -r "$MODELS/tiny-gqa" g
    poke g/consolidated.00.pth layers.1.feed_forward.w1.weight 2 7 100000
    poke g/consolidated.00.pth layers.1.feed_forward.w1.weight 4 0 -1e30
    expect_fail 'g/consolidated.00.pth: tensor "layers.1.feed_forward.w1.weight": 2 finite values beyond the range of float16 (first at element 519) would become inf' o.gguf -- "$BIN/wk-pack" g o.gguf --outtype f16
    expect_fail 'tensor "layers.1.feed_forward.w1.weight": 2 finite values beyond the range of float16' o.gguf -- "$BIN/wk-pack" g o.gguf --outtype f16 --no-digest
    expect_fail 'g: tensor "model.layers.1.mlp.gate_proj.weight": 2 NaN/Inf values in the float16 output' o -- "$BIN/wk-convert" g o --transformers-version 4.31.0
    expect_ok "$BIN/wk-pack" g ok-bf16.gguf
    expect_ok "$BIN/wk-pack" g ok-f16.gguf --outtype f16 --allow-nonfinite
    grep -q "0 NaN/Inf value(s) passed on and 2 made inf" stderr.txt && ok "wk-pack reports the overflow count" || bad "overflow count: $(cat stderr.txt)"
else
    echo "# torch missing: NaN/overflow cases skipped" >&2
fi

# general.file_type describes the tensors written: quantized tensors kept -> the input's type
gguf_ftype() {
    "$PY" - "$1" <<'PYEOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
o = 24
def u(fmt):
    global o
    v = struct.unpack_from("<" + fmt, b, o); o += struct.calcsize("<" + fmt); return v[0]
def s():
    global o
    n = u("Q"); t = b[o:o + n]; o += n; return t.decode()
size = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def val(t):
    if t == 8: return s()
    if t == 9:
        et = u("I"); n = u("Q"); return [val(et) for _ in range(n)]
    return u(size[t])
n_kv = struct.unpack_from("<Q", b, 16)[0]
for _ in range(n_kv):
    k = s(); t = u("I"); v = val(t)
    if k == "general.file_type": print(v)
PYEOF
}
"$BIN/wk-quantize" "$MODELS/tiny" q8.gguf q8_0 >/dev/null 2>&1 || bad "wk-quantize tiny q8_0"
expect_ok "$BIN/wk-pack" q8.gguf q8-f16.gguf --outtype f16
[[ $(gguf_ftype q8-f16.gguf) == 7 ]] && ok "Q8_0 tensors kept: general.file_type stays 7 (MOSTLY_Q8_0)" \
    || bad "q8 --outtype f16: general.file_type $(gguf_ftype q8-f16.gguf), want 7"
"$BIN/wk-pack" "$MODELS/tiny" f16.gguf >/dev/null 2>&1 || bad "wk-pack tiny"
expect_ok "$BIN/wk-pack" f16.gguf f32.gguf --outtype f32
[[ $(gguf_ftype f32.gguf) == 0 ]] && ok "all-float --outtype f32: general.file_type 0 (ALL_F32)" \
    || bad "f16 --outtype f32: general.file_type $(gguf_ftype f32.gguf), want 0"

echo "# $fails failure(s)"
[[ $fails -eq 0 ]]
