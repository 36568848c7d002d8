# bpe_tiny_model.py — a tiny random LlamaForCausalLM in an HF directory (config.json +
# model.safetensors, F16), with ROWS embedding rows, for the byte-level BPE peer tests:
#   /usr/bin/python3 tests/peer/bpe_tiny_model.py DIR ROWS [TIE]
# The weights mean nothing (seeded random); only the vocabulary around them is tested.
# TIE=1: no lm_head, tie_word_embeddings true (what a Llama 3.2 1B / Qwen2 0.5B ships).
import json, os, struct, sys
import numpy as np

d, rows = sys.argv[1], int(sys.argv[2])
tie = len(sys.argv) > 3 and sys.argv[3] == "1"
os.makedirs(d, exist_ok=True)
H, L, NH, FF = 64, 2, 4, 128
rng = np.random.default_rng(7)
t = {"model.embed_tokens.weight": (rows, H), "model.norm.weight": (H,)}
if not tie:
    t["lm_head.weight"] = (rows, H)
for i in range(L):
    p = f"model.layers.{i}."
    for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
        t[p + f"self_attn.{n}.weight"] = (H, H)
    t[p + "mlp.gate_proj.weight"] = (FF, H)
    t[p + "mlp.up_proj.weight"] = (FF, H)
    t[p + "mlp.down_proj.weight"] = (H, FF)
    t[p + "input_layernorm.weight"] = (H,)
    t[p + "post_attention_layernorm.weight"] = (H,)
hdr, blobs, off = {}, [], 0
for name, shape in sorted(t.items()):
    a = (np.ones(shape) if len(shape) == 1 else rng.standard_normal(shape) * 0.05).astype("<f2")
    b = a.tobytes()
    hdr[name] = {"dtype": "F16", "shape": list(shape), "data_offsets": [off, off + len(b)]}
    blobs.append(b)
    off += len(b)
h = json.dumps(hdr, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(os.path.join(d, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for b in blobs:
        f.write(b)
cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": H,
       "intermediate_size": FF, "num_hidden_layers": L, "num_attention_heads": NH,
       "num_key_value_heads": NH, "max_position_embeddings": 256, "rms_norm_eps": 1e-5,
       "rope_theta": 10000.0, "vocab_size": rows, "tie_word_embeddings": tie, "torch_dtype": "float16"}
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
