#!/usr/bin/env bash
# CLI tests for wk-quantize: per-tensor types, thread-count independence, and the refusals
# (NaN/Inf input, scales overflowing fp16, requantizing, bad arguments), on small GGUF files
# written here by a few lines of Python (struct only).  The byte-for-byte comparison with
# llama.cpp's own quantizer is tests/peer/quantize.sh.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
Q="$WK_BIN_DIR/wk-quantize"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "quantize.sh: skipped: $PY needed" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

# mk.py OUT [poison]: a GGUF v3 with general.architecture=llama, llama.block_count=2 and
# tensors token_embd [96 x 64] (ne0 = 96: not whole 256-blocks), blk.0.attn_norm [256],
# blk.0.attn_v, blk.0.ffn_down, blk.1.attn_v, blk.1.ffn_down [256 x 64] F32, output [256 x 64]
# F16.  poison: nan | inf | huge (5e6 in blk.0.ffn_down at row 5, column 70) | q8 (attn_v stored
# as Q8_0).
cat > mk.py <<'EOF'
import struct, sys, random
out, poison = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "")
random.seed(7)
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
kv = [s("general.architecture") + struct.pack("<I", 8) + s("llama"),
      s("llama.block_count") + struct.pack("<I", 4) + struct.pack("<I", 2)]
tensors = [("token_embd.weight", 0, [96, 64]), ("blk.0.attn_norm.weight", 0, [256])]
for b in range(2):
    tensors += [("blk.%d.attn_v.weight" % b, 8 if poison == "q8" else 0, [256, 64]),
                ("blk.%d.ffn_down.weight" % b, 0, [256, 64])]
tensors.append(("output.weight", 1, [256, 64]))
def data(name, t, ne):
    n = 1
    for d in ne: n *= d
    v = [random.gauss(0, 0.02) for _ in range(n)]
    if name == "blk.0.ffn_down.weight" and poison:
        v[5 * 256 + 70] = {"nan": float("nan"), "inf": float("inf"), "huge": 5e6}.get(poison, v[5 * 256 + 70])
    if t == 0: return struct.pack("<%df" % n, *v)
    if t == 1: return struct.pack("<%de" % n, *v)
    blocks = b""
    for i in range(0, n, 32):               # Q8_0: d = amax/127 as fp16, then int8
        x = v[i:i + 32]; d = max(abs(y) for y in x) / 127
        blocks += struct.pack("<e", d) + struct.pack("<32b", *[round(y / d) for y in x])
    return blocks
hdr = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)) + b"".join(kv)
blobs, off = [], 0
for name, t, ne in tensors:
    hdr += s(name) + struct.pack("<I", len(ne)) + struct.pack("<%dq" % len(ne), *ne) + struct.pack("<IQ", t, off)
    d = data(name, t, ne); pad = (-len(d)) % 32
    blobs.append(d + b"\0" * pad); off += len(d) + pad
hdr += b"\0" * ((-len(hdr)) % 32)
open(out, "wb").write(hdr + b"".join(blobs))
EOF
for p in "" nan inf huge q8; do "$PY" mk.py "in${p:+-$p}.gguf" $p || exit 1; done

# ---- types and thread independence ----------------------------------------------------
"$Q" in.gguf out-j1.gguf q4_k_m -j1 > table.txt; rc=$?
check "q4_k_m: exit 0" [ $rc -eq 0 ]
"$Q" in.gguf out-j2.gguf q4_k_m -j2 -q; "$Q" in.gguf out-j3.gguf q4_k_m -j 3 -q
check "q4_k_m: -j1, -j2, -j3 give the same bytes" bash -c 'cmp -s out-j1.gguf out-j2.gguf && cmp -s out-j1.gguf out-j3.gguf'
type_of() { awk -v t="$1" '$1 == t { print $3 }' table.txt; }
check "token_embd: ne0 96 is not whole Q4_K blocks -> q5_0 (llama-quantize's fallback)" [ "$(type_of token_embd.weight)" = q5_0 ]
check "1-D norm stays f32" [ "$(type_of blk.0.attn_norm.weight)" = f32 ]
check "output.weight -> q6_K" [ "$(type_of output.weight)" = q6_K ]
check "attn_v of layer 1 of 2 -> q6_K (use_more_bits)" [ "$(type_of blk.1.attn_v.weight)" = q6_K ]
check "attn_v of layer 0 of 2 -> q4_K" [ "$(type_of blk.0.attn_v.weight)" = q4_K ]
check "ffn_down of layer 1 -> q6_K" [ "$(type_of blk.1.ffn_down.weight)" = q6_K ]
check "summary line with bits per weight" grep -q 'bits per weight' table.txt
"$Q" in.gguf pure.gguf q4_0 --pure > pure.txt
check "--pure: output.weight gets q4_0 too" bash -c "awk '\$1 == \"output.weight\" { print \$3 }' pure.txt | grep -qx q4_0"
"$Q" in.gguf s.gguf q5_0 --search -q; rc=$?
check "--search q5_0: exit 0" [ $rc -eq 0 ]

# An imatrix file as llama-imatrix writes it (GGUF: <tensor>.in_sum2 and <tensor>.counts, F32).
cat > mkim.py <<'EOF2'
import struct, sys
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
ents = []
for b in range(2):
    for t in ("attn_v", "ffn_down"):
        n = "blk.%d.%s.weight" % (b, t)
        ents += [(n + ".in_sum2", [256], struct.pack("<256f", *[(i % 7 + 1) * 10.0 for i in range(256)])),
                 (n + ".counts", [1], struct.pack("<f", 10.0))]
hdr = b"GGUF" + struct.pack("<IQQ", 3, len(ents), 0)
blobs, off = [], 0
for name, ne, d in ents:
    hdr += s(name) + struct.pack("<I", len(ne)) + struct.pack("<%dq" % len(ne), *ne) + struct.pack("<IQ", 0, off)
    pad = (-len(d)) % 32; blobs.append(d + b"\0" * pad); off += len(d) + pad
hdr += b"\0" * ((-len(hdr)) % 32)
open(sys.argv[1], "wb").write(hdr + b"".join(blobs))
EOF2
"$PY" mkim.py imatrix.gguf || exit 1
"$Q" in.gguf im.gguf q4_0 --search --imatrix imatrix.gguf > im.txt; rc=$?
check "--search --imatrix: exit 0" [ $rc -eq 0 ]
check "--imatrix: used for the tensors it covers" bash -c "grep -c '(imatrix)' im.txt | grep -qx 4"

# ---- refusals ---------------------------------------------------------------------------
refuse() {  # refuse NAME EXPECTED_MESSAGE_REGEX wk-quantize-args...
    local name=$1 re=$2; shift 2
    rm -f out.gguf
    "$Q" "$@" 2> err.txt >/dev/null; local rc=$?
    if [ $rc -ne 0 ] && grep -Eq "$re" err.txt && [ ! -e out.gguf ] && ! ls .*wk-tmp* >/dev/null 2>&1; then
        ok "$name"
    else
        bad "$name (exit $rc: $(cat err.txt))"
    fi
}
refuse "NaN input: refused, naming tensor, row and column" \
    'blk\.0\.ffn_down\.weight: row 5, column 70 is NaN' in-nan.gguf out.gguf q4_0
refuse "Inf input: refused" 'row 5, column 70 is \+Inf' in-inf.gguf out.gguf q8_0 -j2
refuse "5e6 in q4_0: fp16 scale overflow refused" 'row 5, block 2 \(columns 64\.\.95\).*fp16 scale overflows' \
    in-huge.gguf out.gguf q4_0
refuse "already quantized input needs --allow-requantize" 'allow-requantize' in-q8.gguf out.gguf q4_0
refuse "unknown TYPE" 'unknown TYPE "q3_k"' in.gguf out.gguf q3_k
refuse "--imatrix without --search" 'imatrix' in.gguf out.gguf q4_0 --imatrix x.gguf
refuse "missing input" 'no-such' no-such.gguf out.gguf q4_0
refuse "output over the input refused" 'same file|input' in.gguf in.gguf q4_0
"$Q" in-huge.gguf out.gguf q8_0 -q; rc=$?
check "5e6 fits Q8_0's scale (5e6/127 < 65504): accepted" [ $rc -eq 0 ]
"$Q" in-q8.gguf out.gguf q4_0 --allow-requantize -q; rc=$?
check "--allow-requantize: exit 0" [ $rc -eq 0 ]

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
