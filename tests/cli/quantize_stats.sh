#!/usr/bin/env bash
# wk-quantize's error statistics (issue #23): each tensor's and the total rel_rmse in --json
# are recomputed here from the input and the output bytes by the summation rule 1.3 of
# formats/quant/wk_qstats.h (float terms in groups of 256 with 32 float lanes, 8 double
# lanes, a fixed tree; the exact double rule 1.2 for rows whose float sums are not finite
# or whose X < 2^-60; rows and tensors in order) and must agree to the last bit; they must
# be the same for -j 1, 2, 3; the file bytes too.  Types: Q4_0, Q8_0 (decoded here), F16
# and BF16 outputs (--token-embedding-type, --output-tensor-type), an F16 input; rows that
# take the fallback: a tiny row, all-zero rows, a row with 1e20 (its float square
# overflows; BF16 output).  Python with numpy (Debian's python3).
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
Q="$WK_BIN_DIR/wk-quantize"
PY=/usr/bin/python3
"$PY" -c 'import numpy' 2>/dev/null || { echo "quantize_stats.sh: skipped: $PY with numpy needed" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# gguf.py: a minimal GGUF v3 writer and reader (enough for these files).
cat > gguf_min.py <<'EOF2'
import struct, numpy as np
ALIGN = 32
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
def write(path, tensors):   # tensors: [(name, ggml type, array)] with F32 (0) or F16 (1) arrays
    kv = [s("general.architecture") + struct.pack("<I", 8) + s("llama"),
          s("llama.block_count") + struct.pack("<I", 4) + struct.pack("<I", 1)]
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv)
    off, infos, blobs = 0, b"", []
    for name, t, a in tensors:
        b = a.tobytes()
        infos += s(name) + struct.pack("<I", a.ndim) + b"".join(struct.pack("<Q", d) for d in a.shape[::-1])
        infos += struct.pack("<IQ", t, off)
        pad = (-len(b)) % ALIGN
        blobs.append(b + b"\0" * pad)
        off += len(b) + pad
    h = head + infos
    h += b"\0" * ((-len(h)) % ALIGN)
    open(path, "wb").write(h + b"".join(blobs))
def read(path):             # -> {name: (type, ne, raw bytes)}
    d = open(path, "rb").read()
    p = 4
    ver, nt, nkv = struct.unpack_from("<IQQ", d, p); p += 20
    def rs():
        nonlocal p
        n, = struct.unpack_from("<Q", d, p); p += 8
        v = d[p:p + n].decode(); p += n; return v
    def skip(t):
        nonlocal p
        sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        if t == 8: rs()
        elif t == 9:
            et, n = struct.unpack_from("<IQ", d, p); p += 12
            for _ in range(n): skip(et)
        else: p += sizes[t]
    align = ALIGN
    for _ in range(nkv):
        k = rs(); t, = struct.unpack_from("<I", d, p); p += 4
        if k == "general.alignment": align, = struct.unpack_from("<I", d, p)
        skip(t)
    info = []
    for _ in range(nt):
        name = rs(); nd, = struct.unpack_from("<I", d, p); p += 4
        ne = struct.unpack_from("<%dQ" % nd, d, p); p += 8 * nd
        t, o = struct.unpack_from("<IQ", d, p); p += 12
        info.append((name, t, ne, o))
    base = (p + align - 1) // align * align
    size = {0: lambda n: 4 * n, 1: lambda n: 2 * n, 30: lambda n: 2 * n,
            2: lambda n: n // 32 * 18, 8: lambda n: n // 32 * 34}
    out = {}
    for name, t, ne, o in info:
        n = int(np.prod(ne))
        out[name] = (t, ne, d[base + o: base + o + size[t](n)])
    return out
def values(t, ne, raw):     # float32 values of a tensor, row-major [rows, ne0]
    n = int(np.prod(ne))
    if t == 0: v = np.frombuffer(raw, "<f4")
    elif t == 1: v = np.frombuffer(raw, "<f2").astype(np.float32)
    elif t == 30: v = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    elif t == 8:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 34)
        dd = b[:, :2].copy().view("<f2").astype(np.float32)
        v = (b[:, 2:].view(np.int8).astype(np.float32) * dd).reshape(-1)
    elif t == 2:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 18)
        dd = b[:, :2].copy().view("<f2").astype(np.float32)
        qs = b[:, 2:]
        q = np.concatenate([(qs & 15).astype(np.int32) - 8, (qs >> 4).astype(np.int32) - 8], axis=1)
        v = (q.astype(np.float32) * dd).reshape(-1)
    else: raise SystemExit("type %d not decoded here" % t)
    return v.reshape(-1, ne[0])
EOF2

cat > mk.py <<'EOF2'
import sys, numpy as np
sys.path.insert(0, ".")
import gguf_min
r = np.random.default_rng(5)
def w(*shape, scale=0.02): return (r.standard_normal(shape) * scale).astype(np.float32)
x = w(64, 256)
x[3, :] *= 1e-30                    # tiny values: rounding in every lane
x[7, ::3] = np.float32(3e-39)       # float denormals
x[9, :] = r.integers(-2**20, 2**20, 256).astype(np.float32) * np.float32(2**-20) * np.float32(0.37)
x[11, :] = 0                        # an all-zero row: the exact fallback (X < 2^-60)
o = w(80, 256, scale=1.0)
o[5, 17] = np.float32(1e20)         # BF16 holds it; its float square overflows: the fallback
o[6, :] = 0
gguf_min.write(sys.argv[1], [
    ("token_embd.weight", 0, w(64, 96)),
    ("blk.0.attn_norm.weight", 0, np.ones(256, np.float32)),
    ("blk.0.attn_v.weight", 0, x),
    ("blk.0.ffn_down.weight", 1, w(48, 256).astype(np.float16)),
    ("output.weight", 0, o)])
EOF2

cat > verify.py <<'EOF2'
import sys, json, math, numpy as np
sys.path.insert(0, ".")
import gguf_min
inp, out, js = gguf_min.read(sys.argv[1]), gguf_min.read(sys.argv[2]), json.load(open(sys.argv[3]))
def exact_sum(terms):       # rule 1.2 (the fallback): 16 double lanes, each sequential, then the tree
    l = np.zeros(16)
    t = terms.reshape(-1, 16)
    for k in range(t.shape[0]): l = l + t[k]
    tt = [(l[j] + l[j + 4]) + (l[j + 8] + l[j + 12]) for j in range(4)]
    return float((tt[0] + tt[1]) + (tt[2] + tt[3]))
def float_sum(terms):       # rule 1.3: float32 terms, groups of 256, 32 float lanes, 8 double lanes
    L = np.zeros(8)
    for g0 in range(0, len(terms), 256):
        f = np.zeros(32, np.float32)
        g = terms[g0:g0 + 256]
        for k in range(0, len(g), 32):
            c = g[k:k + 32]
            f[:len(c)] = f[:len(c)] + c       # float32 + float32: one IEEE single add per lane
        L = L + ((f[0:8] + f[16:24]) + (f[8:16] + f[24:32])).astype(np.float64)
    t = L[0:4] + L[4:8]
    return float((t[0] + t[2]) + (t[1] + t[3]))
fallbacks = 0
def row_stats(rx, ry):      # rx, ry float32 rows -> (E, X) by rule 1.3
    global fallbacks
    with np.errstate(over="ignore", invalid="ignore"):
        d = rx - ry
        e, x = float_sum(d * d), float_sum(rx * rx)
    if math.isfinite(e) and math.isfinite(x) and x >= 2.0 ** -60: return e, x
    fallbacks += 1
    dx = rx.astype(np.float64) - ry.astype(np.float64)
    return exact_sum(dx * dx), exact_sum(rx.astype(np.float64) ** 2)
bad, all_e, all_x = 0, 0.0, 0.0
for rec in js["tensors"]:
    name = rec["name"]
    ti, ne, raw = inp[name]
    to, _, rawo = out[name]
    if to == ti:
        if rec["rel_rmse"] is not None: print("kept tensor with rel_rmse:", name); bad += 1
        continue
    x = gguf_min.values(ti, ne, raw).astype(np.float32)
    y = gguf_min.values(to, ne, rawo).astype(np.float32)
    se = sx = 0.0
    for rx, ry in zip(x, y):
        e, q = row_stats(rx, ry)
        se += e
        sx += q
    all_e += se; all_x += sx
    want = math.sqrt(se / sx)
    if rec["rel_rmse"] != want:
        print("%s (%d -> %d): rel_rmse %r, recomputed %r" % (name, ti, to, rec["rel_rmse"], want)); bad += 1
want = math.sqrt(all_e / all_x)
if js["total"]["rel_rmse"] != want:
    print("total: rel_rmse %r, recomputed %r" % (js["total"]["rel_rmse"], want)); bad += 1
if fallbacks < int(sys.argv[4]):
    print("only %d rows took the exact fallback, want >= %s" % (fallbacks, sys.argv[4])); bad += 1
sys.exit(1 if bad else 0)
EOF2

"$PY" mk.py in.gguf || { bad "mk.py"; exit 1; }
for t in q4_0 q8_0; do
  for j in 1 2 3; do
    "$Q" in.gguf "o-$t-$j.gguf" "$t" --pure --token-embedding-type f16 --output-tensor-type bf16 \
      -j "$j" --json > "o-$t-$j.json" 2> "o-$t-$j.err" || bad "$t -j $j: $(head -c 300 "o-$t-$j.err")"
    "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps([d["total"]["rel_rmse"]]+[t["rel_rmse"] for t in d["tensors"]]))' \
      "o-$t-$j.json" > "rel-$t-$j.txt"
  done
  check "$t: rel_rmse = rule 1.3 of wk_qstats.h recomputed from the bytes (every tensor, the total; >= 4 rows by the fallback: tiny, 1e20, two all-zero)" \
    "$PY" verify.py in.gguf "o-$t-1.gguf" "o-$t-1.json" 4
  check "$t: rel_rmse the same for -j 1, 2, 3" bash -c "cmp -s rel-$t-1.txt rel-$t-2.txt && cmp -s rel-$t-1.txt rel-$t-3.txt"
  check "$t: bytes the same for -j 1, 2, 3" bash -c "cmp -s o-$t-1.gguf o-$t-2.gguf && cmp -s o-$t-1.gguf o-$t-3.gguf"
done
echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
