#!/usr/bin/python3
"""quant_e2e_gguf.py OUT.gguf DIM LAYERS VOCAB FF — a LLaMA-shaped f32 GGUF of random
N(0, 0.02) weights (norms 1.0) for bench/quant_bench.sh's QB_E2E mode, written with the
gguf-py of the llama.cpp source bundle (tests/peer/setup_llama_cpp.sh installs it under
/opt/weightkit-peers, or $WK_PEERS_DIR).  Seeded: the same file every time."""
import os
import sys, numpy as np
sys.path.insert(0, os.path.join(os.environ.get("WK_PEERS_DIR", "/opt/weightkit-peers"), "llama.cpp-src-3.22.1", "gguf-py"))
import gguf
out, dim, nl, vocab, ff = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
w = gguf.GGUFWriter(out, "llama")
w.add_context_length(2048); w.add_embedding_length(dim); w.add_block_count(nl)
w.add_feed_forward_length(ff); w.add_head_count(dim//128); w.add_head_count_kv(dim//128)
w.add_layer_norm_rms_eps(1e-5); w.add_file_type(0)
rng = np.random.default_rng(1)
def t(name, shape):
    a = (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)
    w.add_tensor(name, a)
t("token_embd.weight", (vocab, dim))
for i in range(nl):
    p = f"blk.{i}."
    w.add_tensor(p+"attn_norm.weight", np.ones(dim, np.float32))
    for n in ("attn_q","attn_k","attn_v","attn_output"): t(p+n+".weight", (dim, dim))
    w.add_tensor(p+"ffn_norm.weight", np.ones(dim, np.float32))
    t(p+"ffn_gate.weight", (ff, dim)); t(p+"ffn_up.weight", (ff, dim)); t(p+"ffn_down.weight", (dim, ff))
w.add_tensor("output_norm.weight", np.ones(dim, np.float32))
t("output.weight", (vocab, dim))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
