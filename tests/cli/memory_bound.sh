#!/usr/bin/env bash
# memory_bound.sh — peak resident memory stays bounded on a model far larger than the bound
# (issue #23, docs/pack.md "Memory").  A shape-exact HF LLaMA directory whose safetensors data
# is a hole (sparse: ~800 MB apparent, almost nothing on disk; bf16 zeros) is packed to GGUF
# with digests (every input byte read: XXH3 while written, q/k un-permuted), the output's digests
# are verified.  Each process's peak RSS (VmHWM, from
# wait4's ru_maxrss) must stay under LIMIT_MB — the mapped input pages are released behind the
# reads.  A memory bound, not a time bound.  Also checks the one-pass GGUF (digests hashed while
# written, header written last) is byte-identical to the two-pass one (--sha256 path).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
LIMIT_MB=${LIMIT_MB:-64}
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*
cd "$TMP"
fails=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }

free_kb=$(df -Pk "$TMP" | awk 'NR == 2 {print $4}')
if (( free_kb < 3 * 1024 * 1024 )); then
    echo "memory_bound: less than 3 GiB free in $TMP" >&2
    exit 77
fi

# dim 2048, 1 layer, vocab 98304 (bf16): embed_tokens and lm_head 384 MiB each
"$PY" - "$TMP/hf" "$SRC/tests/fixtures/models/tokenizer.model" <<'EOF'
import json, os, shutil, struct, sys
out, tok = sys.argv[1], sys.argv[2]
os.makedirs(out)
dim, ffn, vocab, heads, kv = 2048, 5632, 98304, 16, 4
hd = dim // heads
shapes = {"model.embed_tokens.weight": [vocab, dim], "model.norm.weight": [dim], "lm_head.weight": [vocab, dim]}
for k, s in (("self_attn.q_proj", [dim, dim]), ("self_attn.k_proj", [kv * hd, dim]),
             ("self_attn.v_proj", [kv * hd, dim]), ("self_attn.o_proj", [dim, dim]),
             ("mlp.gate_proj", [ffn, dim]), ("mlp.up_proj", [ffn, dim]), ("mlp.down_proj", [dim, ffn]),
             ("input_layernorm", [dim]), ("post_attention_layernorm", [dim])):
    shapes["model.layers.0.%s.weight" % k] = s
hdr, off = {}, 0
for name, s in shapes.items():
    n = 2
    for d in s: n *= d
    hdr[name] = {"dtype": "BF16", "shape": s, "data_offsets": [off, off + n]}
    off += n
h = json.dumps(hdr).encode()
h += b" " * (-len(h) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    f.truncate(8 + len(h) + off)            # the data: a hole (zeros)
json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
           "intermediate_size": ffn, "num_attention_heads": heads, "num_hidden_layers": 1,
           "num_key_value_heads": kv, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
           "max_position_embeddings": 2048, "tie_word_embeddings": False, "vocab_size": vocab,
           "hidden_act": "silu", "torch_dtype": "bfloat16"}, open(os.path.join(out, "config.json"), "w"))
shutil.copyfile(tok, os.path.join(out, "tokenizer.model"))
EOF
apparent=$(stat -c %s hf/model.safetensors)

# peak RSS (KiB) of a command, from wait4; the command's status must be 0
peak() {
    "$PY" -c '
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, st, ru = os.wait4(pid, 0)
if not os.WIFEXITED(st) or os.WEXITSTATUS(st) != 0: sys.exit("status %d" % st)
print(ru.ru_maxrss)' "$@"
}

check() {  # NAME COMMAND...
    local name=$1 kb
    shift
    if ! kb=$(peak "$@"); then bad "$name: failed"; return; fi
    if (( kb < LIMIT_MB * 1024 )); then
        ok "$name: peak RSS $((kb / 1024)) MiB < $LIMIT_MB MiB on $((apparent >> 20)) MiB of input"
    else
        bad "$name: peak RSS $((kb / 1024)) MiB, bound $LIMIT_MB MiB ($((apparent >> 20)) MiB of input)"
    fi
}

check "wk-pack HF -> GGUF (digests)" "$BIN/wk-pack" -q "$TMP/hf" "$TMP/m.gguf"
check "wk-inspect --verify" "$BIN/wk-inspect" --verify "$TMP/m.gguf"

# the one-pass file (header written last) against the two-pass one (--sha256 hashes the stream)
if "$BIN/wk-pack" -q --sha256 "$TMP/hf" "$TMP/two.gguf" && cmp -s "$TMP/m.gguf" "$TMP/two.gguf"; then
    ok "one-pass digests: byte-identical to the digest-pass output"
else
    bad "one-pass digests: output differs from the digest-pass output"
fi
(cd "$TMP" && sha256sum -c --quiet two.gguf.sha256) && ok "--sha256 sidecar matches" || bad "--sha256 sidecar"
rm -rf "${TMP:?}"/*
exit $((fails > 0))
