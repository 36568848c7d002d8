#!/usr/bin/python3
"""Independent readers of wk-pack's outputs (json + struct + numpy only; the
`safetensors` and `gguf` Python packages are not in Debian), and comparisons
with what torch itself loads from the inputs.

usage:
  safetensors_read.py st-equal OUT REF [--as f16|bf16|f32] [--drop NAME]...
      OUT: a .safetensors file or a directory with model.safetensors.index.json
      (or a single model.safetensors).  REF: a .pth/.bin file, a Meta directory
      (consolidated.NN.pth, ranks merged the fairscale way) or an HF directory
      (pytorch_model*.bin).  Every tensor must be present in both with the same
      shape, dtype and bytes (REF converted with torch's .to() when --as is given).
      Also checks safetensors' rules (contiguous offsets from 0, sizes, no
      trailing bytes, header padded to 8 with spaces) and the weightkit digests.
  safetensors_read.py gguf-equal GGUF REF [--meta]
      Every F32 tensor of GGUF equals REF's tensor (mapped from Meta names when
      --meta) converted to float32; checks the GGUF layout rules and digests.
  safetensors_read.py gguf-digests GGUF
      Recompute every tensor's XXH3-64 with the xxhsum CLI, compare with
      weightkit.digest.tensors.
Exit status 0 when everything matches, 1 otherwise (differences on stderr).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np

ST_DT = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
         "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
ERRORS = []


def fail(msg):
    ERRORS.append(msg)
    print("MISMATCH: " + msg, file=sys.stderr)


# ---- safetensors -------------------------------------------------------------------------
def read_st_file(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    hdr = raw[8:8 + n]
    if n % 8 or not hdr.rstrip(b" ").endswith(b"}") or hdr[len(hdr.rstrip(b" ")):].strip(b" "):
        fail("%s: header not padded to 8 bytes with spaces" % path)
    h = json.loads(hdr)
    meta = h.pop("__metadata__", {}) or {}
    items = sorted(h.items(), key=lambda kv: kv[1]["data_offsets"])
    pos, out = 0, {}
    for name, v in items:
        s, e = v["data_offsets"]
        if s != pos:
            fail("%s: %s starts at %d, expected %d" % (path, name, s, pos))
        dt = np.dtype(ST_DT[v["dtype"]])
        if e - s != int(np.prod(v["shape"], dtype=np.int64)) * dt.itemsize:
            fail("%s: %s size mismatch" % (path, name))
        out[name] = (v["dtype"], np.frombuffer(raw, dtype=dt, count=(e - s) // dt.itemsize,
                                               offset=8 + n + s).reshape(v["shape"]))
        pos = e
    if 8 + n + pos != len(raw):
        fail("%s: %d trailing bytes" % (path, len(raw) - 8 - n - pos))
    return out, meta


def read_st(path):
    if os.path.isdir(path):
        ix = os.path.join(path, "model.safetensors.index.json")
        if not os.path.exists(ix):
            return read_st_file(os.path.join(path, "model.safetensors"))
        wm = json.load(open(ix))["weight_map"]
        out, meta = {}, {}
        for f in sorted(set(wm.values())):
            t, m = read_st_file(os.path.join(path, f))
            for k in t:
                if wm.get(k) != f:
                    fail("index says %s is in %s, found in %s" % (k, wm.get(k), f))
            out.update(t)
            meta.update(m)
        if set(out) != set(wm):
            fail("index and shards list different tensors")
        return out, meta
    return read_st_file(path)


# ---- torch references ------------------------------------------------------------------------
def load_ref(path):
    import torch
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "gen"))
    if os.path.isfile(path):
        return dict(torch.load(path, map_location="cpu"))
    files = sorted(os.listdir(path))
    meta = [f for f in files if f.startswith("consolidated.") and f.endswith(".pth")]
    if meta:
        import llama_model
        sds = [torch.load(os.path.join(path, f), map_location="cpu") for f in meta]
        return dict(llama_model.merge_shards(sds))
    out = {}
    for f in files:
        if f.startswith("pytorch_model") and f.endswith(".bin"):
            out.update(torch.load(os.path.join(path, f), map_location="cpu"))
    return out


def to_np(t, as_dtype):
    import torch
    if as_dtype and t.is_floating_point():
        t = t.to({"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[as_dtype])
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return "BF16", t.view(torch.int16).numpy().view(np.uint16)
    name = {torch.float32: "F32", torch.float16: "F16", torch.float64: "F64", torch.int64: "I64",
            torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
            torch.bool: "BOOL"}[t.dtype]
    return name, t.numpy()


# ---- digests via xxhsum ----------------------------------------------------------------------
def xxh3(blobs):
    """XXH3-64 hex of each bytes object, computed by the xxhsum CLI."""
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, b in enumerate(blobs):
            p = os.path.join(d, "%06d" % i)
            with open(p, "wb") as fh:
                fh.write(b)
            paths.append(p)
        out = subprocess.run(["xxhsum", "-H3", "--tag"] + paths, check=True, capture_output=True,
                             text=True).stdout.split("\n")
        res = {}
        for line in out:
            if line.startswith("XXH3 ("):
                p, h = line[6:].rsplit(") = ", 1)
                res[p] = h.strip()
        return [res[p] for p in paths]


def check_st_digests(tensors, meta):
    names = sorted(tensors)
    keys = ["weightkit.xxh3-64." + n for n in names]
    if not any(k in meta for k in keys):
        fail("no weightkit digests in __metadata__")
        return
    got = xxh3([tensors[n][1].tobytes() for n in names])
    for n, k, g in zip(names, keys, got):
        if meta.get(k) != g:
            fail("digest of %s: stored %s, xxhsum %s" % (n, meta.get(k), g))


# ---- GGUF ------------------------------------------------------------------------------------
GG_SC = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
         12: "<d"}
GG_DT = {0: "<f4", 1: "<f2", 30: "<u2"}


def read_gguf(path):
    raw = open(path, "rb").read()
    pos = [0]

    def take(fmt):
        v = struct.unpack_from(fmt, raw, pos[0])
        pos[0] += struct.calcsize(fmt)
        return v

    def string():
        (n,) = take("<Q")
        s = raw[pos[0]:pos[0] + n].decode("utf-8")
        pos[0] += n
        return s

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<iQ")
            return [value(et) for _ in range(n)]
        return take(GG_SC[t])[0]

    if raw[:4] != b"GGUF":
        fail("%s: bad magic" % path)
    pos[0] = 4
    ver, nt, nkv = take("<IQQ")
    kv = {}
    for _ in range(nkv):
        k = string()
        (t,) = take("<i")
        kv[k] = (t, value(t))
    align = kv.get("general.alignment", (4, 32))[1]
    infos = []
    for _ in range(nt):
        name = string()
        (nd,) = take("<I")
        ne = take("<%dq" % nd)
        t, off = take("<iQ")
        infos.append((name, ne, t, off))
    data = (pos[0] + align - 1) // align * align
    tensors, expect = {}, 0
    for name, ne, t, off in infos:
        if off != expect:
            fail("%s: %s at offset %d, expected %d" % (path, name, off, expect))
        n = int(np.prod(ne, dtype=np.int64))
        if t in GG_DT:
            dt = np.dtype(GG_DT[t])
            a = np.frombuffer(raw, dtype=dt, count=n, offset=data + off).reshape(tuple(reversed(ne)))
            nbytes = n * dt.itemsize
        else:
            a, nbytes = None, None
        if nbytes is not None:
            if any(raw[data + off + nbytes:data + (off + nbytes + align - 1) // align * align]):
                fail("%s: non-zero padding after %s" % (path, name))
            expect = (off + nbytes + align - 1) // align * align
        tensors[name] = (t, a)
    if len(raw) != data + expect:
        fail("%s: file size %d, expected %d" % (path, len(raw), data + expect))
    return kv, infos, tensors


META_TO_GGUF = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
                "output.weight": "output.weight"}
META_LAYER = {"attention.wq.weight": "attn_q", "attention.wk.weight": "attn_k",
              "attention.wv.weight": "attn_v", "attention.wo.weight": "attn_output",
              "feed_forward.w1.weight": "ffn_gate", "feed_forward.w3.weight": "ffn_up",
              "feed_forward.w2.weight": "ffn_down", "attention_norm.weight": "attn_norm",
              "ffn_norm.weight": "ffn_norm"}


def meta_name(k):
    if k in META_TO_GGUF:
        return META_TO_GGUF[k]
    parts = k.split(".", 2)
    if parts[0] == "layers" and parts[2] in META_LAYER:
        return "blk.%s.%s.weight" % (parts[1], META_LAYER[parts[2]])
    return None


def main():
    args = sys.argv[1:]
    cmd = args.pop(0)
    as_dtype, drops, meta_names = None, set(), False
    while "--as" in args:
        i = args.index("--as")
        as_dtype = args[i + 1]
        del args[i:i + 2]
    while "--drop" in args:
        i = args.index("--drop")
        drops.add(args[i + 1])
        del args[i:i + 2]
    if "--meta" in args:
        args.remove("--meta")
        meta_names = True
    if cmd == "st-equal":
        out, meta = read_st(args[0])
        ref = {k: v for k, v in load_ref(args[1]).items() if k not in drops}
        if set(out) != set(ref):
            fail("names differ: only in output %s, only in reference %s"
                 % (sorted(set(out) - set(ref))[:5], sorted(set(ref) - set(out))[:5]))
        for k in sorted(set(out) & set(ref)):
            dt, a = out[k]
            rdt, r = to_np(ref[k], as_dtype)
            if dt != rdt or a.shape != r.shape or a.tobytes() != r.tobytes():
                fail("%s: output %s %s, reference %s %s" % (k, dt, a.shape, rdt, r.shape))
        if meta.get("format") != "pt":
            fail("__metadata__ format is %r" % meta.get("format"))
        check_st_digests(out, meta)
        print("st-equal: %d tensors equal" % len(out))
    elif cmd == "gguf-equal":
        import torch
        kv, infos, tensors = read_gguf(args[0])
        ref = load_ref(args[1])
        n = 0
        for k, v in ref.items():
            g = meta_name(k) if meta_names else k
            if g is None:
                continue
            if g not in tensors:
                fail("%s (%s) missing from GGUF" % (g, k))
                continue
            t, a = tensors[g]
            r = v.to(torch.float32).contiguous().numpy()
            if t != 0 or a.shape != r.shape or a.tobytes() != r.tobytes():
                fail("%s: GGUF type %d %s differs from %s %s" % (g, t, None if a is None else a.shape,
                                                                k, r.shape))
            n += 1
        if n != len(tensors):
            fail("GGUF has %d tensors, %d compared" % (len(tensors), n))
        print("gguf-equal: %d tensors equal" % n)
    elif cmd == "gguf-digests":
        kv, infos, tensors = read_gguf(args[0])
        raw = open(args[0], "rb").read()
        stored = kv.get("weightkit.digest.tensors", (9, []))[1]
        blobs = [tensors[name][1].tobytes() for name, _, _, _ in infos]
        got = xxh3(blobs)
        if kv.get("weightkit.digest.algorithm", (8, ""))[1] != "xxh3-64" or stored != got:
            fail("digests differ: stored %s..., xxhsum %s..." % (stored[:2], got[:2]))
        del raw
        print("gguf-digests: %d tensors match xxhsum -H3" % len(got))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 1 if ERRORS else 0


if __name__ == "__main__":
    sys.exit(main())
