#!/usr/bin/env bash
# pack_arch.sh — wk-pack's architectures (docs/pack.md "Architectures") without any peer: the
# committed fixtures (tests/fixtures/models/arch: Llama 3.1-style, Mistral, Qwen2) pack, and every
# unsupported case is refused with one "wk-pack: error:" line naming the file and the key (or
# tensor), leaving no output behind.  The logits and quantization against the real llama.cpp are
# tests/peer/pack_arch.sh.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
ARCH=$SRC/tests/fixtures/models/arch
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
[[ -d $ARCH/qwen2 ]] || { echo "pack_arch: SKIP: no fixtures in $ARCH" >&2; exit 77; }
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*
cd "$TMP"
cp "$SRC/tests/fixtures/models/tokenizer.model" .   # found in the parent of every copy below
fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }

# expect_fail TEXT -- CMD...: exit 1, one error line containing TEXT, no o.gguf / temporaries.
expect_fail() {
    local want=$1
    shift 2
    if "$@" >stdout.txt 2>stderr.txt; then bad "accepted: $* (expected: $want)"; return; fi
    if ! grep -qF -- "$want" stderr.txt; then bad "$want: got $(cat stderr.txt)"; return; fi
    if ls -a | grep '^o\.gguf\|\.tmp\|^\.o\.gguf' >/dev/null; then bad "$want: output left behind"; return; fi
    [[ $(grep -c . stderr.txt) == 1 ]] || { bad "$want: more than one line: $(cat stderr.txt)"; return; }
    ok "refused: $want"
}
expect_ok() {
    if "$@" >stdout.txt 2>stderr.txt; then ok "accepted: ${*: -3}"; else bad "refused: $* ($(cat stderr.txt))"; fi
    rm -f o.gguf
}

# edit FILE KEY=PYVALUE|KEY=DEL ...
edit() {
    local f=$1
    shift
    "$PY" - "$f" "$@" <<'PYEOF'
import json, sys
f = sys.argv[1]
d = json.load(open(f))
for a in sys.argv[2:]:
    k, v = a.split("=", 1)
    if v == "DEL":
        d.pop(k, None)
    else:
        d[k] = eval(v)
open(f, "w").write(json.dumps(d))
PYEOF
}
m() { rm -rf h; cp -r "$ARCH/$1" h; shift; [[ $# == 0 ]] || edit h/config.json "$@"; }

# ---- the fixtures pack; the GGUF says what llama.cpp's converter writes --------------------------
for f in llama31-tied llama31 mistral mistral-hd qwen2-tied qwen2; do
    "$BIN/wk-pack" -q "$ARCH/$f" "$f.gguf" --vocab tokenizer.model || { bad "wk-pack $f"; continue; }
    "$BIN/wk-inspect" "$f.gguf" >"$f.txt" 2>&1 || bad "wk-inspect $f"
    ok "packed $f"
done
grep -q 'rope_freqs.weight *f32 *\[8\]' llama31-tied.txt && ok "llama3 scaling: rope_freqs.weight [8]" || bad "no rope_freqs in llama31-tied"
grep -q '^  output.weight' llama31-tied.txt && bad "tied llama has output.weight" || ok "tied: no output.weight"
grep -q '^  output.weight' llama31.txt && ok "untied: output.weight" || bad "untied llama lacks output.weight"
grep 'blk.0.attn_q.weight *bf16 *\[128, 64\]' mistral-hd.txt >/dev/null && ok "head_dim 32: attn_q [128, 64]" || bad "mistral-hd attn_q shape"
grep -q 'blk.0.attn_q.bias' qwen2.txt && ok "qwen2: attn_q.bias" || bad "qwen2 has no attn_q.bias"
grep -q 'rope_freqs' mistral.txt qwen2.txt && bad "rope_freqs without llama3 scaling" || ok "no rope_freqs without llama3 scaling"
"$BIN/wk-inspect" --json llama31-tied.gguf >j.json 2>/dev/null || true
for a in "mistral:llama" "qwen2:qwen2" "llama31:llama"; do
    "$PY" - "${a%%:*}.gguf" "${a#*:}" <<'PYEOF' && ok "${a%%:*}: general.architecture ${a#*:}" || bad "${a%%:*}: architecture"
import struct, sys
d = open(sys.argv[1], "rb").read()
k = b"general.architecture"
i = d.index(struct.pack("<Q", len(k)) + k) + 8 + len(k)
t, n = struct.unpack_from("<IQ", d, i)
assert t == 8 and d[i + 12:i + 12 + n].decode() == sys.argv[2], d[i + 12:i + 12 + n]
PYEOF
done
"$BIN/wk-inspect" --meta llama31-tied.gguf >m1.txt 2>&1 && "$BIN/wk-inspect" --meta qwen2.gguf >m2.txt 2>&1 || bad "wk-inspect --meta"
grep 'llama.attention.key_length *u32 *16$' m1.txt >/dev/null && ok "head_dim in config.json -> attention.key_length (as the converter)" || bad "no key_length"
grep 'qwen2.block_count *u32 *2$' m2.txt >/dev/null && ! grep 'qwen2.vocab_size\|rope.dimension_count\|llama\.' m2.txt >/dev/null &&
    ok "qwen2: qwen2.* keys, no vocab_size / rope.dimension_count (as Qwen2Model)" || bad "qwen2 metadata: $(grep qwen2 m2.txt)"
# same input, same bytes, for any -j
"$BIN/wk-pack" -q "$ARCH/qwen2-tied" j1.gguf --vocab tokenizer.model -j1
"$BIN/wk-pack" -q "$ARCH/qwen2-tied" j2.gguf --vocab tokenizer.model -j2
cmp -s j1.gguf j2.gguf && cmp -s j1.gguf qwen2-tied.gguf && ok "-j1 = -j2 = default" || bad "-j changes the bytes"

# ---- architectures and config keys refused by name ----------------------------------------------
m qwen2 'architectures=["Qwen2MoeForCausalLM"]' model_type='"qwen2_moe"'
expect_fail 'h/config.json: "architectures": Qwen2MoeForCausalLM is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)' -- "$BIN/wk-pack" h o.gguf
m mistral 'architectures=["MixtralForCausalLM"]' model_type='"mixtral"'
expect_fail 'MixtralForCausalLM is not supported' -- "$BIN/wk-pack" h o.gguf
m llama31 'architectures=["Gemma2ForCausalLM"]'
expect_fail 'Gemma2ForCausalLM is not supported' -- "$BIN/wk-pack" h o.gguf
m llama31 model_type='"mistral"'
expect_fail 'h/config.json: "architectures" is LlamaForCausalLM but "model_type" is "mistral"' -- "$BIN/wk-pack" h o.gguf
m qwen2 num_experts=60
expect_fail 'h/config.json: "num_experts": mixture-of-experts' -- "$BIN/wk-pack" h o.gguf
m llama31 'quantization_config={"quant_method": "awq"}'
expect_fail 'h/config.json: key "quantization_config" is not known for LlamaForCausalLM' -- "$BIN/wk-pack" h o.gguf
m mistral 'partial_rotary_factor=0.5'
expect_fail 'h/config.json: key "partial_rotary_factor" is not known for MistralForCausalLM' -- "$BIN/wk-pack" h o.gguf
m qwen2 'attention_bias=True'
expect_fail 'h/config.json: key "attention_bias" is not known for Qwen2ForCausalLM' -- "$BIN/wk-pack" h o.gguf
m llama31 'attention_bias=True'
expect_fail 'h/config.json: "attention_bias" is not false' -- "$BIN/wk-pack" h o.gguf
m llama31 'mlp_bias=True'
expect_fail 'h/config.json: "mlp_bias" is not false' -- "$BIN/wk-pack" h o.gguf

# ---- rope variants -------------------------------------------------------------------------------
# a valid llama3 rope_scaling; a case repeats a key to change it (a Python dict literal keeps the
# first place of a key and its last value, so the config.json is the one spelled out in full)
L3ROPE='"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64'
for t in yarn dynamic longrope su; do
    m llama31 'rope_scaling={"rope_type": "'$t'", "factor": 4.0, "original_max_position_embeddings": 4096}'
    expect_fail "h/config.json: rope_scaling type \"$t\" is not implemented for LlamaForCausalLM (only linear and llama3)" -- "$BIN/wk-pack" h o.gguf
done
m qwen2 'rope_scaling={"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}'
expect_fail 'h/config.json: rope_scaling type "yarn" is not implemented for Qwen2ForCausalLM (only linear)' -- "$BIN/wk-pack" h o.gguf
m qwen2 "rope_scaling={$L3ROPE}"
expect_fail 'rope_scaling type "llama3" is not implemented for Qwen2ForCausalLM' -- "$BIN/wk-pack" h o.gguf
m llama31 'rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}'
expect_fail 'h/config.json: rope_scaling: missing key "original_max_position_embeddings"' -- "$BIN/wk-pack" h o.gguf
m llama31 "rope_scaling={$L3ROPE, \"low_freq_factor\": 4.0, \"high_freq_factor\": 1.0}"
expect_fail 'h/config.json: rope_scaling: high_freq_factor 1 must be greater than low_freq_factor 4' -- "$BIN/wk-pack" h o.gguf
m llama31 "rope_scaling={$L3ROPE, \"factor\": 0.5}"
expect_fail 'h/config.json: "rope_scaling.factor" is' -- "$BIN/wk-pack" h o.gguf
m llama31 "rope_scaling={$L3ROPE, \"mscale\": 1.0}"
expect_fail 'h/config.json: rope_scaling: key "mscale" is not known for type "llama3"' -- "$BIN/wk-pack" h o.gguf
m llama31 'rope_parameters={"rope_type": "default", "rope_theta": 10000.0}' rope_scaling=None
expect_ok "$BIN/wk-pack" h o.gguf
m llama31 'rope_parameters={"rope_type": "default"}'
expect_fail 'h/config.json: both "rope_parameters" and "rope_scaling"' -- "$BIN/wk-pack" h o.gguf

# ---- sliding windows -------------------------------------------------------------------------------
m mistral sliding_window=4096 max_position_embeddings=32768
expect_fail 'h/config.json: sliding_window 4096 is smaller than the context length 32768: llama.cpp'"'"'s llama architecture has no sliding-window attention' -- "$BIN/wk-pack" h o.gguf
expect_ok "$BIN/wk-pack" h o.gguf --ctx 4096
m mistral sliding_window=DEL max_position_embeddings=32768
expect_fail 'h/config.json: sliding_window 4096 (the default: no key) is smaller than the context length 32768' -- "$BIN/wk-pack" h o.gguf
m mistral sliding_window=4096
expect_ok "$BIN/wk-pack" h o.gguf
m qwen2 use_sliding_window=True
expect_fail 'h/config.json: "use_sliding_window" is not false' -- "$BIN/wk-pack" h o.gguf
m qwen2 'layer_types=["full_attention", "sliding_attention"]'
expect_fail 'h/config.json: "layer_types": only "full_attention" layers are implemented (entry 1)' -- "$BIN/wk-pack" h o.gguf
m qwen2 'layer_types=["full_attention", "full_attention"]' use_mrope=False
expect_ok "$BIN/wk-pack" h o.gguf
m qwen2 use_mrope=True
expect_fail 'h/config.json: "use_mrope" is not false' -- "$BIN/wk-pack" h o.gguf
m llama31 sliding_window=4096
expect_fail 'h/config.json: "sliding_window" is set' -- "$BIN/wk-pack" h o.gguf

# ---- tied embeddings against the tensors -----------------------------------------------------------
m llama31 tie_word_embeddings=True
expect_fail 'h/config.json: tie_word_embeddings is true but the checkpoint has its own "lm_head.weight"' -- "$BIN/wk-pack" h o.gguf
m llama31-tied tie_word_embeddings=False
expect_fail 'h/config.json: tie_word_embeddings is false (absent: false) but the checkpoint has no "lm_head.weight"' -- "$BIN/wk-pack" h o.gguf
m qwen2-tied tie_word_embeddings=DEL
expect_fail 'tie_word_embeddings is false (absent: false)' -- "$BIN/wk-pack" h o.gguf

# ---- tensors an architecture does not have ---------------------------------------------------------
# rename_tensor DIR FROM TO: in a single-file safetensors checkpoint (same length names only)
st_rename() {
    "$PY" - "$@" <<'PYEOF'
import sys
p, a, b = sys.argv[1:]
d = open(p, "rb").read()
assert len(a) == len(b) and d.count(a.encode()) == 1, (a, b)
open(p, "wb").write(d.replace(a.encode(), b.encode()))
PYEOF
}
# st_add FILE NAME N: a tensor of N zeros (the file's dtype) appended to a safetensors file
st_add() {
    "$PY" - "$@" <<'PYEOF'
import json, struct, sys
p, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = open(p, "rb").read()
hl = struct.unpack_from("<Q", d)[0]
h = json.loads(d[8:8 + hl])
data = d[8 + hl:]
dt = next(v["dtype"] for k, v in h.items() if k != "__metadata__")
h[name] = {"dtype": dt, "shape": [n], "data_offsets": [len(data), len(data) + 2 * n]}
hj = json.dumps(h).encode()
hj += b" " * (-len(hj) % 8)
open(p, "wb").write(struct.pack("<Q", len(hj)) + hj + data + b"\0" * (2 * n))
PYEOF
}
m qwen2
st_add h/model.safetensors model.layers.1.self_attn.o_proj.bias 64
expect_fail 'h/model.safetensors: tensor "model.layers.1.self_attn.o_proj.bias": Qwen2ForCausalLM has no such bias' -- "$BIN/wk-pack" h o.gguf
m qwen2
st_rename h/model.safetensors model.layers.1.self_attn.k_proj.bias model.layers.1.self_attn.k_proj.bia_
expect_fail 'missing tensor "model.layers.1.self_attn.k_proj.bias"' -- "$BIN/wk-pack" h o.gguf
m qwen2 'architectures=["LlamaForCausalLM"]' model_type='"llama"' use_sliding_window=DEL max_window_layers=DEL sliding_window=DEL
expect_fail 'tensor "model.layers.0.self_attn.k_proj.bias": LlamaForCausalLM has no such bias' -- "$BIN/wk-pack" h o.gguf
m qwen2 head_dim=32
expect_fail 'h/config.json: head_dim 32 is not hidden_size 64 / num_attention_heads 4: not implemented for Qwen2ForCausalLM' -- "$BIN/wk-pack" h o.gguf
m mistral-hd head_dim=16
expect_fail 'h/model.safetensors: tensor "model.layers.0.self_attn.q_proj.weight": shape does not match width 64 (4 heads x 16)' -- "$BIN/wk-pack" h o.gguf
m llama31 vocab_size=500
expect_fail 'h/config.json: vocab_size 500, but the embedding has 512 rows' -- "$BIN/wk-pack" h o.gguf

# ---- bf16 -> f16: values beyond the float16 range are an error unless allowed -----------------------
m llama31-tied
"$PY" - h/model.safetensors <<'PYEOF'
import json, struct, sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
n = struct.unpack_from("<Q", d)[0]
h = json.loads(d[8:8 + n])
a = h["model.layers.0.mlp.up_proj.weight"]["data_offsets"][0]
struct.pack_into("<H", d, 8 + n + a + 2 * 5, 0x47c3)   # bf16 99840.0 at element 5
open(p, "wb").write(bytes(d))
PYEOF
expect_fail 'tensor "model.layers.0.mlp.up_proj.weight": 1 finite value beyond the range of float16 (first at element 5)' -- "$BIN/wk-pack" h o.gguf --outtype f16
expect_ok "$BIN/wk-pack" h o.gguf --outtype f16 --allow-nonfinite
expect_ok "$BIN/wk-pack" h o.gguf

# ---- wk-quantize mixes only the architectures whose llama.cpp rules it reproduces ------------------
"$PY" - qwen2.gguf q3.gguf <<'PYEOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
k = b"general.architecture"
i = d.index(struct.pack("<Q", len(k)) + k) + 8 + len(k) + 12
assert d[i:i + 5] == b"qwen2"
d[i:i + 5] = b"qwen3"
open(sys.argv[2], "wb").write(bytes(d))
PYEOF
expect_fail 'q3.gguf: general.architecture "qwen3": llama.cpp'"'"'s type mix for it is not reproduced (llama, qwen2); use --pure' -- "$BIN/wk-quantize" q3.gguf o.gguf q4_k_m
expect_ok "$BIN/wk-quantize" q3.gguf o.gguf q8_0 --pure
expect_ok "$BIN/wk-quantize" qwen2.gguf o.gguf q4_k_m

[[ $fails == 0 ]] || { echo "pack_arch: $fails failure(s)" >&2; exit 1; }
echo "pack_arch: OK"
