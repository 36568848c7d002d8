#!/usr/bin/python3
"""Reference for wk-convert's Llama 3.x conversion (issue 18), torch only (Debian's torch 1.13).

There is no transformers package here.  This re-does, with torch doing the work, what
transformers 4.45's convert_llama_weights_to_hf.py --llama_version 3|3.1|3.2 + from_pretrained
(torch_dtype=bfloat16) + save_pretrained(safe_serialization=True) do to the model bytes
(docs/convert.md "Llama 3"): ranks merged (tok_embeddings by rows: concat_dim 0 for Llama 3),
q/k rows permuted to the half-split rotary layout (k with n_kv_heads), every weight cast with
Tensor.to(bfloat16), state_dict order embed, per layer q k v o gate up down norms, norm, lm_head
(dropped when tied: 3.2), huggingface_hub's shard rule (5GB), safetensors laid out as
convert_ref.py's save_safetensors, config/generation_config as json.dumps(indent=2,
sort_keys=True) + newline.

usage:
  convert_llama3_ref.py synth OUT_DIR --dim D --layers L --heads H --kv-heads K [--ranks N]
                        [--ffn-mult X] [--multiple-of M] [--scaled-rope] [--tied] [--seed S]
      a Meta-layout bf16 checkpoint (128256-row embedding), Meta-style params.json and a
      synthesized 128000-token tiktoken tokenizer.model (bytes, then byte pairs, then triples)
  convert_llama3_ref.py convert MODEL_DIR OUT_DIR --llama-version V [--instruct]
                        [--max-shard-size BYTES]
      the model files above (no tokenizer files)
  convert_llama3_ref.py logits HF_DIR MODEL_DIR --llama-version V
      the HF directory's safetensors (parsed with json + struct) in a HF-style forward (half-split
      rotary, inv_freq scaled by config.json's rope_scaling as transformers'
      _compute_llama3_parameters does) against Meta's forward on the original weights
      (interleaved complex rotary, llama-models' apply_scaling): max |diff| must be < 1e-4, and
      the same HF forward without the scaling must be off by more than 100x that (so the
      scaling is actually exercised).  Prints the numbers; exit 1 on failure.
"""
import argparse
import base64
import glob
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_ref import save_safetensors  # noqa: E402  (the same layout rule)

VOCAB = 128256
FACTOR = {"3": None, "3.1": 8.0, "3.2": 32.0, "3.3": 8.0}
CONTEXT = {"3": 8192, "3.1": 131072, "3.2": 131072, "3.3": 131072}


def dumps(obj):
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


# ---------------------------------------------------------------------------------------------
# synthetic Meta checkpoint
# ---------------------------------------------------------------------------------------------
def ffn_size(dim, mult, multiple_of):
    hidden = int(2 * (4 * dim) / 3)
    if mult is not None:
        hidden = int(mult * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


def write_tiktoken(path):
    toks = [bytes([b]) for b in range(256)]
    toks += [bytes([a, b]) for a in range(256) for b in range(256)]
    n3 = 128000 - len(toks)
    k = 0
    while len(toks) < 128000:  # deterministic triples
        toks.append(bytes([(k * 7) % 256, (k // 256) % 256, (k * 13 + 5) % 256]))
        k += 1
    seen = set()
    with open(path, "wb") as f:
        r = 0
        for t in toks:
            if t in seen:
                continue
            seen.add(t)
            f.write(base64.b64encode(t) + b" %d\n" % r)
            r += 1
    assert r == 128000, (r, n3)


def cmd_synth(a):
    hd = a.dim // a.heads
    ffn = ffn_size(a.dim, a.ffn_mult, a.multiple_of)
    g = torch.Generator().manual_seed(a.seed)

    def rnd(*shape, scale=0.05):
        return (torch.randn(*shape, generator=g) * scale).to(torch.bfloat16)

    emb = rnd(VOCAB, a.dim, scale=0.5)
    spec = [("tok_embeddings.weight", emb, 0), ("norm.weight", None, None),
            ("output.weight", emb.clone() if a.tied else rnd(VOCAB, a.dim), 0)]
    for i in range(a.layers):
        p = "layers.%d." % i
        spec += [(p + "attention.wq.weight", rnd(a.dim, a.dim, scale=0.3), 0),
                 (p + "attention.wk.weight", rnd(a.kv_heads * hd, a.dim, scale=0.3), 0),
                 (p + "attention.wv.weight", rnd(a.kv_heads * hd, a.dim, scale=0.3), 0),
                 (p + "attention.wo.weight", rnd(a.dim, a.dim, scale=0.3), 1),
                 (p + "feed_forward.w1.weight", rnd(ffn, a.dim, scale=0.2), 0),
                 (p + "feed_forward.w2.weight", rnd(a.dim, ffn, scale=0.2), 1),
                 (p + "feed_forward.w3.weight", rnd(ffn, a.dim, scale=0.2), 0),
                 (p + "attention_norm.weight", None, None), (p + "ffn_norm.weight", None, None)]
    os.makedirs(a.out_dir, exist_ok=True)
    parts = [{} for _ in range(a.ranks)]
    for key, t, d in spec:
        if t is None:
            t = (1.0 + rnd(a.dim, scale=0.1).float()).to(torch.bfloat16)
        for r in range(a.ranks):
            parts[r][key] = t.clone() if d is None else torch.chunk(t, a.ranks, dim=d)[r].clone()
    for r in range(a.ranks):
        torch.save(parts[r], os.path.join(a.out_dir, "consolidated.%02d.pth" % r))
    params = {"dim": a.dim, "ffn_dim_multiplier": a.ffn_mult, "multiple_of": a.multiple_of,
              "n_heads": a.heads, "n_kv_heads": a.kv_heads, "n_layers": a.layers,
              "norm_eps": 1e-05, "rope_theta": 500000.0}
    if a.scaled_rope:
        params["use_scaled_rope"] = True
    params["vocab_size"] = VOCAB
    with open(os.path.join(a.out_dir, "params.json"), "w") as f:
        f.write(json.dumps(params))
    write_tiktoken(os.path.join(a.out_dir, "tokenizer.model"))


# ---------------------------------------------------------------------------------------------
# the conversion
# ---------------------------------------------------------------------------------------------
def permute(w, n_heads, dim1, dim2):
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def load_ranks(model_dir):
    n = len(glob.glob(os.path.join(model_dir, "consolidated.*.pth")))
    return [torch.load(os.path.join(model_dir, "consolidated.%02d.pth" % i), map_location="cpu")
            for i in range(n)]


def state_dict(params, ranks, version):
    dim, nh, nl = params["dim"], params["n_heads"], params["n_layers"]
    hd = dim // nh
    kv = params["n_kv_heads"]

    def cat(key, d):
        return torch.cat([r[key] for r in ranks], dim=d)

    def b16(t):
        return t.to(torch.bfloat16).contiguous().clone()

    sd = {"model.embed_tokens.weight": b16(cat("tok_embeddings.weight", 0))}
    for i in range(nl):
        p, o = "layers.%d." % i, "model.layers.%d." % i
        sd[o + "self_attn.q_proj.weight"] = b16(permute(cat(p + "attention.wq.weight", 0), nh, dim, dim))
        sd[o + "self_attn.k_proj.weight"] = b16(permute(cat(p + "attention.wk.weight", 0), kv, kv * hd, dim))
        sd[o + "self_attn.v_proj.weight"] = b16(cat(p + "attention.wv.weight", 0))
        sd[o + "self_attn.o_proj.weight"] = b16(cat(p + "attention.wo.weight", 1))
        sd[o + "mlp.gate_proj.weight"] = b16(cat(p + "feed_forward.w1.weight", 0))
        sd[o + "mlp.up_proj.weight"] = b16(cat(p + "feed_forward.w3.weight", 0))
        sd[o + "mlp.down_proj.weight"] = b16(cat(p + "feed_forward.w2.weight", 1))
        sd[o + "input_layernorm.weight"] = b16(ranks[0][p + "attention_norm.weight"])
        sd[o + "post_attention_layernorm.weight"] = b16(ranks[0][p + "ffn_norm.weight"])
    sd["model.norm.weight"] = b16(ranks[0]["norm.weight"])
    if version != "3.2":
        sd["lm_head.weight"] = b16(cat("output.weight", 0))
    return sd


def hub_shards(sd, max_size):
    """huggingface_hub's split_state_dict_into_shards_factory for one storage per tensor (no
    tensor larger than max_size here)."""
    shards, cur, cur_size, total = [], {}, 0, 0
    for k, t in sd.items():
        size = t.numel() * t.element_size()
        assert size <= max_size
        if cur_size + size > max_size:
            shards.append(cur)
            cur, cur_size = {}, 0
        cur[k] = t
        cur_size += size
        total += size
    shards.append(cur)
    return shards, total


def config_dict(params, version, instruct, ffn):
    dim = params["dim"]
    f = FACTOR[version]
    return {
        "architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
        "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009] if instruct else 128001,
        "head_dim": dim // params["n_heads"], "hidden_act": "silu", "hidden_size": dim,
        "initializer_range": 0.02, "intermediate_size": ffn,
        "max_position_embeddings": CONTEXT[version], "mlp_bias": False, "model_type": "llama",
        "num_attention_heads": params["n_heads"], "num_hidden_layers": params["n_layers"],
        "num_key_value_heads": params["n_kv_heads"], "pretraining_tp": 1,
        "rms_norm_eps": params["norm_eps"],
        "rope_scaling": None if f is None else {
            "factor": f, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192, "rope_type": "llama3"},
        "rope_theta": params["rope_theta"], "tie_word_embeddings": version == "3.2",
        "torch_dtype": "bfloat16", "transformers_version": "4.45.0.dev0", "use_cache": True,
        "vocab_size": VOCAB}


def cmd_convert(a):
    params = json.load(open(os.path.join(a.model_dir, "params.json")))
    ranks = load_ranks(a.model_dir)
    sd = state_dict(params, ranks, a.llama_version)
    ffn = sd["model.layers.0.mlp.gate_proj.weight"].shape[0]
    os.makedirs(a.out_dir)
    shards, total = hub_shards(sd, a.max_shard_size)
    n = len(shards)
    wmap = {}
    for i, sh in enumerate(shards):
        name = "model.safetensors" if n == 1 else "model-%05d-of-%05d.safetensors" % (i + 1, n)
        save_safetensors(sh, os.path.join(a.out_dir, name), {"format": "pt"})
        for k in sh:
            wmap[k] = name
    if n > 1:
        with open(os.path.join(a.out_dir, "model.safetensors.index.json"), "w") as f:
            f.write(dumps({"metadata": {"total_size": total}, "weight_map": wmap}))
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        f.write(dumps(config_dict(params, a.llama_version, a.instruct, ffn)))
    gen = ({"bos_token_id": 128000, "do_sample": True, "eos_token_id": [128001, 128008, 128009],
            "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.45.0.dev0"} if a.instruct else
           {"_from_model_config": True, "bos_token_id": 128000, "eos_token_id": 128001,
            "transformers_version": "4.45.0.dev0"})
    with open(os.path.join(a.out_dir, "generation_config.json"), "w") as f:
        f.write(dumps(gen))


# ---------------------------------------------------------------------------------------------
# logits
# ---------------------------------------------------------------------------------------------
def read_safetensors(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", (name, info["dtype"])
        b, e = info["data_offsets"]
        raw = bytearray(data[8 + n + b:8 + n + e])
        out[name] = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).reshape(info["shape"])
    return out


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def attend(q, k, v, n_heads, n_kv):
    T = q.shape[0]
    rep = n_heads // n_kv
    k = k.repeat_interleave(rep, dim=1)
    v = v.repeat_interleave(rep, dim=1)
    s = torch.einsum("thd,shd->hts", q, k) / math.sqrt(q.shape[-1])
    s = s + torch.full((T, T), float("-inf")).triu(1)
    return torch.einsum("hts,shd->thd", s.softmax(-1), v).reshape(T, -1)


def hf_inv_freq(cfg, scaled):
    hd = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg["rope_scaling"]
    if rs is None or not scaled:
        return inv
    assert rs["rope_type"] == "llama3"
    f, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
    lo_wl, hi_wl = old / lo, old / hi
    wl = 2 * math.pi / inv
    out = torch.where(wl > lo_wl, inv / f, inv)
    smooth = (old / wl - lo) / (hi - lo)
    smoothed = (1 - smooth) * out / f + smooth * out
    mid = ~(wl < hi_wl) * ~(wl > lo_wl)
    return torch.where(mid, smoothed, out)


def hf_forward(hf_dir, tokens, scaled=True):
    cfg = json.load(open(os.path.join(hf_dir, "config.json")))
    w = {}
    for p in sorted(glob.glob(os.path.join(hf_dir, "*.safetensors"))):
        w.update(read_safetensors(p))
    w = {k: v.float() for k, v in w.items()}
    if cfg["tie_word_embeddings"]:
        assert "lm_head.weight" not in w
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    nh, nkv, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    T = len(tokens)
    ang = torch.outer(torch.arange(T).float(), hf_inv_freq(cfg, scaled))
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos(), emb.sin()

    def rot(x):  # [T, H, hd]
        x1, x2 = x[..., :hd // 2], x[..., hd // 2:]
        return x * cos[:, None] + torch.cat([-x2, x1], -1) * sin[:, None]

    x = w["model.embed_tokens.weight"][tokens]
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms(x, w[p + "input_layernorm.weight"], eps)
        q = rot((h @ w[p + "self_attn.q_proj.weight"].T).view(T, nh, hd))
        k = rot((h @ w[p + "self_attn.k_proj.weight"].T).view(T, nkv, hd))
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(T, nkv, hd)
        x = x + attend(q, k, v, nh, nkv) @ w[p + "self_attn.o_proj.weight"].T
        h = rms(x, w[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(h @ w[p + "mlp.gate_proj.weight"].T)
        x = x + (g * (h @ w[p + "mlp.up_proj.weight"].T)) @ w[p + "mlp.down_proj.weight"].T
    return rms(x, w["model.norm.weight"], eps) @ w["lm_head.weight"].T


def apply_scaling(freqs, scale_factor, low_freq_factor=1, high_freq_factor=4, old_context_len=8192):
    """llama-models' Llama 3.1 frequency scaling, element by element."""
    low_wl, high_wl = old_context_len / low_freq_factor, old_context_len / high_freq_factor
    out = []
    for f in freqs.tolist():
        wl = 2 * math.pi / f
        if wl < high_wl:
            out.append(f)
        elif wl > low_wl:
            out.append(f / scale_factor)
        else:
            s = (old_context_len / wl - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append((1 - s) * f / scale_factor + s * f)
    return torch.tensor(out, dtype=freqs.dtype)


def meta_forward(model_dir, tokens, version):
    params = json.load(open(os.path.join(model_dir, "params.json")))
    ranks = load_ranks(model_dir)

    def cat(key, d):
        return torch.cat([r[key] for r in ranks], dim=d).float()

    dim, nh, nkv = params["dim"], params["n_heads"], params["n_kv_heads"]
    hd, eps, T = dim // nh, params["norm_eps"], len(tokens)
    freqs = 1.0 / (params["rope_theta"] ** (torch.arange(0, hd, 2)[: hd // 2].float() / hd))
    if params.get("use_scaled_rope"):
        freqs = apply_scaling(freqs, FACTOR[version])
    cis = torch.polar(torch.ones(T, hd // 2), torch.outer(torch.arange(T).float(), freqs))

    def rot(x):  # interleaved pairs as complex numbers
        xc = torch.view_as_complex(x.reshape(*x.shape[:-1], -1, 2))
        return torch.view_as_real(xc * cis[:, None]).flatten(-2)

    x = cat("tok_embeddings.weight", 0)[tokens]
    for i in range(params["n_layers"]):
        p = "layers.%d." % i
        h = rms(x, ranks[0][p + "attention_norm.weight"].float(), eps)
        q = rot((h @ cat(p + "attention.wq.weight", 0).T).view(T, nh, hd))
        k = rot((h @ cat(p + "attention.wk.weight", 0).T).view(T, nkv, hd))
        v = (h @ cat(p + "attention.wv.weight", 0).T).view(T, nkv, hd)
        x = x + attend(q, k, v, nh, nkv) @ cat(p + "attention.wo.weight", 1).T
        h = rms(x, ranks[0][p + "ffn_norm.weight"].float(), eps)
        g = torch.nn.functional.silu(h @ cat(p + "feed_forward.w1.weight", 0).T)
        x = x + (g * (h @ cat(p + "feed_forward.w3.weight", 0).T)) @ cat(p + "feed_forward.w2.weight", 1).T
    return rms(x, ranks[0]["norm.weight"].float(), eps) @ cat("output.weight", 0).T


def cmd_logits(a):
    g = torch.Generator().manual_seed(7)
    tokens = torch.randint(0, VOCAB, (a.tokens,), generator=g)
    ref = meta_forward(a.model_dir, tokens, a.llama_version)
    ours = hf_forward(a.hf_dir, tokens)
    d = (ours - ref).abs().max().item()
    scale = ref.abs().max().item()
    print("max|logits HF - Meta| = %.3g (logits up to %.3g)" % (d, scale))
    ok = d < 1e-4 * max(1.0, scale)
    if FACTOR[a.llama_version] is not None:
        dn = (hf_forward(a.hf_dir, tokens, scaled=False) - ref).abs().max().item()
        print("without rope scaling: max|diff| = %.3g" % dn)
        ok = ok and dn > 100 * max(d, 1e-7)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("synth")
    s.add_argument("out_dir")
    for k in ("--dim", "--layers", "--heads", "--kv-heads"):
        s.add_argument(k, type=int, required=True)
    s.add_argument("--ranks", type=int, default=1)
    s.add_argument("--ffn-mult", type=float, default=1.3)
    s.add_argument("--multiple-of", type=int, default=32)
    s.add_argument("--scaled-rope", action="store_true")
    s.add_argument("--tied", action="store_true")
    s.add_argument("--seed", type=int, default=0)
    c = sub.add_parser("convert")
    c.add_argument("model_dir")
    c.add_argument("out_dir")
    c.add_argument("--llama-version", required=True)
    c.add_argument("--instruct", action="store_true")
    c.add_argument("--max-shard-size", type=int, default=5000000000)
    lg = sub.add_parser("logits")
    lg.add_argument("hf_dir")
    lg.add_argument("model_dir")
    lg.add_argument("--llama-version", required=True)
    lg.add_argument("--tokens", type=int, default=48)
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "synth":
        cmd_synth(a)
        return 0
    if a.cmd == "convert":
        cmd_convert(a)
        return 0
    return cmd_logits(a)


if __name__ == "__main__":
    sys.exit(main())
