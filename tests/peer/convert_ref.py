#!/usr/bin/python3
"""Reference of transformers' convert_llama_weights_to_hf.py (v4.28-v4.32 era), torch only.

There is no transformers package here, so this re-implements what the script + from_pretrained
+ save_pretrained do to the bytes (docs/formats/llama-layouts.md §2, docs/convert.md),
with Debian's torch doing the real work: torch.cat / view / transpose for the merge and the q/k
permutation, Tensor.to(float16) for the cast, torch.save for the shards, json.dumps for the JSON.
It follows wk-convert's documented choices where they differ from the script (config values and
the k permutation from the actual tensors, rope_theta from params.json).

usage:
  convert_ref.py convert MODEL_DIR OUT_DIR [--transformers-version V] [--max-shard-size S]
                 [--tokenizer PATH | --no-tokenizer] [--slow-tokenizer] [--safetensors]
  convert_ref.py synth OUT_DIR --dim D --layers L --heads H [--kv-heads K] --vocab V
                 [--ranks N] [--dtype f16|bf16|f32] [--multiple-of M] [--ffn-mult X]
                 [--rope-theta T] [--seed S] [--share-layer-storage]
  convert_ref.py compare DIR_A DIR_B      load every .bin (torch.load) or .safetensors (parsed
                                          here) in both: same keys, order, dtypes, shapes and
                                          values (exit 1 otherwise)

--safetensors: save_pretrained(safe_serialization=True), i.e. safe_save_file(shard, path,
metadata={"format": "pt"}).  The safetensors package is not on this machine, so the file is laid
out here by its reference writer's rule: tensors sorted by dtype (descending enum order: F32
before BF16 before F16), then by name; header = compact JSON, "__metadata__" first, then each
tensor {"dtype","shape","data_offsets"} in that order; padded with spaces to a multiple of 8.

Tokenizer files: by default what the script wrote with `tokenizers` installed (LlamaTokenizerFast):
tokenizer_config.json with model_max_length 2048 and tokenizer.json, built here as transformers'
LlamaConverter builds it (SentencePieceExtractor's literal double loop over the vocab, Python's
stable sort) and written as tokenizers' save(pretty=True) writes it: serde_json's pretty form,
which for this data is json.dumps(indent=2, ensure_ascii=False) with insertion-ordered keys and
no final newline (same separators, same escapes: backslash-escaped quote, backslash, b t n f r,
other C0 controls as lowercase u00xx, everything else raw).  Pieces are read with the sentencepiece module.
--slow-tokenizer: the slow LlamaTokenizer's files only (model_max_length 1e30, no tokenizer.json).
"""
import argparse
import glob
import json
import math
import os
import re
import shutil
import sys

import torch

DEFAULT_VERSION = "4.28.0.dev0"
LAYER_KEYS = ("attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
              "attention.wo.weight", "feed_forward.w1.weight", "feed_forward.w2.weight",
              "feed_forward.w3.weight", "attention_norm.weight", "ffn_norm.weight")


# ---------------------------------------------------------------------------------------------
# profiles
# ---------------------------------------------------------------------------------------------
def profile(version):
    m = re.match(r"^4\.(\d+)\.\d+", version)
    if not m or not 28 <= int(m.group(1)) <= 32:
        sys.exit("convert_ref.py: unsupported transformers version %s" % version)
    minor = int(m.group(1))
    return {
        "version": version,
        "inv_freq": minor <= 31,       # persistent buffer until PR #24998 (4.32)
        "gqa_config": minor >= 31,     # num_key_value_heads, pretraining_tp, rope_scaling
        "pad_token": minor <= 31,      # LlamaConfig pad_token_id=0 until PR #24958 (4.32)
        "gqa_script": minor >= 31,
        "empty_first": True,           # E1 shard_checkpoint quirk (no non-empty check)
        "update_post": minor >= 31,    # LlamaTokenizerFast.update_post_processor (4.31)
    }


def convert_file_size_to_int(size):
    """transformers.modeling_utils.convert_file_size_to_int (int accepted as bytes)."""
    if isinstance(size, int) or re.fullmatch(r"\d+", size):
        return int(size)
    if size.upper().endswith("GIB"):
        return int(float(size[:-3]) * (2**30))
    if size.upper().endswith("MIB"):
        return int(float(size[:-3]) * (2**20))
    if size.upper().endswith("KIB"):
        return int(float(size[:-3]) * (2**10))
    for unit, mult in (("GB", 10**9), ("MB", 10**6), ("KB", 10**3)):
        if size.upper().endswith(unit):
            int_size = int(float(size[:-2]) * mult)
            return int_size // 8 if size.endswith("b") else int_size
    raise ValueError("bad size %r" % size)


def dtype_byte_size(dtype):
    bit_search = re.search(r"[^\d](\d+)$", str(dtype))
    return int(bit_search.groups()[0]) // 8


def shard_checkpoint(state_dict, max_shard_size, empty_first, weights_name="pytorch_model.bin"):
    """E1 (4.28.0.dev0) modeling_utils.shard_checkpoint."""
    sharded = [{}]
    last_block_size = 0
    total_size = 0
    for key, weight in state_dict.items():
        weight_size = weight.numel() * dtype_byte_size(weight.dtype)
        if last_block_size + weight_size > max_shard_size and (empty_first or len(sharded[-1]) > 0):
            sharded.append({})
            last_block_size = 0
        sharded[-1][key] = weight
        last_block_size += weight_size
        total_size += weight_size
    if len(sharded) == 1:
        return {weights_name: sharded[0]}, None
    weight_map, shards = {}, {}
    for idx, shard in enumerate(sharded):
        shard_file = weights_name.replace(".bin", f"-{idx + 1:05d}-of-{len(sharded):05d}.bin")
        shard_file = shard_file.replace(".safetensors",
                                        f"-{idx + 1:05d}-of-{len(sharded):05d}.safetensors")
        shards[shard_file] = shard
        for key in shard.keys():
            weight_map[key] = shard_file
    return shards, {"metadata": {"total_size": total_size}, "weight_map": weight_map}


# ---------------------------------------------------------------------------------------------
# safetensors (reference writer's layout, see the module doc)
# ---------------------------------------------------------------------------------------------
ST_DTYPES = {torch.float32: ("F32", 11), torch.bfloat16: ("BF16", 8), torch.float16: ("F16", 7)}
ST_TORCH = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def save_safetensors(tensors, path, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-ST_DTYPES[kv[1].dtype][1], kv[0]))
    header = {"__metadata__": metadata}
    off = 0
    blobs = []
    for name, t in items:
        b = t.contiguous().view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": ST_DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(len(h).to_bytes(8, "little"))
        fh.write(h)
        for b in blobs:
            fh.write(b)


def load_safetensors(path):
    with open(path, "rb") as fh:
        data = fh.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        buf = bytearray(data[8 + n + b:8 + n + e])
        t = torch.frombuffer(buf, dtype=torch.uint8) if buf else torch.empty(0, dtype=torch.uint8)
        out[name] = t.view(ST_TORCH[info["dtype"]]).reshape(info["shape"])
    return out


# ---------------------------------------------------------------------------------------------
# the conversion
# ---------------------------------------------------------------------------------------------
def permute(w, n_heads, dim1, dim2):
    return w.view(n_heads, dim1 // n_heads // 2, 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def fresh16(t):
    """What from_pretrained(torch_dtype=float16) + state_dict() hand to torch.save: a float16
    tensor with a storage of its own."""
    return t.to(torch.float16).contiguous().clone()


def load_ranks(model_dir):
    names = sorted(glob.glob(os.path.join(model_dir, "consolidated.*.pth")))
    n = len(names)
    return [torch.load(os.path.join(model_dir, "consolidated.%02d.pth" % i), map_location="cpu")
            for i in range(n)]


def hf_state_dict(params, ranks, prof):
    n = len(ranks)
    r0 = ranks[0]
    n_layers = params["n_layers"]
    n_heads = params["n_heads"]
    dim = params["dim"]
    hd = dim // n_heads
    n_kv = params.get("n_kv_heads") or n_heads
    kv_dim = n_kv * hd
    theta = float(params.get("rope_theta", 10000.0))
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))
    inv_freq = inv_freq.to(torch.float16).to(torch.float32)  # accelerate's cast, docs/formats/llama-layouts.md §2.7

    def cat(key, d):
        return torch.cat([r[key] for r in ranks], dim=d) if n > 1 else r0[key]

    sd = {"model.embed_tokens.weight": fresh16(cat("tok_embeddings.weight", 1))}
    for i in range(n_layers):
        p = "layers.%d." % i
        q = cat(p + "attention.wq.weight", 0).reshape(dim, dim)
        k = cat(p + "attention.wk.weight", 0).reshape(kv_dim, dim)
        v = cat(p + "attention.wv.weight", 0).reshape(kv_dim, dim)
        o = "model.layers.%d." % i
        sd[o + "self_attn.q_proj.weight"] = fresh16(permute(q, n_heads, dim, dim))
        sd[o + "self_attn.k_proj.weight"] = fresh16(permute(k, n_kv, kv_dim, dim))
        sd[o + "self_attn.v_proj.weight"] = fresh16(v)
        sd[o + "self_attn.o_proj.weight"] = fresh16(cat(p + "attention.wo.weight", 1))
        if prof["inv_freq"]:
            sd[o + "self_attn.rotary_emb.inv_freq"] = inv_freq.clone()
        sd[o + "mlp.gate_proj.weight"] = fresh16(cat(p + "feed_forward.w1.weight", 0))
        sd[o + "mlp.down_proj.weight"] = fresh16(cat(p + "feed_forward.w2.weight", 1))
        sd[o + "mlp.up_proj.weight"] = fresh16(cat(p + "feed_forward.w3.weight", 0))
        sd[o + "input_layernorm.weight"] = fresh16(r0[p + "attention_norm.weight"])
        sd[o + "post_attention_layernorm.weight"] = fresh16(r0[p + "ffn_norm.weight"])
    sd["model.norm.weight"] = fresh16(r0["norm.weight"])
    sd["lm_head.weight"] = fresh16(cat("output.weight", 0))
    return sd


def dumps(obj, ensure_ascii=True):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=ensure_ascii) + "\n"


def config_dict(params, sd, prof):
    n_heads = params["n_heads"]
    hd = params["dim"] // n_heads
    cfg = {
        "architectures": ["LlamaForCausalLM"], "bos_token_id": 1, "eos_token_id": 2,
        "hidden_act": "silu", "hidden_size": params["dim"], "initializer_range": 0.02,
        "intermediate_size": sd["model.layers.0.mlp.gate_proj.weight"].shape[0],
        "max_position_embeddings": 2048, "model_type": "llama",
        "num_attention_heads": n_heads, "num_hidden_layers": params["n_layers"],
        "rms_norm_eps": params["norm_eps"], "tie_word_embeddings": False,
        "torch_dtype": "float16", "transformers_version": prof["version"], "use_cache": True,
        "vocab_size": sd["model.embed_tokens.weight"].shape[0],
    }
    n_kv = sd["model.layers.0.self_attn.k_proj.weight"].shape[0] // hd
    if prof["gqa_config"]:
        cfg.update(num_key_value_heads=n_kv, pretraining_tp=1, rope_scaling=None)
    elif n_kv != n_heads:
        sys.exit("convert_ref.py: GQA model needs transformers >= 4.31")
    if prof["pad_token"]:
        cfg["pad_token_id"] = 0
    theta = params.get("rope_theta", 10000.0)
    if float(theta) != 10000.0:
        cfg["rope_theta"] = float(theta)
    return cfg


def generation_config_dict(prof):
    g = {"_from_model_config": True, "bos_token_id": 1, "eos_token_id": 2,
         "transformers_version": prof["version"]}
    if prof["pad_token"]:
        g["pad_token_id"] = 0
    return g


def added(content, with_type):
    t = {"__type": "AddedToken"} if with_type else {}
    t.update(content=content, lstrip=False, normalized=True, rstrip=False, single_word=False)
    return t


TOKENIZER_CONFIG = {
    "add_bos_token": True, "add_eos_token": False, "bos_token": added("<s>", True),
    "clean_up_tokenization_spaces": False, "eos_token": added("</s>", True),
    "model_max_length": int(1e30), "pad_token": None, "sp_model_kwargs": {},
    "tokenizer_class": "LlamaTokenizer", "unk_token": added("<unk>", True),
}
SPECIAL_TOKENS_MAP = {"bos_token": added("<s>", False), "eos_token": added("</s>", False),
                      "unk_token": added("<unk>", False)}


def spm_extract_merges(pieces, vocab_scores):
    """SentencePieceExtractor.extract: every (left, right) of the vocab whose concatenation
    has a non-zero score, by score descending (stable over the double loop's order)."""
    vocab = {p: i for i, p in enumerate(pieces)}
    scores = dict(vocab_scores)
    merges = []
    for piece_l in vocab.keys():
        for piece_r in vocab.keys():
            merge = f"{piece_l}{piece_r}"
            piece_score = scores.get(merge, None)
            if piece_score:
                merges += [(piece_l, piece_r, piece_score)]
    merges = sorted(merges, key=lambda val: val[2], reverse=True)
    return [(val[0], val[1]) for val in merges]


def tokenizer_json(tok, update_post):
    """LlamaConverter's graph for the SentencePiece BPE model at tok, as save(pretty=True)."""
    import sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=tok)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    vocab_scores = [("<unk>", 0.0), ("<s>", 0.0), ("</s>", 0.0)]
    vocab_scores += [(pieces[i], sp.get_score(i)) for i in range(3, len(pieces))]
    merges = spm_extract_merges(pieces, vocab_scores)
    tok_id = lambda k, t: {k: {"id": t[0], "type_id": t[1]}}
    single = [tok_id("SpecialToken", ("<s>", 0)), tok_id("Sequence", ("A", 0))]
    pair = single + ([tok_id("SpecialToken", ("<s>", 1)), tok_id("Sequence", ("B", 1))]
                     if update_post else [tok_id("Sequence", ("B", 0))])
    bos = sp.piece_to_id("<s>")
    rep = lambda pat, to: {"type": "Replace", "pattern": {"String": pat}, "content": to}
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": i, "content": c, "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": True, "special": True}
                         for i, c in enumerate(("<unk>", "<s>", "</s>"))],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "\u2581"}, rep(" ", "\u2581")]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair,
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [bos],
                                                      "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            rep("\u2581", " "), {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": sp.id_to_piece(sp.unk_id()),
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True,
                  "vocab": {w: i for i, (w, _) in enumerate(vocab_scores)},
                  "merges": [f"{l} {r}" for l, r in merges]},
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def write_text(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def cmd_convert(a):
    prof = profile(a.transformers_version)
    with open(os.path.join(a.model_dir, "params.json")) as fh:
        params = json.load(fh)
    params = params.get("model", params)
    os.makedirs(a.out_dir, exist_ok=True)
    tok = a.tokenizer
    if tok is None and not a.no_tokenizer:
        for cand in (os.path.join(a.model_dir, "tokenizer.model"),
                     os.path.join(a.model_dir, "..", "tokenizer.model")):
            if os.path.isfile(cand):
                tok = cand
                break
    ranks = load_ranks(a.model_dir)
    sd = hf_state_dict(params, ranks, prof)
    del ranks
    # save_pretrained: config, generation config, shards, index
    write_text(os.path.join(a.out_dir, "config.json"), dumps(config_dict(params, sd, prof)))
    write_text(os.path.join(a.out_dir, "generation_config.json"),
               dumps(generation_config_dict(prof)))
    weights_name = "model.safetensors" if a.safetensors else "pytorch_model.bin"
    shards, index = shard_checkpoint(sd, convert_file_size_to_int(a.max_shard_size),
                                     prof["empty_first"], weights_name)
    for name, shard in shards.items():
        if a.safetensors:
            save_safetensors(shard, os.path.join(a.out_dir, name), {"format": "pt"})
        else:
            torch.save(shard, os.path.join(a.out_dir, name))
    if index is not None:
        write_text(os.path.join(a.out_dir, weights_name + ".index.json"), dumps(index))
    if tok:
        cfg = dict(TOKENIZER_CONFIG)
        if not a.slow_tokenizer:
            cfg["model_max_length"] = 2048  # the published fast-path file (380608719f...)
        write_text(os.path.join(a.out_dir, "tokenizer_config.json"),
                   dumps(cfg, ensure_ascii=False))
        write_text(os.path.join(a.out_dir, "special_tokens_map.json"),
                   dumps(SPECIAL_TOKENS_MAP, ensure_ascii=False))
        shutil.copyfile(tok, os.path.join(a.out_dir, "tokenizer.model"))
        if not a.slow_tokenizer:
            write_text(os.path.join(a.out_dir, "tokenizer.json"),
                       tokenizer_json(tok, prof["update_post"]))


# ---------------------------------------------------------------------------------------------
# synthetic Meta checkpoints (tests and benchmark)
# ---------------------------------------------------------------------------------------------
def cmd_synth(a):
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[a.dtype]
    hd = a.dim // a.heads
    kv = a.kv_heads or a.heads
    hidden = int(2 * (4 * a.dim) / 3)
    if a.ffn_mult is not None:
        hidden = int(a.ffn_mult * hidden)
    ffn = a.multiple_of * ((hidden + a.multiple_of - 1) // a.multiple_of)
    g = torch.Generator().manual_seed(a.seed)

    def rnd(*shape):
        return (torch.randn(*shape, generator=g) * 0.02).to(dtype)

    # full tensors, generated one at a time and split right away (rows / columns / replicated)
    spec = [("tok_embeddings.weight", (a.vocab, a.dim), 1), ("norm.weight", (a.dim,), None),
            ("output.weight", (a.vocab, a.dim), 0)]
    for i in range(a.layers):
        p = "layers.%d." % i
        spec += [(p + "attention.wq.weight", (a.dim, a.dim), 0),
                 (p + "attention.wk.weight", (kv * hd, a.dim), 0),
                 (p + "attention.wv.weight", (kv * hd, a.dim), 0),
                 (p + "attention.wo.weight", (a.dim, a.dim), 1),
                 (p + "feed_forward.w1.weight", (ffn, a.dim), 0),
                 (p + "feed_forward.w2.weight", (a.dim, ffn), 1),
                 (p + "feed_forward.w3.weight", (ffn, a.dim), 0),
                 (p + "attention_norm.weight", (a.dim,), None),
                 (p + "ffn_norm.weight", (a.dim,), None)]
    os.makedirs(a.out_dir, exist_ok=True)
    parts = [{} for _ in range(a.ranks)]
    for key, shape, d in spec:
        t = rnd(*shape) if len(shape) == 2 else (1.0 + rnd(*shape).float()).to(dtype)
        for r in range(a.ranks):
            parts[r][key] = t.clone() if d is None else torch.chunk(t, a.ranks, dim=d)[r].clone()
        del t
    freqs = 1.0 / (a.rope_theta ** (torch.arange(0, hd, 2)[: hd // 2].float() / hd))
    for r in range(a.ranks):
        part = parts[r]
        part["rope.freqs"] = freqs.to(dtype)
        if a.share_layer_storage:  # Meta's sharded files: one storage per layer
            for i in range(a.layers):
                keys = ["layers.%d.%s" % (i, s) for s in LAYER_KEYS]
                flat = torch.cat([part[k].reshape(-1) for k in keys])
                off = 0
                for k in keys:
                    nel = part[k].numel()
                    part[k] = flat[off:off + nel].view(part[k].shape)
                    off += nel
        torch.save(part, os.path.join(a.out_dir, "consolidated.%02d.pth" % r))
        parts[r] = None
    params = {"dim": a.dim, "multiple_of": a.multiple_of}
    if a.ffn_mult is not None:
        params["ffn_dim_multiplier"] = a.ffn_mult
    params["n_heads"] = a.heads
    if a.kv_heads:
        params["n_kv_heads"] = a.kv_heads
    params.update(n_layers=a.layers, norm_eps=1e-06)
    if a.rope_theta != 10000.0:
        params["rope_theta"] = a.rope_theta
    params["vocab_size"] = -1
    write_text(os.path.join(a.out_dir, "params.json"), json.dumps(params))


# ---------------------------------------------------------------------------------------------
# compare two HF directories tensor by tensor
# ---------------------------------------------------------------------------------------------
def cmd_compare(a):
    def load(d):
        out = {}
        for f in sorted(glob.glob(os.path.join(d, "*.bin"))):
            out[os.path.basename(f)] = torch.load(f, map_location="cpu")
        for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
            sd = load_safetensors(f)  # in file order; compare by name order of the .bin twin
            out[os.path.basename(f)] = sd
        return out
    A, B = load(a.dir_a), load(a.dir_b)
    bad = 0
    # a .safetensors set is compared with a .bin set tensor by tensor (files differ in name)
    if [f.endswith(".bin") for f in A] != [f.endswith(".bin") for f in B]:
        A = {"all": {k: v for sd in A.values() for k, v in sd.items()}}
        B = {"all": {k: v for sd in B.values() for k, v in sd.items()}}
        for X in (A, B):
            X["all"] = dict(sorted(X["all"].items()))
    if list(A) != list(B):
        print("files differ: %s vs %s" % (list(A), list(B)))
        return 1
    n = 0
    for f in A:
        if list(A[f]) != list(B[f]):
            print("%s: key order differs" % f)
            bad += 1
            continue
        for k in A[f]:
            x, y = A[f][k], B[f][k]
            n += 1
            if x.dtype != y.dtype or x.shape != y.shape or not torch.equal(x, y):
                print("%s: %s differs (%s %s vs %s %s)" % (f, k, x.dtype, tuple(x.shape),
                                                           y.dtype, tuple(y.shape)))
                bad += 1
    print("compare: %d tensors in %d files, %d differ" % (n, len(A), bad))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("model_dir")
    c.add_argument("out_dir")
    c.add_argument("--transformers-version", default=DEFAULT_VERSION)
    c.add_argument("--max-shard-size", default="10GB")
    c.add_argument("--tokenizer")
    c.add_argument("--no-tokenizer", action="store_true")
    c.add_argument("--slow-tokenizer", action="store_true")
    c.add_argument("--safetensors", action="store_true")
    s = sub.add_parser("synth")
    s.add_argument("out_dir")
    s.add_argument("--dim", type=int, required=True)
    s.add_argument("--layers", type=int, required=True)
    s.add_argument("--heads", type=int, required=True)
    s.add_argument("--kv-heads", type=int)
    s.add_argument("--vocab", type=int, required=True)
    s.add_argument("--ranks", type=int, default=1)
    s.add_argument("--dtype", default="f16", choices=("f16", "bf16", "f32"))
    s.add_argument("--multiple-of", type=int, default=256)
    s.add_argument("--ffn-mult", type=float)
    s.add_argument("--rope-theta", type=float, default=10000.0)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--share-layer-storage", action="store_true")
    m = sub.add_parser("compare")
    m.add_argument("dir_a")
    m.add_argument("dir_b")
    a = ap.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    if a.cmd == "convert":
        cmd_convert(a)
        return 0
    if a.cmd == "synth":
        cmd_synth(a)
        return 0
    return cmd_compare(a)


if __name__ == "__main__":
    sys.exit(main())
