#!/usr/bin/python3
"""Reference re-implementation of the public xor_codec.py algorithm.

Written from the script's behaviour (not copied) so weightkit's wk-xor can be
tested and benchmarked against it.  What it reproduces:

  usage: xor_codec_ref.py DST PAYLOAD_DIR BASE_DIR [--encode] [--compress]

  * decode is the default; --encode swaps direction; --compress selects gzip
    (decode reads gzip payloads, encode writes them with Python's gzip module
    at its default level 9).  Without --compress both directions XOR raw files.
  * DST is created (parents too, existing is fine).
  * added_tokens.json is copied from PAYLOAD_DIR to DST verbatim first
    (the original raises if it is absent; this version skips the copy then).
  * every entry of os.listdir(PAYLOAD_DIR), in listing order, is XOR'd with
    the same-named file of BASE_DIR in blocks of 4096 bytes using numpy:
    a base block shorter than the payload block is padded with zero bytes, a
    longer one is cut; the loop ends after the first short payload block, so
    the output has exactly the payload's length.
  * a failure on one entry (no base file, a directory, bad gzip) prints
    "Exception when processing '<name>'" and goes on with the next entry; the
    exit status stays 0, as in the original.

Run with Debian's /usr/bin/python3 (python3-numpy).
"""
import gzip
import os
import shutil
import sys

import numpy

BLOCK = 4096


def _xor_stream(reader, base, writer):
    """Write (payload XOR zero-extended/cut base) block by block."""
    while True:
        a = numpy.frombuffer(reader.read(BLOCK), dtype=numpy.uint8)
        b = numpy.frombuffer(base.read(BLOCK), dtype=numpy.uint8)
        if len(b) < len(a):
            b = numpy.concatenate([b, numpy.zeros(len(a) - len(b), dtype=numpy.uint8)])
        elif len(b) > len(a):
            b = b[: len(a)]
        writer.write(numpy.bitwise_xor(a, b).tobytes())
        if len(a) < BLOCK:
            return


def xor_file(dst, payload, base, decode, compress):
    """One file, the way the script's three functions do it."""
    if compress and decode:
        reader = gzip.open(payload, "rb")
    else:
        reader = open(payload, "rb")
    with reader, open(base, "rb") as fb:
        if compress and not decode:
            writer = gzip.open(dst, "wb")  # compresslevel 9, header carries name and mtime
        else:
            writer = open(dst, "wb")
        with writer:
            _xor_stream(reader, fb, writer)


def xor_dir(dst, payload_dir, base_dir, decode=True, compress=False):
    os.makedirs(dst, exist_ok=True)
    tokens = os.path.join(payload_dir, "added_tokens.json")
    if os.path.exists(tokens):
        shutil.copy(tokens, os.path.join(dst, "added_tokens.json"))
    for name in os.listdir(payload_dir):
        print(f"[*] Processing '{name}'")
        try:
            xor_file(os.path.join(dst, name), os.path.join(payload_dir, name),
                     os.path.join(base_dir, name), decode, compress)
        except Exception:
            print(f"Exception when processing '{name}'")


def main(argv):
    if len(argv) < 4:
        print("Usage: xor_codec_ref.py <DESTINATION> <PAYLOAD SOURCE> <LLAMA SOURCE> "
              "[--encode] [--compress]")
        return 0
    flags = argv[4:]
    xor_dir(argv[1], argv[2], argv[3], decode="--encode" not in flags,
            compress="--compress" in flags)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
