#!/usr/bin/python3
"""Write a small SentencePiece BPE tokenizer.model (a ModelProto, hand-encoded: no protobuf
package here) whose pieces exercise tokenizer.json's escaping and merge order: quotes,
backslashes, C0 controls, DEL, non-ASCII, "/" and ties between merges of equal score.

usage: spm_craft.py OUT.model [unigram]      (unigram: model_type 1 instead of 2, BPE)
       spm_craft.py --rescore IN.model OUT.model
           copy IN with every NORMAL piece scored exactly 0.0 (or -0.0) given a score between
           its neighbours' instead.  transformers' SentencePieceExtractor keeps a merge only
           `if piece_score:`, so a zero-scored piece (spm_train gives its first merge -0.0) is
           never formed by the converted tokenizer while sentencepiece forms it; the rescored
           copy has no such piece, so the two must then encode alike.
"""
import struct
import sys


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, wt, payload):
    key = varint(num << 3 | wt)
    if wt == 2:
        return key + varint(len(payload)) + payload
    return key + payload


def piece(text, score, ptype):
    return (field(1, 2, text.encode("utf-8")) + field(2, 5, struct.pack("<f", score)) +
            field(3, 0, varint(ptype)))


PIECES = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3),
          ("a", -1.0, 1), ("b", -2.0, 1), ("q", -3.0, 1), ('"', -4.0, 1), ("\\", -5.0, 1),
          ("n", -6.0, 1), ("\x01", -7.0, 1), ("\x7f", -8.0, 1), ("\u00e9", -9.0, 1),
          ("/", -10.0, 1), ("\u2581", -11.0, 1), ("\t", -12.0, 1), ("\u4e2d", -12.5, 1),
          ("ab", -13.0, 1), ("ba", -13.0, 1),           # a tie: loop order decides
          ('q"', -14.0, 1), ('"q', -14.0, 1), ("\\n", -15.0, 1), ("\x01\x01", -16.0, 1),
          ("\u00e9\u00e9", -17.0, 1), ("\u2581a", -18.0, 1), ("\u2581ab", -19.0, 1),
          ("a/b", -20.0, 1), ("\t\x7f", -21.0, 1), ("bb", 0.0, 1),   # score 0: no merge
          ("\u2581q\"", -22.0, 1), ("\u2581\u4e2d", -23.0, 1),
          ("\b", -30.0, 1), ("\f", -31.0, 1), ("\r", -32.0, 1), ("\n", -33.0, 1),
          ("\b\f", -34.0, 1), ("\r\n", -35.0, 1), ("\x1f", -36.0, 1), ("\x1ex", -37.0, 1)]


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def fields(b):
    """(number, wire type, raw value bytes) of each field of message b."""
    i = 0
    while i < len(b):
        key, i = read_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, j = read_varint(b, i)
        elif wt == 1:
            j = i + 8
        elif wt == 5:
            j = i + 4
        elif wt == 2:
            n, i = read_varint(b, i)
            j = i + n
        else:
            sys.exit("spm_craft.py: unsupported wire type %d" % wt)
        yield num, wt, b[i:j]
        i = j


def rescore(src, dst):
    data = open(src, "rb").read()
    out, prev = b"", 0.0
    for num, wt, val in fields(data):
        if num == 1 and wt == 2:
            f = {n: v for n, _, v in fields(val)}
            score = struct.unpack("<f", f[2])[0] if 2 in f else 0.0
            ptype = read_varint(f[3], 0)[0] if 3 in f else 1
            if ptype == 1 and score == 0.0:
                score = prev + 0.5 if prev < 0 else 0.5
                val = piece(f[1].decode("utf-8"), score, 1)
            prev = score if ptype == 1 else prev
        out += field(num, wt, val) if wt == 2 else varint(num << 3 | wt) + val
    open(dst, "wb").write(out)


def main():
    if sys.argv[1] == "--rescore":
        return rescore(sys.argv[2], sys.argv[3])
    out = sys.argv[1]
    model_type = 1 if len(sys.argv) > 2 and sys.argv[2] == "unigram" else 2
    data = b"".join(field(1, 2, piece(*p)) for p in PIECES)
    # no byte pieces, so byte_fallback stays off (sentencepiece would want all 256)
    trainer = field(3, 0, varint(model_type)) + field(4, 0, varint(len(PIECES)))
    normalizer = field(1, 2, b"identity") + field(3, 0, varint(1)) + field(4, 0, varint(0))
    data += field(2, 2, trainer) + field(3, 2, normalizer)
    with open(out, "wb") as fh:
        fh.write(data)


main()
