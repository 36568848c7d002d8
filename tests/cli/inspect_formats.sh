#!/usr/bin/env bash
# wk-inspect on the formats wk-pack writes, and --verify / --stats / --meta:
#  - the tiny fixture (Meta dir, consolidated.00.pth) packed to GGUF (f16) and
#    safetensors (f16): each lists every tensor of the .pth except rope.freqs
#    (wk-pack drops it), with totals that agree with the .pth (same parameter
#    count; bytes = f16 everywhere, except GGUF keeps 1-D tensors in f32);
#    the directory itself lists the same tensors (through wk_source);
#  - --json parses and its counts / bytes / offsets agree with the text;
#  - --verify passes on both outputs, fails (exit 3, naming the tensor) after
#    one byte inside a tensor's data is flipped, and fails clearly for a file
#    without digests and for a .pth;
#  - --stats flags nothing on the fixture; on a "wrong base" copy of the .pth
#    (every data/ record XORed with random bytes, zip and pickle intact)
#    --stats flags tensors and --stats --strict exits non-zero;
#  - --meta prints GGUF keys with values / array lengths.
set -u
src=${WK_SOURCE_DIR:?}
bin=${WK_BIN_DIR:?}
tmp=${WK_TMP:?}
py=/usr/bin/python3
insp=$bin/wk-inspect
pack=$bin/wk-pack
fx=$src/tests/fixtures/models/tiny
pth=$fx/consolidated.00.pth

[ -x "$py" ] || { echo "skipped: $py not found (needed to parse JSON)" >&2; exit 77; }
[ -x "$insp" ] && [ -x "$pack" ] || { echo "wk-inspect / wk-pack not built in $bin" >&2; exit 1; }
[ -f "$pth" ] || { echo "skipped: fixture $pth missing (tests/fixtures/gen/make_models.sh)" >&2; exit 77; }
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1

fails=0 checks=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
pass() { checks=$((checks + 1)); }

"$pack" -q "$fx" "$tmp/t.gguf" --outtype f16 || { echo "wk-pack to GGUF failed" >&2; exit 1; }
"$pack" -q "$fx" "$tmp/t.safetensors" --outtype f16 || { echo "wk-pack to safetensors failed" >&2; exit 1; }

# ---- expectations from the .pth -------------------------------------------------
"$insp" --json "$pth" >"$tmp/pth.json" || fail "pth --json: exit $?"
read -r n_exp params_exp st_bytes_exp gguf_bytes_exp < <("$py" - "$tmp/pth.json" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
ts = [t for t in f["tensors"] if t["name"] != "rope.freqs"]   # wk-pack drops rope.freqs
assert len(ts) == len(f["tensors"]) - 1
params = sum(t["numel"] for t in ts)
print(len(ts), params, 2 * params,
      sum(t["numel"] * (4 if len(t["shape"]) == 1 else 2) for t in ts))
EOF
)
[ -n "${n_exp:-}" ] || { echo "could not read the .pth listing" >&2; exit 1; }
[ "$n_exp" -eq 21 ] && pass || fail "fixture: expected 21 packed tensors, manifest gives $n_exp"

# ---- text listings -----------------------------------------------------------------
check_text() {  # file tensors params bytes format
    "$insp" "$1" >"$tmp/l.txt" 2>"$tmp/l.err" || fail "$1: exit $? ($(cat "$tmp/l.err"))"
    [ -s "$tmp/l.err" ] && fail "$1: stderr: $(cat "$tmp/l.err")"
    grep -qxF "  total: $2 tensors, $3 parameters, $4 bytes" "$tmp/l.txt" && pass ||
        fail "$1: totals line: $(grep total: "$tmp/l.txt") (want $2 / $3 / $4)"
    head -1 "$tmp/l.txt" | grep -qF "$1: $5, " && pass || fail "$1: header: $(head -1 "$tmp/l.txt")"
    # one row per tensor between the column header and the totals
    [ "$(sed -n '3,$p' "$tmp/l.txt" | grep -vc '^  total:')" -eq "$2" ] && pass || fail "$1: row count"
}
check_text "$tmp/t.gguf" "$n_exp" "$params_exp" "$gguf_bytes_exp" gguf
check_text "$tmp/t.safetensors" "$n_exp" "$params_exp" "$st_bytes_exp" safetensors
check_text "$fx" "$n_exp" "$params_exp" "$st_bytes_exp" directory
grep -qE '^  blk\.0\.ffn_gate\.weight +f16 +\[768, 256\] +393216 ' < <("$insp" "$tmp/t.gguf") && pass ||
    fail "gguf: ffn_gate row (shape outermost first, ggml type name)"
grep -qE '^  output_norm\.weight +f32 +\[256\] +1024 ' < <("$insp" "$tmp/t.gguf") && pass ||
    fail "gguf: 1-D tensor kept f32"

# ---- JSON ----------------------------------------------------------------------------
for f in t.gguf t.safetensors; do
    "$insp" --json "$tmp/$f" >"$tmp/$f.json" || fail "$f --json: exit $?"
    "$py" -m json.tool "$tmp/$f.json" >/dev/null && pass || fail "$f --json does not parse"
    "$py" - "$tmp/$f.json" "$tmp/$f" "$n_exp" "$params_exp" <<'EOF' && pass || fail "$f --json content"
import json, os, sys
d = json.load(open(sys.argv[1]))
size = os.path.getsize(sys.argv[2])
n, params = int(sys.argv[3]), int(sys.argv[4])
assert d["errors"] == [] and len(d["files"]) == 1
f = d["files"][0]
ts = f["tensors"]
assert len(ts) == n == f["totals"]["tensors"] == d["totals"]["tensors"]
assert sum(t["numel"] for t in ts) == params == f["totals"]["params"]
assert sum(t["bytes"] for t in ts) == f["totals"]["bytes"]
ends = sorted((t["data_offset"], t["data_offset"] + t["bytes"]) for t in ts)
assert all(a[1] <= b[0] for a, b in zip(ends, ends[1:])), "overlapping tensors"
assert ends[-1][1] <= size
EOF
done
# the same tensors (names differ: GGUF uses llama.cpp names) and bytes agree with the .pth
"$py" - "$tmp/pth.json" "$tmp/t.safetensors.json" "$tmp/t.gguf.json" <<'EOF' && pass || fail "JSON totals vs the .pth"
import json, sys
pth, st, gg = (json.load(open(p))["files"][0] for p in sys.argv[1:])
ref = {t["name"]: t for t in pth["tensors"] if t["name"] != "rope.freqs"}
assert {t["name"]: (t["shape"], t["bytes"]) for t in st["tensors"]} == \
       {k: (t["shape"], t["bytes"]) for k, t in ref.items()}
assert st["totals"]["bytes"] == sum(t["bytes"] for t in ref.values())
assert gg["totals"]["params"] == st["totals"]["params"] == sum(t["numel"] for t in ref.values())
for t in gg["tensors"]:
    assert t["shape"] == t["ne"][::-1]
EOF

# ---- --verify ------------------------------------------------------------------------
for f in t.gguf t.safetensors; do
    "$insp" --verify "$tmp/$f" >"$tmp/v.out" 2>"$tmp/v.err" && pass || fail "$f --verify: exit $? ($(cat "$tmp/v.err"))"
    grep -qF "$tmp/$f: $n_exp tensors: $n_exp OK, 0 FAILED, 0 without digest -- verified" "$tmp/v.out" && pass ||
        fail "$f --verify summary: $(tail -1 "$tmp/v.out")"
    [ "$(grep -c '^  OK ' "$tmp/v.out")" -eq "$n_exp" ] && pass || fail "$f --verify: OK lines"
done
"$insp" --verify --json "$tmp/t.gguf" >"$tmp/v.json" && pass || fail "--verify --json: exit $?"
"$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = d["verify"][0]
assert d["errors"] == [] and v["result"] == "ok" and v["ok"] == v["checked"] == int(sys.argv[2]) and v["failed"] == 0
assert all(t["status"] == "ok" for t in v["tensors"])' "$tmp/v.json" "$n_exp" && pass || fail "--verify --json content"

# flip one byte in the middle of blk.0.ffn_up.weight's data
victim=blk.0.ffn_up.weight
off=$("$py" -c '
import json, sys
t = next(t for t in json.load(open(sys.argv[1]))["files"][0]["tensors"] if t["name"] == sys.argv[2])
print(t["data_offset"] + t["bytes"] // 2)' "$tmp/t.gguf.json" "$victim")
cp "$tmp/t.gguf" "$tmp/bad.gguf"
"$py" -c '
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x5a]))' "$tmp/bad.gguf" "$off"
"$insp" "$tmp/bad.gguf" >/dev/null 2>&1 && pass || fail "flipped GGUF no longer lists"
"$insp" --verify "$tmp/bad.gguf" >"$tmp/v.out" 2>"$tmp/v.err"
rc=$?
[ $rc -eq 3 ] && pass || fail "flipped GGUF --verify: exit $rc, want 3"
grep -qE "^  FAILED +$victim \(xxh3-64 [0-9a-f]{16}, stored [0-9a-f]{16}\)" "$tmp/v.out" && pass ||
    fail "flipped GGUF: no FAILED line for $victim: $(grep -v '^  OK' "$tmp/v.out")"
[ "$(grep -c '^  FAILED' "$tmp/v.out")" -eq 1 ] && pass || fail "flipped GGUF: more than one FAILED"
grep -qF "1 of $n_exp tensors FAILED digest verification (first: $victim)" "$tmp/v.err" && pass ||
    fail "flipped GGUF: error line: $(cat "$tmp/v.err")"
[ "$(wc -l <"$tmp/v.err")" -eq 1 ] && pass || fail "flipped GGUF: expected one error line"

# no digests: a clear message, non-zero exit
"$pack" -q "$fx" "$tmp/nod.gguf" --outtype f16 --no-digest || fail "wk-pack --no-digest"
"$insp" --verify "$tmp/nod.gguf" >/dev/null 2>"$tmp/v.err" && fail "--verify without digests: exit 0" || pass
grep -qF "$tmp/nod.gguf: carries no weightkit digests" "$tmp/v.err" && pass || fail "no-digest message: $(cat "$tmp/v.err")"
"$insp" --verify "$pth" >/dev/null 2>"$tmp/v.err" && fail "--verify .pth: exit 0" || pass
grep -qF "stores no weightkit digests" "$tmp/v.err" && pass || fail ".pth --verify message: $(cat "$tmp/v.err")"
"$insp" --verify --stats "$tmp/t.gguf" >/dev/null 2>&1; [ $? -eq 2 ] && pass || fail "--verify --stats: not a usage error"

# ---- --stats -----------------------------------------------------------------------------
for f in "$pth" "$tmp/t.gguf" "$tmp/t.safetensors" "$fx"; do
    "$insp" --stats --strict "$f" >"$tmp/s.out" 2>"$tmp/s.err" && pass || fail "$f --stats --strict: exit $? ($(cat "$tmp/s.err"))"
    grep -qE "^  stats: [0-9]+ floating tensors, 0 flagged as noise" "$tmp/s.out" && pass ||
        fail "$f --stats: $(grep -E '^  stats:|  (nan|\|max|std)' "$tmp/s.out" | head -5)"
done
"$insp" --stats --json "$tmp/t.gguf" >"$tmp/s.json" || fail "--stats --json: exit $?"
"$py" -c '
import json, sys
f = json.load(open(sys.argv[1]))["files"][0]
assert f["stats"]["flagged"] == 0 and f["stats"]["floating"] == len(f["tensors"])
for t in f["tensors"]:
    s = t["stats"]
    assert s["nan"] == 0 and s["inf"] == 0 and not s["flagged"] and s["values"] == t["numel"]
    assert -1 < s["min"] <= s["mean"] <= s["max"] < 2 and 0 <= s["std"] < 1, t["name"]
norm = next(t for t in f["tensors"] if t["name"] == "blk.0.attn_norm.weight")["stats"]
assert 0.5 < norm["mean"] < 1.5' "$tmp/s.json" && pass || fail "--stats --json content"

# quantized GGUF tensors are dequantized for --stats
if [ -x "$bin/wk-quantize" ]; then
    "$bin/wk-quantize" "$tmp/t.gguf" "$tmp/q.gguf" q4_k >/dev/null 2>&1 || fail "wk-quantize q4_k"
    "$insp" --stats --strict "$tmp/q.gguf" >"$tmp/s.out" 2>"$tmp/s.err" && pass || fail "q4_k --stats --strict: $(cat "$tmp/s.err")"
    grep -qE "^  stats: $n_exp floating tensors, 0 flagged as noise; 0 skipped" "$tmp/s.out" && pass ||
        fail "q4_k --stats: $(grep '^  stats:' "$tmp/s.out")"
    grep -qE '^  blk\.0\.ffn_gate\.weight +q4_K ' "$tmp/s.out" && pass || fail "q4_k: type name"
fi

# "wrong base": XOR every data/ record of a copy of the .pth with random bytes
"$py" - "$pth" "$tmp/garbage.pth" <<'EOF' || fail "making the garbage .pth"
import random, sys, zipfile
rng = random.Random(1234)
with zipfile.ZipFile(sys.argv[1]) as zin, zipfile.ZipFile(sys.argv[2], "w", zipfile.ZIP_STORED) as zout:
    for info in zin.infolist():
        data = zin.read(info)
        if "/data/" in info.filename:
            data = bytes(b ^ rng.randrange(256) for b in data)
        zout.writestr(info.filename, data)
EOF
"$insp" "$tmp/garbage.pth" >/dev/null 2>"$tmp/g.err" && pass || fail "garbage .pth does not list: $(cat "$tmp/g.err")"
"$insp" --stats "$tmp/garbage.pth" >"$tmp/g.out" 2>"$tmp/g.err" && pass || fail "garbage --stats (not strict): exit $?"
grep -qE "^  stats: 22 floating tensors, (1[0-9]|2[0-2]) flagged as noise" "$tmp/g.out" && pass ||
    fail "garbage --stats summary: $(grep '^  stats:' "$tmp/g.out")"
grep -qE "^  layers\.0\.feed_forward\.w1\.weight .* nan/inf" "$tmp/g.out" && pass || fail "garbage: w1 not flagged"
"$insp" --stats --strict "$tmp/garbage.pth" >/dev/null 2>"$tmp/g.err"
rc=$?
[ $rc -ne 0 ] && pass || fail "garbage --stats --strict: exit 0"
grep -qF "$tmp/garbage.pth: " "$tmp/g.err" && grep -qF "look like noise" "$tmp/g.err" && pass ||
    fail "garbage --strict message: $(cat "$tmp/g.err")"
"$insp" --strict --json "$tmp/garbage.pth" >"$tmp/g.json" 2>/dev/null && fail "garbage --strict --json: exit 0" || pass
"$py" -c '
import json, sys
d = json.load(open(sys.argv[1]))
f = d["files"][0]
assert f["stats"]["flagged"] >= 10 and len(d["errors"]) == 1 and "look like noise" in d["errors"][0]["error"]
big = [t for t in f["tensors"] if t["numel"] >= 65536]
assert big and all(t["stats"]["flagged"] and t["stats"]["nan"] + t["stats"]["inf"] > 0 for t in big)' "$tmp/g.json" &&
    pass || fail "garbage --strict --json content"

# ---- --meta --------------------------------------------------------------------------------
"$insp" --meta "$tmp/t.gguf" >"$tmp/m.out" || fail "--meta: exit $?"
grep -qE '^    general\.architecture +string +"llama"$' "$tmp/m.out" && pass || fail "--meta: architecture"
grep -qE '^    llama\.block_count +u32 +2$' "$tmp/m.out" && pass || fail "--meta: block_count"
grep -qE '^    tokenizer\.ggml\.tokens +array\[string\] +512 items$' "$tmp/m.out" && pass || fail "--meta: tokens"
"$insp" --meta --json "$tmp/t.gguf" >"$tmp/m.json" || fail "--meta --json: exit $?"
"$py" -c '
import json, sys
m = {k["key"]: k for k in json.load(open(sys.argv[1]))["files"][0]["metadata"]}
assert m["general.architecture"]["value"] == "llama"
assert m["llama.block_count"] == {"key": "llama.block_count", "type": "u32", "value": 2}
assert m["tokenizer.ggml.tokens"]["length"] == 512 and m["tokenizer.ggml.tokens"]["elem_type"] == "string"
assert m["tokenizer.ggml.add_bos_token"]["value"] is True' "$tmp/m.json" && pass || fail "--meta --json content"
"$insp" --meta "$tmp/t.safetensors" | grep -qF '    format = "pt"' && pass || fail "--meta safetensors"

echo "inspect_formats.sh: $checks checks passed, $fails failed"
[ $fails -eq 0 ]
