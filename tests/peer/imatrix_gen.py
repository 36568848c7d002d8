"""imatrix_gen.py — importance matrices for a GGUF model, in both llama.cpp formats.

  imatrix_gen.py GGUF_SRC_DIR MODEL.gguf OUT_PREFIX SEED

GGUF_SRC_DIR is llama.cpp's source tree (its gguf-py writes the GGUF container).
Writes OUT_PREFIX.gguf (llama-imatrix's current format: general.type "imatrix",
imatrix.datasets / chunk_count / chunk_size, "<tensor>.in_sum2" F32 [ne0, 1] and
"<tensor>.counts" F32 [1, 1]) and OUT_PREFIX.dat (the legacy format: int32 n_entries,
per entry int32 len, name, int32 ncall, int32 nval, nval float32; trailer int32
chunk count, int32 len, dataset) for every 2-D weight of MODEL.gguf but
token_embd.weight, with sums of squares that look like real activation statistics
(log-normal, a few hot columns, some columns never seen)."""
import struct
import sys

import numpy as np

sys.path.insert(0, sys.argv[1] + "/gguf-py")
import gguf  # noqa: E402

model, prefix, seed = sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = np.random.default_rng(seed)
reader = gguf.GGUFReader(model)
entries = []
for t in reader.tensors:
    if len(t.shape) != 2 or t.name == "token_embd.weight" or not t.name.endswith(".weight"):
        continue
    ne0 = int(t.shape[0])
    count = float(rng.integers(1, 5000))
    sums = (np.exp(rng.normal(0, 1.5, ne0)) * count * 1e-3).astype(np.float32)
    sums[rng.random(ne0) < 0.02] *= 1e3         # hot columns
    sums[rng.random(ne0) < 0.02] = 0.0          # columns never activated
    entries.append((t.name, sums, count))

w = gguf.GGUFWriter(prefix + ".gguf", "imatrix")
w.add_string("general.type", "imatrix")
w.add_array("imatrix.datasets", ["heldout.txt"])
w.add_uint32("imatrix.chunk_count", 7)
w.add_uint32("imatrix.chunk_size", 128)
for name, sums, count in entries:
    w.add_tensor(name + ".in_sum2", sums.reshape(1, -1))
    w.add_tensor(name + ".counts", np.array([[count]], dtype=np.float32))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()

with open(prefix + ".dat", "wb") as f:
    f.write(struct.pack("<i", len(entries)))
    for name, sums, count in sorted(entries):
        ncall = 7
        vals = (sums / np.float32(count) * np.float32(ncall)).astype(np.float32)
        b = name.encode()
        f.write(struct.pack("<i", len(b)) + b + struct.pack("<ii", ncall, len(vals)))
        f.write(vals.astype("<f4").tobytes())
    ds = b"heldout.txt"
    f.write(struct.pack("<ii", 7, len(ds)) + ds)
print("%d entries" % len(entries))
