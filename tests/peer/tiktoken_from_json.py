#!/usr/bin/python3
"""tiktoken_from_json.py TOKENIZER_JSON OUT — a tiktoken BPE file (docs/formats/tiktoken.md)
from a byte-level BPE tokenizer.json: for every model.vocab entry in id order, base64 of the
token's bytes (GPT-2's bytes_to_unicode undone), a space, the id, a newline.  Used by
tests/peer/llama3_tokenizer.sh to rebuild Meta's Llama 3 tokenizer.model from a published
tokenizer.json (the result must have Meta's published sha256)."""
import base64
import json
import sys


def unicode_to_bytes():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    dec = unicode_to_bytes()
    vocab = json.load(open(sys.argv[1], encoding="utf-8"))["model"]["vocab"]
    items = sorted(vocab.items(), key=lambda kv: kv[1])
    with open(sys.argv[2], "wb") as f:
        for i, (text, rank) in enumerate(items):
            if rank != i:
                sys.exit("tiktoken_from_json.py: ids are not 0..n-1")
            f.write(base64.b64encode(bytes(dec[c] for c in text)) + b" %d\n" % rank)


if __name__ == "__main__":
    main()
