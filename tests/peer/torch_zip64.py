#!/usr/bin/python3
"""Second half of torch_zip64.sh: check weightkit's > 4 GiB file against torch.

usage: torch_zip64.py <weightkit file> <path for torch.save's file>
Both paths must have the same basename (it names the zip's archive folder).
"""
import hashlib
import sys
import time
import zipfile

import torch

BIG = 2150000000  # must match ZIP64_BIG_NUMEL in tests/unit/test_pth_write.c


def fail(msg):
    print("torch_zip64: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 24)
            if not b:
                return h.hexdigest()
            h.update(b)


def the_dict():
    return {"small": torch.arange(10, dtype=torch.float16).reshape(2, 5),
            "big": torch.zeros(BIG, dtype=torch.float16),
            "after": torch.tensor([7, -7], dtype=torch.int64)}


def main():
    ours, theirs = sys.argv[1], sys.argv[2]
    t = time.time()
    with zipfile.ZipFile(ours) as z:
        zinfo = [(i.filename, i.header_offset, i.file_size) for i in z.infolist()]
    print("torch_zip64: records %s" % zinfo)
    got = torch.load(ours, weights_only=True)
    want = the_dict()
    if list(got) != list(want):
        fail("keys %s" % list(got))
    for k in want:
        a, b = got[k], want[k]
        if a.dtype != b.dtype or a.shape != b.shape or a.stride() != b.stride():
            fail("%s: %s %s differs" % (k, a.dtype, tuple(a.shape)))
    if not torch.equal(got["small"], want["small"]) or not torch.equal(got["after"], want["after"]):
        fail("small tensors differ")
    if torch.count_nonzero(got["big"].view(torch.int64)):  # fast; BIG * 2 is a multiple of 8
        fail("big tensor is not all zeros")
    del got
    print("torch_zip64: torch.load(weights_only=True) ok in %.1f s" % (time.time() - t))
    t = time.time()
    torch.save(want, theirs)
    del want
    print("torch_zip64: torch.save wrote the reference in %.1f s" % (time.time() - t))
    t = time.time()
    a, b = sha256(ours), sha256(theirs)
    print("torch_zip64: sha256 weightkit %s\ntorch_zip64: sha256 torch     %s (%.1f s)"
          % (a, b, time.time() - t))
    if a != b:
        fail("the files differ")
    print("torch_zip64: byte-identical")


if __name__ == "__main__":
    main()
