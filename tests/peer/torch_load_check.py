#!/usr/bin/python3
"""Check files written by wk_pth_write with the real torch (see torch_load.sh).

usage: torch_load_check.py <golden dir with manifest.json> <written dir>

<written dir>/<file> are the 1.13-profile outputs (must equal the golden
bytes); <written dir>/torch-2.1/<file> the 2.1-profile outputs.  Every file
must pass zipfile's CRC check and load with torch.load(weights_only=True) to
the same dict as the golden file: keys in order, dtype, shape, stride,
storage_offset, storage sharing, same-object keys and bit-identical storage
bytes.  Prints one line per file; exits 1 on the first failure.
"""
import hashlib
import json
import os
import sys
import zipfile

import torch


def fail(msg):
    print("torch_load: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def storage_bytes(t):
    """The whole storage of t as a uint8 tensor (bitwise comparable)."""
    full = torch.empty(0, dtype=t.dtype).set_(t.storage())
    return full.view(torch.uint8) if full.numel() else torch.empty(0, dtype=torch.uint8)


def check_against(name, got, want, entry):
    if list(got.keys()) != list(want.keys()):
        fail("%s: keys differ" % name)
    if [e["name"] for e in entry["tensors"]] != list(got.keys()):
        fail("%s: keys differ from the manifest" % name)
    groups = {}
    for e in entry["tensors"]:
        k = e["name"]
        a, b = got[k], want[k]
        if "same_as" in e:
            if a is not got[e["same_as"]]:
                fail("%s: '%s' is not the same object as '%s'" % (name, k, e["same_as"]))
            continue
        if a.dtype != b.dtype or str(a.dtype) != "torch." + storage_dtype(entry, e["storage"]):
            fail("%s: '%s' dtype %s, expected %s" % (name, k, a.dtype, b.dtype))
        if list(a.shape) != e["shape"] or list(a.stride()) != e["stride"] or \
                a.storage_offset() != e["offset"]:
            fail("%s: '%s' layout %s/%s/%d, manifest %s/%s/%d" % (
                name, k, list(a.shape), list(a.stride()), a.storage_offset(),
                e["shape"], e["stride"], e["offset"]))
        if a.requires_grad:
            fail("%s: '%s' requires grad" % (name, k))
        if not torch.equal(storage_bytes(a), storage_bytes(b)):
            fail("%s: '%s' storage bytes differ" % (name, k))
        if a.storage().size() != b.storage().size():
            fail("%s: '%s' storage size differs" % (name, k))
        if a.storage().nbytes():
            groups.setdefault(e["storage"], set()).add(a.storage().data_ptr())
    ptrs = [p for g in groups.values() for p in g]
    if any(len(g) != 1 for g in groups.values()) or len(ptrs) != len(set(ptrs)):
        fail("%s: storage sharing differs from the manifest" % name)


def storage_dtype(entry, key):
    for s in entry["storages"]:
        if s["key"] == key:
            return s["dtype"]
    fail("%s: unknown storage key %s" % (entry["file"], key))


def main():
    golden_dir, out_dir = sys.argv[1], sys.argv[2]
    with open(os.path.join(golden_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    n = 0
    for entry in manifest["files"]:
        fname = entry["file"]
        want = torch.load(os.path.join(golden_dir, fname), weights_only=True)
        for profile, path in (("1.13", os.path.join(out_dir, fname)),
                              ("2.1", os.path.join(out_dir, "torch-2.1", fname))):
            label = "%s [%s]" % (fname, profile)
            if not os.path.exists(path):
                fail("%s: not written (%s)" % (label, path))
            raw = open(path, "rb").read()
            if profile == "1.13" and hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                fail("%s: bytes differ from torch.save's" % label)
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
                if bad:
                    fail("%s: CRC error in %s" % (label, bad))
                names = [i.filename[len(entry["archive"]) + 1:] for i in z.infolist()]
            records = list(entry["records"])
            if profile == "2.1":
                records = [records[0], "byteorder"] + records[1:] + [".data/serialization_id"]
            if names != records:
                fail("%s: records %s, expected %s" % (label, names, records))
            got = torch.load(path, weights_only=True)
            check_against(label, got, want, entry)
            n += 1
        print("ok - %s (%d tensors)" % (fname, len(entry["tensors"])))
    # a non-ASCII file name: torch.save of the same dict under the same name
    name = "\u0175eight.\u03bb.pt"
    ours = os.path.join(out_dir, "nonascii", name)
    if not os.path.exists(ours):
        fail("%s: not written" % ours)
    ref_dir = os.path.join(out_dir, "torch-ref")
    os.makedirs(ref_dir, exist_ok=True)
    ref = os.path.join(ref_dir, name)
    torch.save(torch.load(os.path.join(golden_dir, "unicode.pt"), weights_only=True), ref)
    if open(ours, "rb").read() != open(ref, "rb").read():
        fail("%s: differs from torch.save under the same name" % name)
    print("ok - %s (torch.save of the same dict under the same name: identical)" % name)
    print("torch_load: %d files loaded by torch %s and matched" % (n, torch.__version__))


if __name__ == "__main__":
    main()
