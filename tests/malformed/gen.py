#!/usr/bin/python3
"""Write the malformed-input suite: tests/malformed/cases/* and cases.tsv.

    /usr/bin/python3 tests/malformed/gen.py            # rewrite cases/ and cases.tsv
    /usr/bin/python3 tests/malformed/gen.py --check    # regenerate into a temp dir, diff
    /usr/bin/python3 tests/malformed/gen.py --seeds D  # valid files per fuzz target into D/<target>/
    /usr/bin/python3 tests/malformed/gen.py --meta-base D  # a tiny valid Meta checkpoint in D

Standard library only, deterministic (no timestamps, no randomness), every
file small (the largest, a gzip bomb of 64 MiB of zeros, is 64 KiB).  Each case is a valid
file of its format with one thing broken, built here from scratch: a torch
zip checkpoint (stored records aligned to 64 bytes, pickle protocol 2, as
torch.save writes it), safetensors, GGUF v3, a sentencepiece ModelProto, a
gzip XOR payload, a sha256sum manifest, a Meta params.json.  The hostile
checkpoints of tests/fixtures/hostile/ (real torch.save output, made by
tests/fixtures/gen/make_hostile_pickles.py) are listed in cases.tsv too,
so that every tool runs on them.

cases.tsv, one row per (case, tool):
    id  file  tool  exit  expect
  file    path relative to the repository root
  tool    how tests/cli/malformed.sh runs it (see there): inspect, pack,
          pack-vocab, convert-params, xor-decode, xor-zlib, xor-isal, xor-gzip,
          xor-verify, xor-manifest, quantize-imatrix
  exit    "nonzero" (every case must fail), or "nonzero-xfail" for a known
          gap (see XFAIL)
  expect  substring the tool's single error line must contain (the problem);
          the line must also name the file (checked by malformed.sh)
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# ---------------------------------------------------------------------------
# torch zip checkpoint writer (stdlib): records stored, data 64-byte aligned
# ---------------------------------------------------------------------------

def build_zip(records, prefix_pad=64, eocd_count=None, cd_size_delta=0, cd_offset=None,
              local_name_override=None, cd_offsets_override=None, comment=b""):
    """records: list of dicts name, data, method, flags, crc, csize, usize, cname
    (central-directory name if different).  Returns (bytes, info) where info has
    local offsets, data offsets, cd offset, eocd offset."""
    out = bytearray()
    info = {"local": [], "data": []}
    cds = []
    for i, r in enumerate(records):
        name = r["name"].encode("utf-8") if isinstance(r["name"], str) else r["name"]
        data = r["data"]
        method = r.get("method", 0)
        flags = r.get("flags", 0)
        crc = r.get("crc", zlib.crc32(r.get("plain", data)) & 0xFFFFFFFF)
        csize = r.get("csize", len(data))
        usize = r.get("usize", len(r.get("plain", data)))
        off = len(out)
        # extra field "FB" padding so the data starts at a multiple of 64
        base = off + 30 + len(name)
        pad = (-(base + 4)) % prefix_pad
        extra = r.get("extra", b"FB" + struct.pack("<H", pad) + b"Z" * pad)
        lname = name
        if local_name_override and i in local_name_override:
            lname = local_name_override[i]
            extra = b"FB" + struct.pack("<H", (-(off + 30 + len(lname) + 4)) % 64) + \
                b"Z" * ((-(off + 30 + len(lname) + 4)) % 64)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21,
                           crc, csize, usize, len(lname), len(extra))
        out += lname + extra
        info["local"].append(off)
        info["data"].append(len(out))
        out += data
        cname = r.get("cname", name)
        if isinstance(cname, str):
            cname = cname.encode("utf-8")
        cds.append((cname, flags, method, crc, csize, usize, off))
    cd_off = len(out)
    for i, (cname, flags, method, crc, csize, usize, off) in enumerate(cds):
        if cd_offsets_override and i in cd_offsets_override:
            off = cd_offsets_override[i]
        out += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21,
                           crc, csize, usize, len(cname), 0, 0, 0, 0, 0, off)
        out += cname
    cd_size = len(out) - cd_off
    info["cd"] = cd_off
    info["eocd"] = len(out)
    n = len(cds) if eocd_count is None else eocd_count
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, cd_size + cd_size_delta,
                       cd_off if cd_offset is None else cd_offset, len(comment))
    out += comment
    return bytes(out), info


# ---- pickle assembler (protocol 2, the opcodes torch.save writes) ----------

class P:
    """A tiny pickle assembler: every method appends one opcode."""

    def __init__(self, proto=2):
        self.b = bytearray()
        if proto is not None:
            self.b += b"\x80" + bytes([proto])

    def raw(self, b):
        self.b += b
        return self

    def mark(self): return self.raw(b"(")
    def tuple(self): return self.raw(b"t")
    def tuple1(self): return self.raw(b"\x85")
    def tuple2(self): return self.raw(b"\x86")
    def empty_tuple(self): return self.raw(b")")
    def empty_dict(self): return self.raw(b"}")
    def empty_list(self): return self.raw(b"]")
    def setitem(self): return self.raw(b"s")
    def setitems(self): return self.raw(b"u")
    def append(self): return self.raw(b"a")
    def appends(self): return self.raw(b"e")
    def reduce(self): return self.raw(b"R")
    def build(self): return self.raw(b"b")
    def binpersid(self): return self.raw(b"Q")
    def false(self): return self.raw(b"\x89")
    def true(self): return self.raw(b"\x88")
    def none(self): return self.raw(b"N")
    def stop(self): return self.raw(b".")

    def int(self, v):
        if 0 <= v < 256:
            return self.raw(b"K" + bytes([v]))
        if 0 <= v < 65536:
            return self.raw(b"M" + struct.pack("<H", v))
        if -2**31 <= v < 2**31:
            return self.raw(b"J" + struct.pack("<i", v))
        n = (v.bit_length() + 8) // 8
        return self.raw(b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True))

    def str(self, s):
        b = s.encode("utf-8") if isinstance(s, str) else s
        return self.raw(b"X" + struct.pack("<I", len(b)) + b)

    def glob(self, module, name):
        return self.raw(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def put(self, i):
        return self.raw(b"q" + bytes([i]) if i < 256 else b"r" + struct.pack("<I", i))

    def get(self, i):
        return self.raw(b"h" + bytes([i]) if i < 256 else b"j" + struct.pack("<I", i))

    def ints_tuple(self, vals):
        self.mark()
        for v in vals:
            self.int(v)
        return self.tuple()

    def tensor(self, storage="FloatStorage", key="0", numel=4, offset=0, shape=(4,),
               stride=(1,), loc="cpu", args_extra=None):
        """torch._utils._rebuild_tensor_v2((storage persid), offset, shape, stride,
        False, OrderedDict()) as torch.save writes it."""
        self.glob("torch._utils", "_rebuild_tensor_v2")
        self.mark()
        self.mark().str("storage").glob("torch", storage).str(key).str(loc).int(numel).tuple()
        self.binpersid()
        self.int(offset).ints_tuple(shape).ints_tuple(stride).false()
        self.glob("collections", "OrderedDict").empty_tuple().reduce()
        if args_extra:
            args_extra(self)
        self.tuple().reduce()
        return self

    def bytes(self):
        return bytes(self.b)


def state_dict_pickle(tensors):
    """tensors: list of (name, kwargs for P.tensor)."""
    p = P()
    p.glob("collections", "OrderedDict").empty_tuple().reduce()
    p.mark()
    for name, kw in tensors:
        p.str(name)
        p.tensor(**kw)
    p.setitems().stop()
    return p.bytes()


def torch_zip(pkl, storages, prefix="archive", extra_records=None, **zip_kw):
    """A torch zip checkpoint with data.pkl = pkl and data/<key> = bytes."""
    recs = [{"name": prefix + "/data.pkl", "data": pkl}]
    for key, data in storages:
        recs.append({"name": prefix + "/data/" + key, "data": data})
    recs.append({"name": prefix + "/version", "data": b"3\n"})
    if extra_records:
        recs += extra_records
    return build_zip(recs, **zip_kw)


def valid_pth(prefix="archive", **zip_kw):
    """Two tensors (float32 2x3, float16 3); zip_kw: build_zip's corruptions."""
    pkl = state_dict_pickle([
        ("w", dict(storage="FloatStorage", key="0", numel=6, shape=(2, 3), stride=(3, 1))),
        ("b", dict(storage="HalfStorage", key="1", numel=3, shape=(3,), stride=(1,))),
    ])
    return torch_zip(pkl, [("0", struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
                           ("1", struct.pack("<3H", 0x3C00, 0x4000, 0x4200))], prefix=prefix,
                     **zip_kw)


def pth_with_pickle(pkl, storages=None):
    if storages is None:
        storages = [("0", bytes(16))]
    return torch_zip(pkl, storages)[0]


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

def st_file(header, data=b"", pad=True, raw_header=None, length=None):
    h = raw_header if raw_header is not None else \
        json.dumps(header, separators=(",", ":")).encode("utf-8")
    if pad and raw_header is None:
        h += b" " * ((-len(h)) % 8)
    n = len(h) if length is None else length
    return struct.pack("<Q", n) + h + data


def valid_st():
    hdr = {"__metadata__": {"format": "pt"},
           "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
           "b": {"dtype": "F16", "shape": [4], "data_offsets": [16, 24]},
           "c": {"dtype": "I64", "shape": [1], "data_offsets": [24, 32]}}
    return hdr, bytes(range(32))


# ---------------------------------------------------------------------------
# GGUF v3
# ---------------------------------------------------------------------------

GT = {"u8": 0, "i8": 1, "u16": 2, "i16": 3, "u32": 4, "i32": 5, "f32": 6, "bool": 7,
      "str": 8, "arr": 9, "u64": 10, "i64": 11, "f64": 12}
FMT = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q",
       11: "<q", 12: "<d"}


def gstr(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gkv(key, t, v):
    out = gstr(key) + struct.pack("<I", GT[t] if isinstance(t, str) else t)
    if t == "str":
        out += gstr(v)
    elif t == "arr":
        et, vals = v
        out += struct.pack("<IQ", GT[et], len(vals))
        for x in vals:
            out += gstr(x) if et == "str" else struct.pack(FMT[GT[et]], x)
    else:
        out += struct.pack(FMT[GT[t]], v)
    return out


def gguf_file(kvs, tensors, data, version=3, align=32, n_kv=None, n_t=None, magic=b"GGUF",
              pad_data=True):
    """kvs: list of raw kv bytes; tensors: list of (name, dims, type, offset)."""
    out = bytearray(magic + struct.pack("<IQQ", version, len(tensors) if n_t is None else n_t,
                                        len(kvs) if n_kv is None else n_kv))
    for kv in kvs:
        out += kv
    for name, dims, typ, off in tensors:
        out += gstr(name) + struct.pack("<I", len(dims))
        for d in dims:
            out += struct.pack("<q", d)
        out += struct.pack("<IQ", typ, off)
    if pad_data:
        out += b"\0" * ((-len(out)) % align)
    return bytes(out + data)


def valid_gguf_parts():
    kvs = [gkv("general.architecture", "str", "llama"),
           gkv("general.name", "str", "tiny"),
           gkv("llama.block_count", "u32", 1),
           gkv("general.alignment", "u32", 32),
           gkv("tokenizer.ggml.tokens", "arr", ("str", ["<unk>", "<s>", "</s>"])),
           gkv("tokenizer.ggml.scores", "arr", ("f32", [0.0, 0.0, 0.0])),
           gkv("x.f64", "f64", 1.5), gkv("x.bool", "bool", 1), gkv("x.i64", "i64", -3)]
    # f32 [4] at 0 (16 bytes, padded to 32), q4_0 [32] at 32 (18 bytes)
    tensors = [("a.weight", [4], 0, 0), ("b.weight", [32], 2, 32)]
    data = bytes(range(16)) + bytes(16) + bytes(18)
    return kvs, tensors, data


def valid_gguf():
    kvs, tensors, data = valid_gguf_parts()
    return gguf_file(kvs, tensors, data)


# ---------------------------------------------------------------------------
# sentencepiece ModelProto (protobuf wire format by hand)
# ---------------------------------------------------------------------------

def varint(v):
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wt, payload):
    key = varint((num << 3) | wt)
    if wt == 0:
        return key + varint(payload)
    if wt == 2:
        return key + varint(len(payload)) + payload
    if wt == 5:
        return key + payload
    if wt == 1:
        return key + payload
    raise ValueError(wt)


def spm_piece(text, score, typ):
    return pb_field(1, 2, pb_field(1, 2, text.encode()) + pb_field(2, 5, struct.pack("<f", score))
                    + pb_field(3, 0, typ))


def valid_spm():
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3), ("\u2581a", -1.0, 1),
              ("b", -2.0, 1), ("<0x00>", 0.0, 6)]
    out = b"".join(spm_piece(*p) for p in pieces)
    trainer = pb_field(3, 0, 2) + pb_field(4, 0, len(pieces)) + pb_field(35, 0, 1) + \
        pb_field(40, 0, 0) + pb_field(41, 0, 1) + pb_field(42, 0, 2) + \
        pb_field(43, 0, (1 << 64) - 1)
    norm = pb_field(1, 2, b"identity") + pb_field(3, 0, 1)
    return out + pb_field(2, 2, trainer) + pb_field(3, 2, norm)


# ---------------------------------------------------------------------------
# gzip payloads
# ---------------------------------------------------------------------------

def gz(data, level=6, name=None):
    """A gzip member with mtime 0 (deterministic); FNAME when name is given."""
    flg = 0x08 if name else 0
    hdr = b"\x1f\x8b\x08" + bytes([flg]) + b"\0\0\0\0" + b"\x00\xff"
    if name:
        hdr += name + b"\0"
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    return hdr + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


PAYLOAD_PLAIN = bytes((i * 7 + 3) & 0xFF for i in range(3000))


# ---------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------


# Expected substring of each case's error (the problem; the tool's line must
# also name the file).  Checked against every tool the case lists.  Cases
# whose reader does not refuse them yet are in XFAIL (see docs/security.md).
EXPECT = {
    "pth_bad_magic": "not a PyTorch zip checkpoint",
    "pth_trunc_local_header": "too short for an end record",
    "pth_trunc_in_data": "no end of central directory record",
    "pth_trunc_in_cd": "no end of central directory record",
    "pth_trunc_eocd": "no end of central directory record",
    "pth_eocd_count_huge": "60000 entries cannot fit",
    "pth_cd_offset_past_file": "central directory",
    "pth_cd_size_past_file": "central directory",
    "pth_cd_name_len_huge": "truncated central directory entry",
    "pth_local_extra_len_huge": "truncated local header",
    "pth_stored_size_mismatch": "compressed size 24 != size 2147483647",
    "pth_record_past_file": "run past the central directory",
    "pth_local_cd_name_mismatch": "local header name differs from the central directory",
    "pth_overlapping_records": "local header name differs from the central directory",
    "pth_zip_bomb_deflate": "is compressed (method 8)",
    "pth_zip_bomb_overlap": "local header name differs from the central directory",
    "pth_zip64_locator_bogus": "zip64 end record offset",
    "pth_zip_name_invalid_utf8": "libzip refuses the archive",
    "pth_numel_huge": "has 16 bytes, but its persistent id says 4611686018427387904",
    "pth_numel_negative": "numel must be a non-negative int",
    "pth_offset_huge": "past the end of its storage",
    "pth_stride_huge": "past the end of its storage",
    "pth_shape_negative": "negative dimension -4",
    "pth_shape_overflow_64": "shape product overflows 64 bits",
    "pth_ndim_9": "tensor with 9 dimensions",
    "pth_shape_stride_len_differ": "size has 2 dimensions but stride has 1",
    "pth_storage_key_absolute": "refusing storage key '/etc/passwd'",
    "pth_storage_unknown_class": "refusing global 'torch.ComplexFloatStorage'",
    "pth_name_invalid_utf8": "BINUNICODE is not valid UTF-8",
    "pth_name_surrogate": "BINUNICODE is not valid UTF-8",
    "pkl_builtins_exec": "refusing global 'builtins.exec'",
    "pkl_global_from_memo": "refusing global 'posix.system'",
    "pkl_getattr_chain": "refusing global 'torch._utils._rebuild_tensor_v2.__globals__'",
    "pkl_torch_load": "refusing global 'torch.load'",
    "pkl_inst": "refusing opcode INST",
    "pkl_obj": "refusing opcode OBJ",
    "pkl_newobj": "refusing opcode NEWOBJ",
    "pkl_ext1": "refusing opcode EXT1",
    "pkl_persid_text": "opcode PERSID (0x50) is not used by tensor checkpoints",
    "pkl_reduce_non_callable": "REDUCE on a str, not an allowed callable",
    "pkl_storage_called": "calling torch.FloatStorage",
    "pkl_rebuild_wrong_arity": "takes 6 or 7 arguments, got 2",
    "pkl_binpersid_not_storage": "persistent id is not a ('storage'",
    "pkl_build_on_list": "BUILD on a list",
    "pkl_get_unset_memo": "memo index 7 not defined",
    "pkl_put_index_huge": "memo index 4294967295 out of range",
    "pkl_get_index_huge": "memo index 2147483647 not defined",
    "pkl_stack_underflow": "stack underflow",
    "pkl_stop_empty_stack": "STOP with 0 values on the stack",
    "pkl_setitems_no_mark": "SETITEMS without a matching MARK",
    "pkl_setitems_on_list": "SETITEM on a list",
    "pkl_mark_bomb": "MARKs nested deeper than 1000",
    "pkl_stack_flood": "more than 10065 values",  # one value per byte: over len/2 + 64
    "pkl_deep_lists": "nested deeper than 1000 levels",
    "pkl_deep_tuples": "nested deeper than 1000 levels",
    "pkl_reference_bomb": "value graph too large",
    "pkl_cycle": "nested deeper than 1000 levels (or cyclic)",
    "pkl_binunicode_len_huge": "BINUNICODE length 4294967295 exceeds the 4 bytes left",
    "pkl_binunicode8_len_huge": "BINUNICODE8 length 4611686018427387904 exceeds",
    "pkl_binbytes8_len_huge": "BINBYTES8 length 18446744073709551615 exceeds",
    "pkl_long4_len_huge": "LONG4 length 2147483647 exceeds",
    "pkl_long4_len_negative": "LONG4 length",
    "pkl_frame_len_huge": "FRAME of 4611686018427387904 bytes exceeds",
    "pkl_global_line_unterminated": "GLOBAL argument longer than 1024 bytes",
    "pkl_unknown_opcode": "unknown opcode 0xff",
    "pkl_no_stop": "end of data before STOP",
    "pkl_proto_6": "pickle protocol 6",
    "pkl_trailing_after_stop": "7 bytes after STOP",
    "pkl_dict_key_list": "unhashable dict key",
    "pkl_rebuild_metadata": "tensor metadata (argument 7) is not supported",
    "pkl_name_nul": "dict key contains a NUL byte",
    "pkl_tensor_under_float_key": "tensor under a dict key of type float",
    "st_empty": "too small for a safetensors file",
    "st_short": "too small for a safetensors file",
    "st_header_len_huge": "exceeds 100,000,000 bytes",
    "st_header_len_past_file": "runs past the end of the file",
    "st_trunc_in_header": "runs past the end of the file",
    "st_trunc_in_data": "(truncated)",
    "st_header_not_json": "header: JSON: byte 8",
    "st_header_array": "header is a JSON array, expected an object",
    "st_header_invalid_utf8": "invalid UTF-8",
    "st_header_deep_nesting": "nesting deeper than",
    "st_name_lone_surrogate": "lone high surrogate",
    "st_duplicate_name": "duplicate key \"a\"",
    "st_bad_dtype": "unknown dtype \"F33\"",
    "st_shape_negative": "shape[0] is not a non-negative integer",
    "st_shape_float": "shape[0] is not a non-negative integer",
    "st_shape_overflow_64": "element count overflows",
    "st_too_many_dims": "10 dims",
    "st_offsets_past_file": "tensor \"c\"",
    "st_offsets_reversed": "are reversed",
    "st_offsets_huge": "leave a gap",
    "st_overlap": "overlap the previous tensor",
    "st_gap": "leave a gap",
    "st_trailing_bytes": "(trailing bytes)",
    "st_size_mismatch": "dtype F32 x shape needs 24",
    "st_metadata_not_string": "value must be a string",
    "st_entry_not_object": "expected an object",
    "st_missing_offsets": "\"data_offsets\" must be two non-negative integers",
    "gguf_bad_magic": "bad magic",
    "gguf_empty": "too short for a GGUF file",
    "gguf_version_1": "no longer supported",
    "gguf_version_huge": "is newer than 3",
    "gguf_big_endian": "byte-swapped",
    "gguf_trunc_counts": "truncated header",
    "gguf_trunc_in_kv": "impossible for the file size",
    "gguf_trunc_in_tensor_info": "truncated shape",
    "gguf_trunc_in_data": "past the end of the file",
    "gguf_n_tensors_huge": "impossible for the file size",
    "gguf_n_kv_huge": "kv count",
    # the context follows the file and offset (finding 8: it used to come first)
    "gguf_key_len_huge": "offset 32: KV 0: key length 4611686018427387904 exceeds 1 GiB",
    "gguf_string_len_past_file": "offset 101: key \"general.name\": string value length 1099511627776 exceeds 1 GiB",
    "gguf_array_count_huge": "exceeds 2^30",
    "gguf_array_of_strings_count_huge": "runs past the end of the file",
    "gguf_nested_array": "nested arrays",
    "gguf_bad_value_type": "invalid value type 13",
    "gguf_duplicate_key": "duplicate key \"general.name\"",
    "gguf_empty_key": "empty key",
    "gguf_alignment_not_pow2": "48 is not a power of two",
    "gguf_alignment_zero": "0 is not a power of two",
    "gguf_alignment_wrong_type": "expected u32",
    "gguf_misaligned_offset": "has offset 33, expected 32",
    "gguf_offset_past_file": "has offset 1099511627776",
    "gguf_overlapping_tensors": "has offset 0, expected 32",
    "gguf_duplicate_tensor": "duplicate tensor name",
    "gguf_tensor_name_64": "name is 64 bytes",
    "gguf_n_dims_5": "n_dims 5 > 4",
    "gguf_ne_negative": "negative ne[0]",
    "gguf_ne_overflow_64": "element count overflows",
    "gguf_type_removed": "invalid ggml type 4",
    "gguf_type_huge": "invalid ggml type 65535",
    "gguf_block_multiple": "not a multiple of q4_0's block size 32",
    "gguf_key_invalid_utf8": "offset 388: KV 9: key is not valid UTF-8 (byte 0xff)",
    "gguf_tensor_name_invalid_utf8": "offset 388: tensor 0: name is not valid UTF-8 (byte 0xff)",
    "spm_trunc_varint": "truncated varint",
    "spm_len_past_end": "runs past its message",
    "spm_varint_11_bytes": "varint overflows 64 bits",
    "spm_group_wire_type": "unsupported wire type",
    "spm_wire_type_7": "unsupported wire type",
    "spm_piece_text_invalid_utf8": "byte 4: piece 0: text is not valid UTF-8 (byte 0xff)",
    "spm_nested_len_past_parent": "byte 4: piece 0: length-delimited field runs past its message",
    "xor_gz_trunc_header": "truncated gzip stream",
    "xor_gz_trunc_deflate": "truncated gzip stream",
    "xor_gz_trunc_trailer": "truncated gzip stream",
    "xor_gz_bad_crc": "incorrect data check",
    "xor_gz_bad_isize": "corrupt gzip data in member 1",
    "xor_gz_trailing_garbage": "trailing data at byte offset 317",
    "xor_gz_bad_method": "unknown compression method",
    "xor_gz_reserved_flags": "unknown header flags set",
    "xor_gz_fextra_past_end": "truncated gzip stream",
    "xor_gz_fname_unterminated": "truncated gzip stream",
    "xor_gz_bad_block_type": "corrupt gzip data in member 1",
    "xor_gz_second_member_trunc": "inside member 2",
    "xor_gz_bomb_bad_crc": "incorrect data check",
    "xor_raw_forced_gzip": "not a gzip file",
    "man_traversal": "not a safe relative path",
    "man_absolute": "not a safe relative path",
    "man_short_hex": "digest has 63 hex digits",
    "man_non_hex": "expected 64 hex digits",
    "man_no_separator": "expected 64 hex digits",
    "man_one_space": "expected two spaces",
    "man_empty_name": "empty file name",
    "man_bad_escape": "invalid escape in file name",
    "man_duplicate_name": "duplicate file name \"a.bin\"",
    "man_line_too_long": "more than the 8192 allowed",
    "man_bsd_unterminated": "must end with ') = <digest>'",
    "man_bsd_wrong_algo": "another algorithm than SHA256",
    "man_nul_in_name": "NUL byte in file name",
    "man_binary_garbage": "expected 64 hex digits",
    "json_empty": "expected a value, got end of input",
    "json_truncated": "unterminated string",
    "json_not_object": "not a JSON object",
    "json_deep_nesting": "nesting deeper than 64",
    "json_duplicate_key": "duplicate key \"dim\"",
    "json_invalid_utf8": "invalid UTF-8 in string",
    "json_lone_surrogate": "lone high surrogate",
    "json_bom": "byte order mark",
    "json_number_overflow": "overflows a double",
    "json_nan": "NaN/Infinity literals are not allowed",
    "json_trailing_garbage": "expected end of input after the JSON value",
    "json_int_digits_5000": "number longer than",
    "json_n_heads_zero": "\"n_heads\" must be a positive integer",
    "json_dim_negative": "\"dim\" must be a positive integer",
    "json_dim_huge": "\"dim\" must be a positive integer",
    "json_n_layers_huge": "n_layers 1099511627776, but",
    "json_dim_string": "\"dim\" must be a positive integer",
}

# Where a tool words the problem its own way: (id, tool) -> substring.
# wk-pack recognises a file by its magic (GGUF, PK, else safetensors), so a
# file whose magic is broken is "not a GGUF ... or safetensors file".
# Per-tool expectations that differ from the case's (none today: wk-pack and
# wk-inspect pick a file's reader with the same wk_source_guess).
EXPECT_TOOL = {}

# Known gaps (reported; docs/security.md): the reader accepts these today, or
# the tool refuses them without a "<tool>: error:" line or with a misleading
# one.  An id alone covers every tool; (id, tool) one tool.  A crash, a hang,
# a leftover temporary file or a partial output still fails them.
XFAIL = set()

class Suite:
    def __init__(self, out):
        self.out = out
        self.rows = []
        self.ids = set()

    def add(self, cid, ext, data, tools, expect):
        """Write cases/<cid>.<ext> and one row per tool."""
        assert cid not in self.ids, cid
        self.ids.add(cid)
        fname = cid + ("." + ext if ext else "")
        with open(os.path.join(self.out, "cases", fname), "wb") as f:
            f.write(data)
        self._rows(cid, "tests/malformed/cases/" + fname, tools, expect)

    def _rows(self, cid, path, tools, expect):
        for tool in tools:
            want = EXPECT_TOOL.get((cid, tool)) or expect or EXPECT.get(cid, "")
            xfail = cid in XFAIL or (cid, tool) in XFAIL
            self.rows.append((cid, path, tool, "nonzero-xfail" if xfail else "nonzero", want))

    def ref(self, cid, path, tools, expect):
        """A case that is an existing fixture (path relative to the repo root)."""
        assert cid not in self.ids, cid
        self.ids.add(cid)
        self._rows(cid, path, tools, expect)


PTH_TOOLS = ["inspect", "pack"]
ST_TOOLS = ["inspect", "pack"]
GGUF_TOOLS = ["inspect", "pack"]


def pth_cases(s):
    good, info = valid_pth()
    T = PTH_TOOLS
    # --- container ---
    s.add("pth_bad_magic", "pth", b"PX" + good[2:], T, "not a PyTorch zip checkpoint")
    s.add("pth_trunc_local_header", "pth", good[:20], T, "")
    s.add("pth_trunc_in_data", "pth", good[:info["data"][1] + 5], T, "")
    s.add("pth_trunc_in_cd", "pth", good[:info["cd"] + 30], T, "")
    s.add("pth_trunc_eocd", "pth", good[:info["eocd"] + 10], T, "")
    b, _ = valid_pth(eocd_count=60000)
    s.add("pth_eocd_count_huge", "pth", b, T, "")
    b, _ = valid_pth(cd_offset=0x7FFFFFF0)
    s.add("pth_cd_offset_past_file", "pth", b, T, "")
    b, _ = valid_pth(cd_size_delta=0x10000000)
    s.add("pth_cd_size_past_file", "pth", b, T, "")
    # central name length far beyond the file
    b = bytearray(good)
    struct.pack_into("<H", b, info["cd"] + 28, 0xFFFF)
    s.add("pth_cd_name_len_huge", "pth", bytes(b), T, "")
    # local header extra length past the data
    b = bytearray(good)
    struct.pack_into("<H", b, info["local"][1] + 28, 0xFFFF)
    s.add("pth_local_extra_len_huge", "pth", bytes(b), T, "")
    # stored record whose sizes disagree
    b = bytearray(good)
    cd1 = find_cd_entry(b, info, 1)
    struct.pack_into("<I", b, cd1 + 24, 0x7FFFFFFF)  # uncompressed size
    s.add("pth_stored_size_mismatch", "pth", bytes(b), T, "")
    # record data larger than the file
    b = bytearray(good)
    struct.pack_into("<I", b, cd1 + 20, 0x7FFFFFFF)
    struct.pack_into("<I", b, cd1 + 24, 0x7FFFFFFF)
    s.add("pth_record_past_file", "pth", bytes(b), T, "")
    # central directory name differs from the local header's
    pkl = state_dict_pickle([("w", dict(numel=4))])
    b, _ = torch_zip(pkl, [("0", bytes(16))], local_name_override={1: b"archive/data/9"})
    s.add("pth_local_cd_name_mismatch", "pth", b, T, "")
    # two central entries pointing at the same local header (overlapping records)
    b, _ = torch_zip(pkl, [("0", bytes(16)), ("1", bytes(16))], cd_offsets_override={2: 0})
    s.add("pth_overlapping_records", "pth", b, T, "")
    # zip bomb: data.pkl deflated, 1 GiB declared, and 2000 central entries on one record
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bomb.compress(bytes(1 << 24)) + bomb.flush()
    recs = [{"name": "archive/data.pkl", "data": zeros, "method": 8,
             "plain": bytes(1 << 24), "usize": 1 << 30},
            {"name": "archive/version", "data": b"3\n"}]
    s.add("pth_zip_bomb_deflate", "pth", build_zip(recs)[0], T, "compressed")
    # overlapping-entry bomb (Fifield): many names, one local record
    recs = [{"name": "archive/data.pkl", "data": pkl}] + \
        [{"name": "archive/data/%d" % i, "data": bytes(16)} for i in range(1)]
    b, inf = build_zip(recs)
    out = bytearray(b[:inf["cd"]])
    cd_start = len(out)
    cd_tmpl = b[inf["cd"]:inf["eocd"]]
    entries = bytearray()
    first = cd_tmpl[:46 + len("archive/data.pkl")]
    for i in range(500):
        name = ("archive/data/%d" % i).encode()
        e = bytearray(first[:46]) + name
        struct.pack_into("<H", e, 28, len(name))
        entries += e
    out += entries
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 500, 500, len(entries), cd_start, 0)
    s.add("pth_zip_bomb_overlap", "pth", bytes(out), T, "")
    # zip64 locator pointing past the file
    b = bytearray(good[:info["eocd"]])
    b += struct.pack("<IIQI", 0x07064B50, 0, 0x7FFFFFFFFFFF, 1)
    b += good[info["eocd"]:]
    s.add("pth_zip64_locator_bogus", "pth", bytes(b), T, "")
    # record name not valid UTF-8
    b, _ = torch_zip(pkl, [("0", bytes(16))],
                     extra_records=[{"name": b"archive/\xff\xfe", "data": b"x", "flags": 0x800}])
    s.add("pth_zip_name_invalid_utf8", "pth", b, T, "")
    # --- tensors ---
    def one(cid, expect, storages=None, **kw):
        base = dict(storage="FloatStorage", key="0", numel=4, shape=(4,), stride=(1,))
        base.update(kw)
        s.add(cid, "pth", pth_with_pickle(state_dict_pickle([("w", base)]), storages), T,
              expect)
    one("pth_numel_huge", "", numel=1 << 62)
    one("pth_numel_negative", "", numel=-4)
    one("pth_offset_huge", "", offset=1 << 62)
    one("pth_stride_huge", "", shape=(2,), stride=(1 << 62,))
    one("pth_shape_negative", "", shape=(-4,))
    one("pth_shape_overflow_64", "", shape=(1 << 32, 1 << 32, 16), stride=(0, 0, 0))
    one("pth_ndim_9", "", shape=(1,) * 9, stride=(1,) * 9)
    one("pth_shape_stride_len_differ", "", shape=(2, 2), stride=(1,))
    one("pth_storage_key_absolute", "", key="/etc/passwd")
    one("pth_storage_unknown_class", "", storage="ComplexFloatStorage")
    # tensor name with invalid UTF-8 (BINUNICODE must be UTF-8)
    p = P()
    p.empty_dict().mark().str(b"w\xff\xfe").tensor().setitems().stop()
    s.add("pth_name_invalid_utf8", "pth", pth_with_pickle(p.bytes()), T, "")
    # lone surrogate in a name (Python's utf-8 codec refuses it too)
    p = P()
    p.empty_dict().mark().str(b"w\xed\xa0\x80").tensor().setitems().stop()
    s.add("pth_name_surrogate", "pth", pth_with_pickle(p.bytes()), T, "")


def find_cd_entry(b, info, idx):
    pos = info["cd"]
    for _ in range(idx):
        n, m, k = struct.unpack_from("<HHH", b, pos + 28)
        pos += 46 + n + m + k
    return pos


def pickle_cases(s):
    """Hostile and malformed data.pkl inside an otherwise valid zip."""
    T = PTH_TOOLS

    def add(cid, p, expect, storages=None):
        data = p.bytes() if isinstance(p, P) else p
        s.add(cid, "pth", pth_with_pickle(data, storages), T, expect)

    # code execution attempts not covered by tests/fixtures/hostile
    add("pkl_builtins_exec", P(4).raw(b"\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94")
        .str("print(1)").tuple1().reduce().stop(), "refusing global 'builtins.exec'")
    add("pkl_global_from_memo", P(4).raw(b"\x8c\x05posix\x94\x8c\x06system\x94")
        .raw(b"h\x00h\x01\x93").str("id").tuple1().reduce().stop(),
        "refusing global 'posix.system'")
    add("pkl_getattr_chain", P().glob("torch._utils", "_rebuild_tensor_v2.__globals__")
        .stop(), "refusing global")
    add("pkl_torch_load", P().glob("torch", "load").str("x").tuple1().reduce().stop(),
        "refusing global 'torch.load'")
    add("pkl_inst", P(None).raw(b"(ios\nsystem\n.").bytes(), "")
    add("pkl_obj", P().mark().glob("collections", "OrderedDict").raw(b"o").stop(), "")
    add("pkl_newobj", P().glob("collections", "OrderedDict").empty_tuple().raw(b"\x81").stop(),
        "")
    add("pkl_ext1", P().raw(b"\x82\x01").stop(), "")
    add("pkl_persid_text", P(None).raw(b"P0\n.").bytes(), "")
    add("pkl_reduce_non_callable", P().str("x").empty_tuple().reduce().stop(), "")
    add("pkl_storage_called", P().glob("torch", "FloatStorage").empty_tuple().reduce().stop(), "")
    add("pkl_rebuild_wrong_arity", P().glob("torch._utils", "_rebuild_tensor_v2")
        .int(1).int(2).tuple2().reduce().stop(), "")
    add("pkl_binpersid_not_storage", P().mark().str("code").str("x").tuple().binpersid()
        .stop(), "")
    add("pkl_build_on_list", P().empty_list().empty_dict().build().stop(), "")
    # memo abuse
    add("pkl_get_unset_memo", P().get(7).stop(), "")
    add("pkl_put_index_huge", P().none().raw(b"r\xff\xff\xff\xff").stop(), "")
    add("pkl_get_index_huge", P().raw(b"j\xff\xff\xff\x7f").stop(), "")
    # stack abuse
    add("pkl_stack_underflow", P().setitem().stop(), "")
    add("pkl_stop_empty_stack", P().stop(), "")
    add("pkl_setitems_no_mark", P().empty_dict().str("a").none().setitems().stop(), "")
    add("pkl_setitems_on_list", P().empty_list().mark().str("a").none().setitems().stop(), "")
    add("pkl_mark_bomb", P().raw(b"(" * 5000).none().stop(), "")
    add("pkl_stack_flood", P().raw(b"N" * 20000).stop(), "")
    # deep nesting: 5000 nested one-element lists
    add("pkl_deep_lists", P().raw(b"]" * 5000).raw(b"a" * 4999).stop(), "")
    add("pkl_deep_tuples", P().raw(b"N" + b"\x85" * 5000).stop(), "")
    # shared-reference bomb: d_k = {"a": d_{k-1}, "b": d_{k-1}} (the same object
    # twice, via the memo), 60 levels, a tensor at the bottom: 2^60 names
    def level(p, k):
        if k == 0:
            p.empty_dict().put(0).str("t").tensor().setitem()
            return
        p.empty_dict().put(k).mark().str("a")
        level(p, k - 1)
        p.str("b").get(k - 1).setitems()
    p = P()
    level(p, 60)
    p.stop()
    add("pkl_reference_bomb", p, "")
    # cycle: a list that contains itself, with a tensor
    p = P()
    p.empty_list().put(0).mark().get(0).tensor().appends().stop()
    add("pkl_cycle", p, "")
    # lengths far beyond the input
    add("pkl_binunicode_len_huge", P().raw(b"X\xff\xff\xff\xff" + b"abc").stop(), "")
    add("pkl_binunicode8_len_huge", P(4).raw(b"\x8d" + struct.pack("<Q", 1 << 62) + b"ab")
        .stop(), "")
    add("pkl_binbytes8_len_huge", P(4).raw(b"\x8e" + struct.pack("<Q", (1 << 64) - 1)).stop(),
        "")
    add("pkl_long4_len_huge", P().raw(b"\x8b" + struct.pack("<i", 2**31 - 1) + b"\x01").stop(),
        "")
    add("pkl_long4_len_negative", P().raw(b"\x8b" + struct.pack("<i", -5)).stop(), "")
    add("pkl_frame_len_huge", P(4).raw(b"\x95" + struct.pack("<Q", 1 << 62)).none().stop(), "")
    add("pkl_global_line_unterminated", P().raw(b"ctorch\n" + b"A" * 5000).bytes(), "")
    # structure
    add("pkl_unknown_opcode", P().raw(b"\xff").stop(), "unknown opcode")
    add("pkl_no_stop", P().empty_dict().bytes(), "")
    add("pkl_proto_6", P(6).none().stop(), "")
    add("pkl_trailing_after_stop", P().empty_dict().stop().raw(b"garbage"), "")
    add("pkl_dict_key_list", P().empty_dict().empty_list().none().setitem().stop(), "")
    # a 7th _rebuild_tensor_v2 argument that is not an empty dict
    p = P().empty_dict().str("w")
    p.tensor(args_extra=lambda q: q.empty_dict().str("k").none().setitem())
    add("pkl_rebuild_metadata", p.setitem().stop(), "")
    # tensor name with a NUL byte
    add("pkl_name_nul", P().empty_dict().str(b"a\0b").tensor().setitem().stop(), "")
    # a tensor under a float key
    add("pkl_tensor_under_float_key", P().empty_dict().raw(b"G" + struct.pack(">d", 1.5))
        .tensor().setitem().stop(), "")


def st_cases(s):
    T = ST_TOOLS
    hdr, data = valid_st()

    def hv(**changes):
        h = json.loads(json.dumps(hdr))
        for k, v in changes.items():
            if v is None:
                h.pop(k, None)
            else:
                h[k] = v
        return h

    s.add("st_empty", "safetensors", b"", T, "")
    s.add("st_short", "safetensors", b"\x08\0\0\0", T, "")
    s.add("st_header_len_huge", "safetensors", struct.pack("<Q", 1 << 63) + b"{}", T, "")
    s.add("st_header_len_past_file", "safetensors", st_file(hdr, data, length=100000), T, "")
    s.add("st_trunc_in_header", "safetensors", st_file(hdr, data)[:40], T, "")
    s.add("st_trunc_in_data", "safetensors", st_file(hdr, data)[:-5], T, "")
    s.add("st_header_not_json", "safetensors", st_file(None, b"", raw_header=b"not json"), T, "")
    s.add("st_header_array", "safetensors", st_file(None, b"", raw_header=b"[1,2,3]  "), T, "")
    s.add("st_header_invalid_utf8", "safetensors",
          st_file(None, b"", raw_header=b'{"a\xff":{"dtype":"F32","shape":[0],'
                                        b'"data_offsets":[0,0]}}'), T, "")
    s.add("st_header_deep_nesting", "safetensors",
          st_file(None, b"", raw_header=b"[" * 5000 + b"]" * 5000), T, "")
    s.add("st_name_lone_surrogate", "safetensors",
          st_file(None, b"", raw_header=b'{"a\\ud800":{"dtype":"F32","shape":[0],'
                                        b'"data_offsets":[0,0]}}'), T, "")
    s.add("st_duplicate_name", "safetensors",
          st_file(None, bytes(8), raw_header=b'{"a":{"dtype":"F32","shape":[1],"data_offsets"'
                  b':[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), T, "")
    s.add("st_bad_dtype", "safetensors",
          st_file(hv(a={"dtype": "F33", "shape": [2, 2], "data_offsets": [0, 16]}), data), T, "")
    s.add("st_shape_negative", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [-2, -2], "data_offsets": [0, 16]}), data), T,
          "")
    s.add("st_shape_float", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [2.0, 2], "data_offsets": [0, 16]}), data), T,
          "")
    s.add("st_shape_overflow_64", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [1 << 32, 1 << 32, 1 << 8],
                        "data_offsets": [0, 16]}), data), T, "")
    s.add("st_too_many_dims", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [1] * 9 + [4], "data_offsets": [0, 16]}), data),
          T, "")
    s.add("st_offsets_past_file", "safetensors",
          st_file(hv(c={"dtype": "I64", "shape": [1], "data_offsets": [24, 1 << 40]}), data), T,
          "")
    s.add("st_offsets_reversed", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [2, 2], "data_offsets": [16, 0]}), data), T, "")
    s.add("st_offsets_huge", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [2, 2],
                        "data_offsets": [18446744073709551600, 18446744073709551615]}), data),
          T, "")
    s.add("st_overlap", "safetensors",
          st_file(hv(b={"dtype": "F16", "shape": [4], "data_offsets": [8, 16]}), data), T, "")
    s.add("st_gap", "safetensors",
          st_file(hv(b={"dtype": "F16", "shape": [2], "data_offsets": [20, 24]}), data), T, "")
    s.add("st_trailing_bytes", "safetensors", st_file(hdr, data + b"extra"), T, "")
    s.add("st_size_mismatch", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 16]}), data), T, "")
    s.add("st_metadata_not_string", "safetensors",
          st_file(hv(__metadata__={"format": 1}), data), T, "")
    s.add("st_entry_not_object", "safetensors", st_file(hv(a=[1, 2]), data), T, "")
    s.add("st_missing_offsets", "safetensors",
          st_file(hv(a={"dtype": "F32", "shape": [2, 2]}), data), T, "")


def gguf_cases(s):
    T = GGUF_TOOLS
    kvs, tensors, data = valid_gguf_parts()
    good = gguf_file(kvs, tensors, data)

    def g(**kw):
        a = dict(kvs=kvs, tensors=tensors, data=data)
        a.update(kw)
        k, t, d = a.pop("kvs"), a.pop("tensors"), a.pop("data")
        return gguf_file(k, t, d, **a)

    def kv_replace(key, new):
        return [new if kv.startswith(gstr(key)) else kv for kv in kvs]

    s.add("gguf_bad_magic", "gguf", g(magic=b"GGUX"), T, "")
    s.add("gguf_empty", "gguf", b"", T, "")
    s.add("gguf_version_1", "gguf", g(version=1), T, "")
    s.add("gguf_version_huge", "gguf", g(version=0x7FFFFFFF), T, "")
    s.add("gguf_big_endian", "gguf", b"GGUF" + struct.pack(">I", 3) + good[8:], T, "")
    s.add("gguf_trunc_counts", "gguf", good[:14], T, "")
    s.add("gguf_trunc_in_kv", "gguf", good[:60], T, "")
    s.add("gguf_trunc_in_tensor_info", "gguf", good[:len(good) - len(data) - 40], T, "")
    s.add("gguf_trunc_in_data", "gguf", good[:-10], T, "")
    s.add("gguf_n_tensors_huge", "gguf", g(n_t=1 << 62), T, "")
    s.add("gguf_n_kv_huge", "gguf", g(n_kv=(1 << 64) - 1), T, "")
    s.add("gguf_key_len_huge", "gguf",
          g(kvs=[struct.pack("<Q", 1 << 62) + b"general"] + kvs[1:]), T, "")
    s.add("gguf_string_len_past_file", "gguf",
          g(kvs=kv_replace("general.name", gstr("general.name") + struct.pack("<IQ", 8, 1 << 40)
                           + b"tiny")), T, "")
    s.add("gguf_array_count_huge", "gguf",
          g(kvs=kv_replace("tokenizer.ggml.scores", gstr("tokenizer.ggml.scores") +
                           struct.pack("<IIQ", 9, 6, 1 << 40) + bytes(12))), T, "")
    s.add("gguf_array_of_strings_count_huge", "gguf",
          g(kvs=kv_replace("tokenizer.ggml.tokens", gstr("tokenizer.ggml.tokens") +
                           struct.pack("<IIQ", 9, 8, (1 << 30) - 1) + gstr("a"))), T, "")
    s.add("gguf_nested_array", "gguf",
          g(kvs=kvs + [gstr("x.nested") + struct.pack("<IIQ", 9, 9, 1) +
                       struct.pack("<IQ", 4, 1) + struct.pack("<I", 7)]), T, "")
    s.add("gguf_bad_value_type", "gguf",
          g(kvs=kvs + [gstr("x.bad") + struct.pack("<I", 13) + bytes(8)]), T, "")
    s.add("gguf_duplicate_key", "gguf", g(kvs=kvs + [gkv("general.name", "str", "again")]), T,
          "")
    s.add("gguf_empty_key", "gguf", g(kvs=kvs + [gkv("", "u32", 1)]), T, "")
    s.add("gguf_alignment_not_pow2", "gguf",
          g(kvs=kv_replace("general.alignment", gkv("general.alignment", "u32", 48)), align=48),
          T, "")
    s.add("gguf_alignment_zero", "gguf",
          g(kvs=kv_replace("general.alignment", gkv("general.alignment", "u32", 0))), T, "")
    s.add("gguf_alignment_wrong_type", "gguf",
          g(kvs=kv_replace("general.alignment", gkv("general.alignment", "u64", 32))), T, "")
    s.add("gguf_misaligned_offset", "gguf",
          g(tensors=[tensors[0], ("b.weight", [32], 2, 33)], data=data + b"\0"), T, "")
    s.add("gguf_offset_past_file", "gguf",
          g(tensors=[tensors[0], ("b.weight", [32], 2, 1 << 40)]), T, "")
    s.add("gguf_overlapping_tensors", "gguf",
          g(tensors=[tensors[0], ("b.weight", [4], 0, 0)], data=data[:32]), T, "")
    s.add("gguf_duplicate_tensor", "gguf",
          g(tensors=[tensors[0], ("a.weight", [32], 2, 32)]), T, "")
    s.add("gguf_tensor_name_64", "gguf",
          g(tensors=[("n" * 64, [4], 0, 0), tensors[1]]), T, "")
    s.add("gguf_n_dims_5", "gguf", g(tensors=[("a.weight", [4, 1, 1, 1, 1], 0, 0), tensors[1]]),
          T, "")
    s.add("gguf_ne_negative", "gguf", g(tensors=[("a.weight", [-4], 0, 0), tensors[1]]), T, "")
    s.add("gguf_ne_overflow_64", "gguf",
          g(tensors=[("a.weight", [1 << 32, 1 << 32, 1 << 8], 0, 0), tensors[1]]), T, "")
    s.add("gguf_type_removed", "gguf", g(tensors=[tensors[0], ("b.weight", [32], 4, 32)]), T, "")
    s.add("gguf_type_huge", "gguf", g(tensors=[tensors[0], ("b.weight", [32], 0xFFFF, 32)]), T,
          "")
    s.add("gguf_block_multiple", "gguf", g(tensors=[tensors[0], ("b.weight", [33], 2, 32)]), T,
          "")
    s.add("gguf_key_invalid_utf8", "gguf", g(kvs=kvs + [gkv(b"x.\xff\xfe", "u32", 1)]), T, "")
    s.add("gguf_tensor_name_invalid_utf8", "gguf",
          g(tensors=[(b"a.\xff\xfe", [4], 0, 0), tensors[1]]), T, "")


def spm_cases(s):
    T = ["pack-vocab"]
    good = valid_spm()
    s.add("spm_trunc_varint", "model", good[:1] + b"\x80", T, "")
    s.add("spm_len_past_end", "model", b"\x0a\xff\xff\xff\x0f" + good[:20], T, "")
    s.add("spm_varint_11_bytes", "model", b"\x18" + b"\xff" * 10 + b"\x01", T, "")
    s.add("spm_group_wire_type", "model", b"\x0b" + good, T, "")
    s.add("spm_wire_type_7", "model", b"\x0f" + good, T, "")
    s.add("spm_piece_text_invalid_utf8", "model",
          pb_field(1, 2, pb_field(1, 2, b"\xff\xfe") + pb_field(3, 0, 1)) + good, T, "")
    s.add("spm_nested_len_past_parent", "model",
          pb_field(1, 2, b"\x0a\x40abc") + good, T, "")


def xor_cases(s):
    T = ["xor-decode", "xor-zlib", "xor-isal"]
    ok = gz(PAYLOAD_PLAIN)
    s.add("xor_gz_trunc_header", "bin", ok[:5], T, "")
    s.add("xor_gz_trunc_deflate", "bin", ok[:len(ok) // 2], T, "")
    s.add("xor_gz_trunc_trailer", "bin", ok[:-3], T, "")
    b = bytearray(ok)
    b[-8] ^= 0xFF
    s.add("xor_gz_bad_crc", "bin", bytes(b), T, "")
    b = bytearray(ok)
    b[-1] ^= 0x01
    s.add("xor_gz_bad_isize", "bin", bytes(b), T, "")
    s.add("xor_gz_trailing_garbage", "bin", ok + b"garbage!", T, "")
    b = bytearray(ok)
    b[2] = 7
    s.add("xor_gz_bad_method", "bin", bytes(b), T, "")
    b = bytearray(ok)
    b[3] = 0xE0
    s.add("xor_gz_reserved_flags", "bin", bytes(b), T, "")
    s.add("xor_gz_fextra_past_end", "bin", b"\x1f\x8b\x08\x04\0\0\0\0\0\xff\xff\xff" + b"ab", T,
          "")
    s.add("xor_gz_fname_unterminated", "bin", b"\x1f\x8b\x08\x08\0\0\0\0\0\xff" + b"name" * 10,
          T, "")
    s.add("xor_gz_bad_block_type", "bin", b"\x1f\x8b\x08\0\0\0\0\0\0\xff\x07" + bytes(20), T, "")
    s.add("xor_gz_second_member_trunc", "bin", ok + ok[:30], T, "")
    # 64 MiB of zeros (~64 KiB compressed) with a wrong CRC: decoded to the end, then refused
    b = bytearray(gz(bytes(64 << 20), level=9))
    b[-8] ^= 0xFF
    s.add("xor_gz_bomb_bad_crc", "bin", bytes(b), T, "")
    # --gzip forced on a file without the magic
    s.add("xor_raw_forced_gzip", "bin", b"plain bytes, no gzip magic", ["xor-gzip"], "")


def manifest_cases(s):
    T = ["xor-verify", "xor-manifest"]
    h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    s.add("man_short_hex", "sha256", (h[:63] + "  a.bin\n").encode(), T, "")
    s.add("man_non_hex", "sha256", ("g" + h[1:] + "  a.bin\n").encode(), T, "")
    s.add("man_no_separator", "sha256", (h + "a.bin\n").encode(), T, "")
    s.add("man_one_space", "sha256", (h + " a.bin\n").encode(), T, "")
    s.add("man_empty_name", "sha256", (h + "  \n").encode(), T, "")
    s.add("man_bad_escape", "sha256", ("\\" + h + "  a\\x.bin\n").encode(), T, "")
    s.add("man_duplicate_name", "sha256", (h + "  a.bin\n" + h + " *a.bin\n").encode(), T, "")
    s.add("man_line_too_long", "sha256", (h + "  " + "a" * 9000 + "\n").encode(), T, "")
    s.add("man_bsd_unterminated", "sha256", ("SHA256 (a.bin = " + h + "\n").encode(), T, "")
    s.add("man_bsd_wrong_algo", "sha256", ("MD5 (a.bin) = " + h[:32] + "\n").encode(), T, "")
    s.add("man_nul_in_name", "sha256", (h + "  a\0.bin\n").encode(), T, "")
    s.add("man_binary_garbage", "sha256", bytes(range(256)) * 4, T, "")
    s.add("man_traversal", "sha256", (h + "  ../../etc/passwd\n").encode(), ["xor-verify"], "")
    s.add("man_absolute", "sha256", (h + "  /etc/passwd\n").encode(), ["xor-verify"], "")


PARAMS = {"dim": 32, "multiple_of": 32, "n_heads": 4, "n_layers": 1, "norm_eps": 1e-05,
          "vocab_size": 32}


def json_cases(s):
    T = ["convert-params"]

    def pj(**ch):
        d = dict(PARAMS)
        d.update(ch)
        return json.dumps(d).encode()

    s.add("json_empty", "json", b"", T, "")
    s.add("json_truncated", "json", pj()[:20], T, "")
    s.add("json_not_object", "json", b"[1, 2, 3]", T, "")
    s.add("json_deep_nesting", "json", b"[" * 5000 + b"]" * 5000, T, "")
    s.add("json_duplicate_key", "json", b'{"dim": 64, "dim": 128, "n_heads": 4, "n_layers": 1,'
          b' "norm_eps": 1e-05, "multiple_of": 32, "vocab_size": 32}', T, "")
    s.add("json_invalid_utf8", "json", b'{"dim\xff": 64}', T, "")
    s.add("json_lone_surrogate", "json", b'{"dim": 64, "n\\ud800": 1}', T, "")
    s.add("json_bom", "json", b"\xef\xbb\xbf" + pj(), T, "")
    s.add("json_number_overflow", "json", pj().replace(b"1e-05", b"1e400"), T, "")
    s.add("json_nan", "json", pj().replace(b"1e-05", b"NaN"), T, "")
    s.add("json_trailing_garbage", "json", pj() + b"}", T, "")
    s.add("json_int_digits_5000", "json", b'{"dim": ' + b"9" * 5000 + b"}", T, "")
    s.add("json_n_heads_zero", "json", pj(n_heads=0), T, "")
    s.add("json_dim_negative", "json", pj(dim=-64), T, "")
    s.add("json_dim_huge", "json", pj(dim=1 << 62), T, "")
    s.add("json_n_layers_huge", "json", pj(n_layers=1 << 40), T, "")
    s.add("json_dim_string", "json", pj(dim="64"), T, "")


HOSTILE = os.path.join("tests", "fixtures", "hostile")


def hostile_refs(s):
    """The committed hostile checkpoints, with expected.tsv's substrings."""
    path = os.path.join(ROOT, HOSTILE, "expected.tsv")
    if not os.path.exists(path):
        return
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        name, _code, text = line.rstrip("\n").split("\t")
        cid = "hostile_" + name.rsplit(".", 1)[0]
        s.ref(cid, HOSTILE + "/" + name, PTH_TOOLS, text)


# ---------------------------------------------------------------------------
# llama.cpp importance matrices (formats/imatrix; docs/formats/imatrix.md),
# given to wk-quantize --imatrix with the model of imatrix_model() (the tensor
# blk.0.attn_q.weight, 32 x 2 F32)
# ---------------------------------------------------------------------------

IM_TENSOR = "blk.0.attn_q.weight"


def imatrix_model():
    kvs = [gkv("general.architecture", "str", "llama")]
    return gguf_file(kvs, [(IM_TENSOR, [32, 2], 0, 0)], struct.pack("<64f", *[0.5] * 64))


def im_legacy(entries, trailer=b"", n=None):
    """entries: list of (name bytes, ncall, values) or raw bytes."""
    out = bytearray(struct.pack("<i", len(entries) if n is None else n))
    for e in entries:
        if isinstance(e, bytes):
            out += e
            continue
        name, ncall, vals = e
        out += struct.pack("<i", len(name)) + name + struct.pack("<ii", ncall, len(vals))
        out += struct.pack("<%df" % len(vals), *vals)
    return bytes(out + trailer)


def im_trailer(calls=7, ds=b"wiki.train.raw"):
    return struct.pack("<ii", calls, len(ds)) + ds


def valid_im_legacy():
    return im_legacy([(IM_TENSOR.encode(), 7, [0.25 * (i + 1) for i in range(32)])], im_trailer())


IM_META = [gkv("imatrix.datasets", "arr", ("str", ["wiki.train.raw"])),
           gkv("imatrix.chunk_count", "u32", 7), gkv("imatrix.chunk_size", "u32", 512)]


def im_gguf(kvs=None, sums=(32, 1), sums_type=0, counts=(1.0,), counts_type=0, only=None):
    """An imatrix GGUF: <t>.in_sum2 (sums_type, shape sums) and <t>.counts (counts)."""
    kvs = IM_META if kvs is None else kvs
    nval = sums[0] * sums[1]
    sbytes = (struct.pack("<%df" % nval, *[1.0 + i for i in range(nval)]) if sums_type == 0
              else struct.pack("<%de" % nval, *[1.0] * nval))
    cbytes = struct.pack("<%df" % len(counts), *counts)
    pad = lambda b: b + b"\0" * ((-len(b)) % 32)
    tensors, data = [], b""
    if only in (None, "sums"):
        tensors.append((IM_TENSOR + ".in_sum2", list(sums), sums_type, len(data)))
        data = pad(data + sbytes)
    if only in (None, "counts"):
        tensors.append((IM_TENSOR + ".counts", [1, len(counts)], counts_type, len(data)))
        data = data + cbytes
    return gguf_file(kvs, tensors, data)


def imatrix_cases(s):
    T = ["quantize-imatrix"]
    with open(os.path.join(s.out, "cases", "imatrix_model.gguf"), "wb") as f:
        f.write(imatrix_model())
    name = IM_TENSOR.encode()
    ok32 = [1.0] * 32
    s.add("imatrix_empty", "dat", b"", T, "neither a GGUF imatrix nor a legacy imatrix")
    s.add("imatrix_legacy_no_entries", "dat", im_legacy([]), T, "0 entries (no data)")
    s.add("imatrix_legacy_negative_entries", "dat", im_legacy([], n=-5), T, "-5 entries")
    s.add("imatrix_legacy_entries_huge", "dat", im_legacy([(name, 1, ok32)], n=0x7fffffff), T,
          "claims 2147483647 entries")
    s.add("imatrix_legacy_name_len_zero", "dat", im_legacy([struct.pack("<i", 0) + bytes(40)]), T,
          "name length 0")
    s.add("imatrix_legacy_name_len_negative", "dat",
          im_legacy([struct.pack("<i", -2) + bytes(40)]), T, "name length -2")
    s.add("imatrix_legacy_name_len_huge", "dat",
          im_legacy([struct.pack("<i", 5000) + bytes(5100)]), T, "name length 5000")
    s.add("imatrix_legacy_name_truncated", "dat", im_legacy([struct.pack("<i", 30) + b"blk.0"]),
          T, "truncated")
    s.add("imatrix_legacy_name_not_utf8", "dat", im_legacy([(b"blk.\xff.x", 1, ok32)]), T,
          "name is not UTF-8")
    s.add("imatrix_legacy_name_nul", "dat", im_legacy([(b"blk\x00.x", 1, ok32)]), T,
          "name is not UTF-8")
    s.add("imatrix_legacy_nval_zero", "dat", im_legacy([(name, 1, [])]), T, "0 values")
    s.add("imatrix_legacy_nval_negative", "dat",
          im_legacy([struct.pack("<i", len(name)) + name + struct.pack("<ii", 1, -4)]), T,
          "-4 values")
    s.add("imatrix_legacy_values_truncated", "dat",
          im_legacy([struct.pack("<i", len(name)) + name + struct.pack("<ii", 1, 32) + bytes(64)]),
          T, "32 values, but only 64 bytes are left")
    s.add("imatrix_legacy_duplicate", "dat", im_legacy([(name, 1, ok32), (name, 1, ok32)]), T,
          "appears twice")
    s.add("imatrix_legacy_trailer_stray", "dat", im_legacy([(name, 1, ok32)], b"\x01\x02"), T,
          "2 stray bytes")
    s.add("imatrix_legacy_trailer_len", "dat",
          im_legacy([(name, 1, ok32)], struct.pack("<ii", 7, 99) + b"abc"), T,
          "dataset name of 99 bytes, but 3 bytes follow")
    s.add("imatrix_legacy_trailer_extra", "dat",
          im_legacy([(name, 1, ok32)], im_trailer() + b"junk"), T, "the file must end with it")
    s.add("imatrix_legacy_size_mismatch", "dat", im_legacy([(name, 1, [1.0] * 16)]), T,
          "imatrix size 16 is different from tensor size 32 for " + IM_TENSOR)
    s.add("imatrix_legacy_nan", "dat", im_legacy([(name, 1, ok32[:5] + [float("nan")] + ok32[6:])]),
          T, "column 5: importance nan")
    s.add("imatrix_legacy_negative_value", "dat", im_legacy([(name, 2, [-1.0] + ok32[1:])]), T,
          "column 0: importance -0.5")
    s.add("imatrix_legacy_inf", "dat", im_legacy([(name, 1, [float("inf")] * 32)]), T,
          "importance inf")
    s.add("imatrix_gguf_bad_version", "gguf", b"GGUF" + struct.pack("<IQQ", 7, 0, 0), T,
          "version 7")
    s.add("imatrix_gguf_no_tensors", "gguf", gguf_file(IM_META, [], b""), T, "no data in file")
    s.add("imatrix_gguf_no_metadata", "gguf", im_gguf(kvs=IM_META[1:]), T,
          "missing imatrix metadata (imatrix.datasets)")
    s.add("imatrix_gguf_datasets_not_strings", "gguf",
          im_gguf(kvs=[gkv("imatrix.datasets", "u32", 1)] + IM_META[1:]), T,
          "imatrix.datasets is not an array of strings")
    s.add("imatrix_gguf_sums_only", "gguf", im_gguf(only="sums"), T,
          "mismatched sums and counts")
    s.add("imatrix_gguf_counts_only", "gguf", im_gguf(only="counts"), T,
          "mismatched sums and counts")
    s.add("imatrix_gguf_sums_f16", "gguf", im_gguf(sums_type=1), T, "must be F32")
    s.add("imatrix_gguf_experts_ragged", "gguf", im_gguf(sums=(32, 1), counts=(1.0, 1.0, 1.0)), T,
          "not a whole number of rows for the 3 counts")
    s.add("imatrix_gguf_count_negative", "gguf", im_gguf(counts=(-3.0,)), T,
          "a token count must be finite")
    s.add("imatrix_gguf_count_nan", "gguf", im_gguf(counts=(float("nan"),)), T,
          "a token count must be finite")
    s.add("imatrix_gguf_size_mismatch", "gguf", im_gguf(sums=(64, 1)), T,
          "imatrix size 64 is different from tensor size 32")


def write_suite(out):
    os.makedirs(os.path.join(out, "cases"), exist_ok=True)
    for f in os.listdir(os.path.join(out, "cases")):
        os.unlink(os.path.join(out, "cases", f))
    s = Suite(out)
    hostile_refs(s)
    pth_cases(s)
    pickle_cases(s)
    st_cases(s)
    gguf_cases(s)
    spm_cases(s)
    xor_cases(s)
    manifest_cases(s)
    json_cases(s)
    imatrix_cases(s)
    with open(os.path.join(out, "cases.tsv"), "w", encoding="utf-8") as f:
        f.write("# id\tfile\ttool\texit\texpect  (written by tests/malformed/gen.py)\n")
        for cid, path, tool, ex, expect in s.rows:
            f.write("\t".join((cid, path, tool, ex, expect)) + "\n")
    return s


def write_meta_base(out):
    """A tiny valid Meta checkpoint (params.json + consolidated.00.pth, f16 zeros)
    for the convert-* cases: dim 32, 4 heads, 1 layer, vocab 32."""
    os.makedirs(out, exist_ok=True)
    dim, vocab, hidden = PARAMS["dim"], PARAMS["vocab_size"], 96
    shapes = [("tok_embeddings.weight", (vocab, dim)), ("norm.weight", (dim,)),
              ("output.weight", (vocab, dim))]
    for w in ("wq", "wk", "wv", "wo"):
        shapes.append(("layers.0.attention.%s.weight" % w, (dim, dim)))
    shapes += [("layers.0.feed_forward.w1.weight", (hidden, dim)),
               ("layers.0.feed_forward.w2.weight", (dim, hidden)),
               ("layers.0.feed_forward.w3.weight", (hidden, dim)),
               ("layers.0.attention_norm.weight", (dim,)),
               ("layers.0.ffn_norm.weight", (dim,)),
               ("rope.freqs", (dim // PARAMS["n_heads"] // 2,))]
    tensors, storages = [], []
    for i, (name, shape) in enumerate(shapes):
        numel = 1
        for d in shape:
            numel *= d
        stride = (shape[1], 1) if len(shape) == 2 else (1,)
        tensors.append((name, dict(storage="HalfStorage", key=str(i), numel=numel, shape=shape,
                                   stride=stride)))
        raw = bytes(2 * numel)
        if name == "rope.freqs":   # valid values: 10000^(-2j/head_dim) in fp16 (wk checks them)
            hd = dim // PARAMS["n_heads"]
            raw = struct.pack("<%de" % numel, *[10000.0 ** (-2.0 * j / hd) for j in range(numel)])
        storages.append((str(i), raw))
    data, _ = torch_zip(state_dict_pickle(tensors), storages, prefix="consolidated")
    with open(os.path.join(out, "consolidated.00.pth"), "wb") as f:
        f.write(data)
    with open(os.path.join(out, "params.json"), "w") as f:
        json.dump(PARAMS, f)


def write_seeds(out):
    """Valid files of each format, as fuzzing seeds."""
    def put(target, name, data):
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    good, _ = valid_pth()
    put("pth", "valid.pth", good)
    put("pickle", "valid.pkl", state_dict_pickle([
        ("w", dict(numel=6, shape=(2, 3), stride=(3, 1))),
        ("b", dict(storage="HalfStorage", key="1", numel=3))]))
    hdr, data = valid_st()
    put("safetensors", "valid.safetensors", st_file(hdr, data))
    put("safetensors", "empty.safetensors", st_file({}, b""))
    put("gguf", "valid.gguf", valid_gguf())
    put("spm", "valid.model", valid_spm())
    put("xor", "one.gz", gz(PAYLOAD_PLAIN[:300]))
    put("xor", "two.gz", gz(b"abc" * 50) + gz(b"xyz" * 20, level=1) + bytes(8))
    put("xor", "named.gz", gz(b"hello", name=b"w.bin"))
    put("xor", "raw.payload", PAYLOAD_PLAIN[:200])
    h = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    put("manifest", "gnu.sha256", (h + "  a.bin\n" + h.upper() + " *b c.bin\r\n").encode())
    put("manifest", "bsd.sha256", ("SHA256 (a.bin) = " + h + "\n# note\n\n").encode())
    put("manifest", "escaped.sha256", ("\\" + h + "  a\\\\b\\nc\n").encode())
    put("json", "params.json", json.dumps(PARAMS).encode())
    put("json", "st_header.json", json.dumps(hdr).encode())
    put("imatrix", "valid.dat", valid_im_legacy())
    put("imatrix", "valid.gguf", im_gguf())
    put("imatrix", "experts.gguf", im_gguf(sums=(32, 2), counts=(3.0, 0.0)))


def main():
    args = sys.argv[1:]
    if args[:1] == ["--meta-base"]:
        write_meta_base(args[1])
        return 0
    if args[:1] == ["--seeds"]:
        write_seeds(args[1])
        return 0
    if args[:1] == ["--check"]:
        with tempfile.TemporaryDirectory() as tmp:
            write_suite(tmp)
            rc = subprocess.call(["diff", "-r", "-q", os.path.join(tmp, "cases"),
                                  os.path.join(HERE, "cases")])
            rc |= subprocess.call(["diff", os.path.join(tmp, "cases.tsv"),
                                   os.path.join(HERE, "cases.tsv")])
            return rc
    s = write_suite(HERE)
    print("wrote %d cases, %d rows to %s" % (len(s.ids), len(s.rows), HERE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
