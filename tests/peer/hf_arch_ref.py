#!/usr/bin/python3
"""References for wk-pack's architectures (tests/peer/pack_arch.sh); Debian python3 + torch/numpy.

  hf_arch_ref.py logits MODEL_DIR OUT.bin TOKEN... [--no-rope-scaling]
      Forward pass of the HF checkpoint in MODEL_DIR (config.json + model*.safetensors or
      pytorch_model.bin), float32, written from transformers' modeling_llama / modeling_qwen2
      formulas (not from llama.cpp): RMSNorm, q/k/v (+ Qwen2 biases), rotate_half rotary with
      HF's inv_freq (llama3 rope scaling as transformers' _compute_llama3_parameters applies it),
      grouped-query attention (repeat_kv), causal softmax, SwiGLU MLP, tied or separate lm_head.
      Logits of every position, little-endian float32 [n_tokens, vocab], to OUT.bin.
      --no-rope-scaling ignores rope_scaling (to show that the test can tell).
  hf_arch_ref.py ropefreqs GGUF CONFIG_JSON
      rope_freqs.weight of GGUF against (1) llama3_factors_numpy below, bit for bit, and (2)
      the converter's own code (LlamaModel.generate_extra_tensors of the llama.cpp release,
      copied verbatim below and run with torch): bit for bit too, or the count of values that
      differ by one float32 ulp (torch's vectorised pow is not libm's powf) is printed.
  hf_arch_ref.py golden
      The known-answer vectors of tests/unit/test_arch.c (a C header on stdout).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

# ---- weights -------------------------------------------------------------------------------


def read_st(path):
    with open(path, "rb") as fh:
        data = fh.read()
    n = struct.unpack("<Q", data[:8])[0]
    head = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for k, v in head.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        raw = np.frombuffer(data[base + a:base + b], dtype="<u2")
        if v["dtype"] == "BF16":
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        elif v["dtype"] == "F16":
            arr = raw.view(np.float16).astype(np.float32)
        else:
            sys.exit("%s: dtype %s not handled" % (path, v["dtype"]))
        out[k] = torch.from_numpy(arr.reshape(v["shape"]).copy())
    return out


def load_weights(d):
    if os.path.exists(os.path.join(d, "model.safetensors.index.json")):
        idx = json.load(open(os.path.join(d, "model.safetensors.index.json")))
        sd = {}
        for fn in sorted(set(idx["weight_map"].values())):
            sd.update(read_st(os.path.join(d, fn)))
        return sd
    if os.path.exists(os.path.join(d, "model.safetensors")):
        return read_st(os.path.join(d, "model.safetensors"))
    return {k: v.float() for k, v in torch.load(os.path.join(d, "pytorch_model.bin")).items()}

# ---- the forward pass (transformers' formulas) --------------------------------------------------


def inv_freq_of(cfg, dim, scaling):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    rs = cfg.get("rope_scaling") if scaling else None
    if not rs:
        return inv
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        return inv / rs["factor"]
    assert kind == "llama3", kind
    factor, lff, hff = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old = rs["original_max_position_embeddings"]
    low_wl, high_wl = old / lff, old / hff
    wavelen = 2 * math.pi / inv
    inv_l = torch.where(wavelen > low_wl, inv / factor, inv)
    smooth = (old / wavelen - lff) / (hff - lff)
    smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
    medium = ~(wavelen < high_wl) * ~(wavelen > low_wl)
    return torch.where(medium, smoothed, inv_l)


def rms(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


@torch.no_grad()
def forward(d, tokens, scaling=True):
    cfg = json.load(open(os.path.join(d, "config.json")))
    sd = load_weights(d)
    h, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads", nh)
    hd, eps = cfg.get("head_dim") or h // nh, cfg["rms_norm_eps"]
    n = len(tokens)
    x = sd["model.embed_tokens.weight"][torch.tensor(tokens)]
    inv = inv_freq_of(cfg, hd, scaling)
    ang = torch.outer(torch.arange(n, dtype=torch.float32), inv)
    emb = torch.cat((ang, ang), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((n, n), float("-inf")).triu(1)

    def lin(t, name):
        y = t @ sd[name + ".weight"].T
        return y + sd[name + ".bias"] if name + ".bias" in sd else y

    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        a = rms(x, sd[p + "input_layernorm.weight"], eps)
        q = lin(a, p + "self_attn.q_proj").view(n, nh, hd).transpose(0, 1)
        k = lin(a, p + "self_attn.k_proj").view(n, nkv, hd).transpose(0, 1)
        v = lin(a, p + "self_attn.v_proj").view(n, nkv, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=0)   # repeat_kv
        v = v.repeat_interleave(nh // nkv, dim=0)
        att = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd) + mask, dim=-1)
        o = (att @ v).transpose(0, 1).reshape(n, nh * hd)
        x = x + lin(o, p + "self_attn.o_proj")
        m = rms(x, sd[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(lin(m, p + "mlp.gate_proj")) * lin(m, p + "mlp.up_proj")
        x = x + lin(g, p + "mlp.down_proj")
    x = rms(x, sd["model.norm.weight"], eps)
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    return x @ head.T

# ---- llama3 rope factors --------------------------------------------------------------------


def llama3_factors_numpy(base, dim, factor, lff, hff, old):
    """The converter's computation with numpy float32 scalars, one torch operation per step
    (docs/formats/llama-layouts.md §4.3): pow is libm's powf (numpy's float32 power)."""
    f32 = np.float32
    out = []
    for i in range(0, dim, 2):
        e = f32(i) / f32(dim)
        freq = f32(1) / np.power(f32(base), e)
        wavelen = (f32(1) / freq) * f32(2 * math.pi)
        if wavelen < f32(old / hff):
            out.append(f32(1))
        elif wavelen > f32(old / lff):
            out.append(f32(factor))
        else:
            s = (f32(1) / wavelen) * f32(old)
            s = (s - f32(lff)) / f32(hff - lff)
            out.append(f32(1) / ((f32(1) - s) / f32(factor) + s))
    return np.array(out, dtype=np.float32)


def llama3_factors_converter(hparams, rope_params):
    """LlamaModel.generate_extra_tensors of llama.cpp's conversion/llama.py, verbatim but for
    `self.` and the yield."""
    base = rope_params.get("rope_theta", 10000.0)
    if (dim := hparams.get("head_dim")) is None:
        dim = hparams["hidden_size"] // hparams["num_attention_heads"]
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))

    factor = rope_params.get("factor", 8.0)
    low_freq_factor = rope_params.get("low_freq_factor", 1.0)
    high_freq_factor = rope_params.get("high_freq_factor", 4.0)
    old_context_len = rope_params.get("original_max_position_embeddings", 8192)

    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor

    rope_factors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            rope_factors.append(1)
        elif wavelen > low_freq_wavelen:
            rope_factors.append(factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            rope_factors.append(1 / ((1 - smooth) / factor + smooth))
    return torch.tensor(rope_factors, dtype=torch.float32).numpy()


def gguf_tensor(path, want):
    """The F32 data of tensor `want` in a GGUF file (minimal reader: v3, little-endian)."""
    data = open(path, "rb").read()
    off = [0]

    def rd(fmt):
        v = struct.unpack_from("<" + fmt, data, off[0])
        off[0] += struct.calcsize("<" + fmt)
        return v[0]

    def rstr():
        n = rd("Q")
        s = data[off[0]:off[0] + n]
        off[0] += n
        return s.decode()
    sizes = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def skip(t):
        if t == 8:
            rstr()
        elif t == 9:
            et, n = rd("I"), rd("Q")
            for _ in range(n):
                skip(et)
        else:
            rd(sizes[t])
    assert data[:4] == b"GGUF"
    off[0] = 8
    nt, nkv = rd("Q"), rd("Q")
    align = 32
    for _ in range(nkv):
        k, t = rstr(), rd("I")
        if k == "general.alignment":
            align = rd("I")
        else:
            skip(t)
    infos = {}
    for _ in range(nt):
        name, nd = rstr(), rd("I")
        ne = [rd("Q") for _ in range(nd)]
        typ, o = rd("I"), rd("Q")
        infos[name] = (ne, typ, o)
    base = (off[0] + align - 1) // align * align
    ne, typ, o = infos[want]
    assert typ == 0, "%s is not F32" % want
    return np.frombuffer(data, dtype="<f4", count=int(np.prod(ne)), offset=base + o)


def cmd_ropefreqs(gguf, cfg_path):
    cfg = json.load(open(cfg_path))
    rs = dict(cfg["rope_scaling"])
    rs.setdefault("rope_theta", cfg.get("rope_theta", 10000.0))
    got = gguf_tensor(gguf, "rope_freqs.weight")
    dim = cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]
    want = llama3_factors_numpy(rs["rope_theta"], dim, rs["factor"], rs["low_freq_factor"],
                                rs["high_freq_factor"], rs["original_max_position_embeddings"])
    conv = llama3_factors_converter(cfg, rs)
    if got.tobytes() != want.tobytes():
        sys.exit("%s: rope_freqs %s != numpy reference %s" % (gguf, got.tolist(), want.tolist()))
    ulps = np.abs(got.view(np.int32).astype(np.int64) - conv.view(np.int32).astype(np.int64))
    if ulps.max() > 1:
        sys.exit("%s: rope_freqs %s differ from the converter's %s by more than one ulp"
                 % (gguf, got.tolist(), conv.tolist()))
    print("rope_freqs %-30s %d values, bit-identical to the numpy reference; %s converter"
          % (os.path.basename(gguf), got.size, "bit-identical to the" if not ulps.any()
             else "%d value(s) one ulp from the" % int((ulps > 0).sum())))
    print("  values: %s" % " ".join("%.9g" % v for v in got))


GOLDEN = [  # base, dim, factor, low_freq_factor, high_freq_factor, original context
    (500000.0, 128, 8.0, 1.0, 4.0, 8192),     # Llama 3.1 / 3.2 / 3.3
    (500000.0, 64, 32.0, 1.0, 4.0, 8192),     # Llama 3.2 1B/3B (head_dim 64, factor 32)
    (500000.0, 16, 8.0, 1.0, 4.0, 64),        # tests/fixtures/models/arch/llama31-tied
    (10000.0, 16, 4.0, 1.0, 4.0, 256),        # tests/fixtures/models/arch/llama31
    (10000.0, 256, 8.0, 1.0, 4.0, 8192),      # torch's vectorised pow differs from powf in one frequency (not in the factors)
    (1000000.0, 128, 16.0, 2.0, 8.0, 32768),
    (123456.7, 96, 3.5, 0.5, 5.25, 4000),
]


def cmd_golden():
    print("/* Generated by tests/peer/hf_arch_ref.py golden: llama3 rope factors (numpy float32,")
    print(" * llama3_factors_numpy) as float32 bit patterns.  Do not edit. */")
    print("static const struct { double base; unsigned dim; double factor, lff, hff; long long octx;")
    print("                      unsigned n; unsigned bits[128]; } k_golden[] = {")
    for base, dim, factor, lff, hff, old in GOLDEN:
        v = llama3_factors_numpy(base, dim, factor, lff, hff, old).view(np.uint32)
        hexes = ", ".join("0x%08x" % b for b in v)
        print("    {%r, %d, %r, %r, %r, %d, %d, {%s}}," % (base, dim, factor, lff, hff, old, v.size, hexes))
    print("};")


def main():
    a = sys.argv[1:]
    if a[:1] == ["logits"] and len(a) >= 4:
        scaling = "--no-rope-scaling" not in a
        toks = [int(t) for t in a[3:] if not t.startswith("--")]
        forward(a[1], toks, scaling).numpy().astype("<f4").tofile(a[2])
    elif a[:1] == ["ropefreqs"] and len(a) == 3:
        cmd_ropefreqs(a[1], a[2])
    elif a == ["golden"]:
        cmd_golden()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
