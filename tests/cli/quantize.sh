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
# as Q8_0) | tied (no output.weight: token_embd is also the output).
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
if poison != "tied": tensors.append(("output.weight", 1, [256, 64]))
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
for p in "" nan inf huge q8 tied; do "$PY" mk.py "in${p:+-$p}.gguf" $p || exit 1; done

# ---- types and thread independence ----------------------------------------------------
"$Q" in.gguf out-j1.gguf q4_k_m -j1 > table.txt; rc=$?
check "q4_k_m: exit 0" [ $rc -eq 0 ]
"$Q" in.gguf out-j2.gguf q4_k_m -j2 -q; "$Q" in.gguf out-j3.gguf q4_k_m -j 3 -q
check "q4_k_m: -j1, -j2, -j3 give the same bytes" bash -c 'cmp -s out-j1.gguf out-j2.gguf && cmp -s out-j1.gguf out-j3.gguf'
for t in q4_0 q4_1 q5_0 q5_1 q8_0 q4_k_s q5_k_m q6_k; do
    for j in 1 2 3; do "$Q" in.gguf "t-$t-j$j.gguf" "$t" -j$j -q; done
    check "$t: -j1, -j2, -j3 give the same bytes" bash -c "cmp -s t-$t-j1.gguf t-$t-j2.gguf && cmp -s t-$t-j1.gguf t-$t-j3.gguf"
done
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
for j in 1 2 3; do "$Q" in.gguf s-j$j.gguf q4_0 --search -j$j -q; done
check "--search q4_0: -j1, -j2, -j3 give the same bytes" bash -c 'cmp -s s-j1.gguf s-j2.gguf && cmp -s s-j1.gguf s-j3.gguf'
check "--search q4_0: not the reference's bytes" bash -c '"$0" in.gguf r.gguf q4_0 -q && ! cmp -s r.gguf s-j1.gguf' "$Q"

# ---- tensor-type overrides (llama-quantize's --output-tensor-type / --token-embedding-type) --
types_of() {  # types_of FILE.txt: "name=type ..." for token_embd and output
    awk '$1 == "token_embd.weight" || $1 == "output.weight" { printf "%s=%s ", $1, $3 }' "$1"
}
ovr() {  # ovr NAME EXPECTED INPUT TYPE ARGS...: the types wk-quantize chose for the two tensors
    local name=$1 want=$2 in=$3 t=$4; shift 4
    "$Q" "$in" ovr.gguf "$t" "$@" > ovr.txt; local rc=$?
    local got; got=$(types_of ovr.txt)
    if [ $rc -eq 0 ] && [ "$got" = "$want" ]; then ok "$name"; else bad "$name (exit $rc, got '$got', want '$want')"; fi
}
ovr "default q4_k_m: token_embd q5_0 (fallback), output q6_K" \
    "token_embd.weight=q5_0 output.weight=q6_K " in.gguf q4_k_m
ovr "--output-tensor-type q8_0 --token-embedding-type f16" \
    "token_embd.weight=f16 output.weight=q8_0 " in.gguf q4_k_m --output-tensor-type q8_0 --token-embedding-type f16
ovr "type names are case-insensitive (Q8_0, Q5_K)" \
    "token_embd.weight=q8_0 output.weight=q5_K " in.gguf q4_0 --token-embedding-type Q8_0 --output-tensor-type Q5_K
ovr "--output-tensor-type bf16 (output stored F16 in the input)" \
    "token_embd.weight=q4_0 output.weight=bf16 " in.gguf q4_0 --output-tensor-type bf16 --token-embedding-type q4_0
ovr "--pure with --output-tensor-type: the override still applies" \
    "token_embd.weight=q4_0 output.weight=q6_K " in.gguf q4_0 --pure --output-tensor-type q6_k
ovr "--leave-output-tensor wins over --output-tensor-type (as llama-quantize)" \
    "token_embd.weight=q4_0 output.weight=f16 " in.gguf q4_0 --leave-output-tensor --output-tensor-type q8_0
ovr "tied embeddings: token_embd is the output (q6_K does not fit 96 columns -> q8_0)" \
    "token_embd.weight=q8_0 " in-tied.gguf q4_0
ovr "tied: --output-tensor-type applies to token_embd" \
    "token_embd.weight=q5_0 " in-tied.gguf q4_0 --output-tensor-type q5_0
ovr "tied: --token-embedding-type wins over --output-tensor-type" \
    "token_embd.weight=f16 " in-tied.gguf q4_0 --output-tensor-type q5_0 --token-embedding-type f16
ovr "tied + --pure: token_embd gets TYPE, --output-tensor-type is not consulted" \
    "token_embd.weight=q4_0 " in-tied.gguf q4_0 --pure --output-tensor-type q5_0
ovr "tied + --leave-output-tensor: token_embd is still quantized (only output.weight is left)" \
    "token_embd.weight=q8_0 " in-tied.gguf q4_0 --leave-output-tensor
"$Q" in.gguf ov1.gguf q4_0 --output-tensor-type q8_0 -j1 -q && "$Q" in.gguf ov2.gguf q4_0 --output-tensor-type q8_0 -j2 -q
check "override output: -j1 and -j2 give the same bytes" cmp -s ov1.gguf ov2.gguf

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
kvs = (s("imatrix.datasets") + struct.pack("<IIQ", 9, 8, 1) + s("heldout.txt")
       + s("imatrix.chunk_count") + struct.pack("<II", 4, 7)
       + s("imatrix.chunk_size") + struct.pack("<II", 4, 128))
hdr = b"GGUF" + struct.pack("<IQQ", 3, len(ents), 3) + kvs
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
# Without --search: ggml's weighted quantizers (bytes checked against llama.cpp by
# tests/peer/quantize_imatrix.sh); the same for any -j, different from no imatrix.
"$Q" in.gguf imw1.gguf q4_k_m --imatrix imatrix.gguf -j1 > imw.txt; rc=$?
check "--imatrix (no --search): exit 0" [ $rc -eq 0 ]
check "--imatrix (no --search): used for the tensors it covers" bash -c "grep -c '(imatrix)' imw.txt | grep -qx 4"
"$Q" in.gguf imw2.gguf q4_k_m --imatrix imatrix.gguf -j2 -q
check "--imatrix: -j1 and -j2 give the same bytes" cmp -s imw1.gguf imw2.gguf
check "--imatrix: changes the bytes" bash -c "! cmp -s imw1.gguf out-j1.gguf"
"$Q" in.gguf imx.gguf q4_k_m --imatrix imatrix.gguf --exclude-weights blk.0. > imx.txt
check "--exclude-weights blk.0.: imatrix for the 2 other tensors only" bash -c "grep -c '(imatrix)' imx.txt | grep -qx 2"
"$Q" in.gguf imi.gguf q4_k_m --imatrix imatrix.gguf --include-weights ffn_down > imi.txt
check "--include-weights ffn_down: imatrix for the 2 ffn_down tensors only" \
    bash -c "grep '(imatrix)' imi.txt | grep -c ffn_down | grep -qx 2 && grep -c '(imatrix)' imi.txt | grep -qx 2"

# ---- reporting: --json, -q, --progress ---------------------------------------------------
"$Q" in.gguf j.gguf q4_k_m --json -j1 > j.json; rc=$?
check "--json: exit 0" [ $rc -eq 0 ]
check "--json: same file as without it" cmp -s j.gguf out-j1.gguf
check "--json: one JSON object matching the table" "$PY" - <<'EOF3'
import json
r = json.load(open("j.json"))
table = {l.split()[0]: l.split() for l in open("table.txt") if l.split() and l.split()[0].endswith("weight")}
ok = list(r) == ["input", "output", "type", "ftype", "search", "imatrix", "tensors", "total", "seconds"]
ok &= r["type"] == "q4_k_m" and r["ftype"] == 15 and r["search"] is False and r["imatrix"] is None
ok &= [t["name"] for t in r["tensors"]] == list(table)
for t in r["tensors"]:
    row = table[t["name"]]
    ok &= [t["from"], t["to"], str(t["bytes_in"]), str(t["bytes_out"])] == row[1:5]
    ok &= (t["rel_rmse"] is None) == (row[5] == "-")
    if t["rel_rmse"] is not None: ok &= "%.3e" % t["rel_rmse"] == row[5]
tot = r["total"]
ok &= tot["tensors"] == len(r["tensors"]) and tot["bytes_out"] == sum(t["bytes_out"] for t in r["tensors"])
ok &= 4 < tot["bits_per_weight"] < 8 and 0 < tot["rel_rmse"] < 0.1 and r["seconds"] >= 0
raise SystemExit(0 if ok else 1)
EOF3
"$Q" in.gguf qq.gguf q4_0 -q > q.out 2> q.err; rc=$?
check "-q: exit 0, nothing on stdout or stderr" bash -c "[ $rc -eq 0 ] && [ ! -s q.out ] && [ ! -s q.err ]"
"$Q" in.gguf qq.gguf q4_0 -q --progress > q.out 2> q.err
check "--progress: a bar on stderr (even with -q), stdout empty" bash -c "[ -s q.err ] && [ ! -s q.out ]"
"$Q" in.gguf qq.gguf q4_0 > q.out 2> q.err
check "not a TTY: no progress bar by default" bash -c "[ ! -s q.err ] && grep -q 'bits per weight' q.out"

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
refuse "unknown TYPE" 'unknown TYPE "iq2_xs"' in.gguf out.gguf iq2_xs
refuse "--include-weights without --imatrix" 'give one with --imatrix' in.gguf out.gguf q4_0 --include-weights attn
refuse "--include-weights with --exclude-weights" 'cannot be used together' in.gguf out.gguf q4_0 \
    --imatrix imatrix.gguf --include-weights attn --exclude-weights ffn
refuse "--imatrix: a missing file" 'no-such-im' in.gguf out.gguf q4_0 --imatrix no-such-im.dat
refuse "--token-embedding-type q4_k on 96 columns: refused, naming the tensor" \
    'token_embd\.weight: 96 columns are not whole q4_K blocks of 256' in.gguf out.gguf q4_0 --token-embedding-type q4_k
refuse "--output-tensor-type iq2_xs: not a type wk-quantize writes" \
    'output-tensor-type: unknown or unsupported type "iq2_xs"' in.gguf out.gguf q4_0 --output-tensor-type iq2_xs
refuse "--token-embedding-type without a value" 'needs a type' in.gguf out.gguf q4_0 --token-embedding-type
refuse "missing input" 'no-such' no-such.gguf out.gguf q4_0
refuse "output over the input refused" 'same file|input' in.gguf in.gguf q4_0
"$Q" in-huge.gguf out.gguf q8_0 -q; rc=$?
check "5e6 fits Q8_0's scale (5e6/127 < 65504): accepted" [ $rc -eq 0 ]
"$Q" in-q8.gguf out.gguf q4_0 --allow-requantize -q; rc=$?
check "--allow-requantize: exit 0" [ $rc -eq 0 ]

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
