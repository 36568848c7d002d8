#!/usr/bin/env bash
# GGUF split sets and metadata edits (issue #22): wk-pack --split-max-tensors / --split-max-size
# write llama.cpp's "<prefix>-0000k-of-0000n.gguf" parts (split.no u16, split.count u16,
# split.tensors.count i32, the metadata in the first part); merging a set (given any part) gives
# the original byte for byte; wk-inspect lists a set as one model and --verify checks every part;
# wk-quantize of a set equals wk-quantize of the unsplit file, --keep-split keeps the parts;
# wk-bench reads a set.  Bad sets (a missing, extra or foreign part, inconsistent split.* keys,
# metadata in a later part) are refused naming the part or key, nothing written.  Metadata edits
# (--set / --remove / --special-token / --chat-template) keep every tensor byte-identical, type
# and range checks refuse naming the key with the input untouched; --in-place only when the
# header fits its old padding; kill -9 during an edit leaves the input intact.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-split.XXXXXX")}
PY=/usr/bin/python3
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
fail=0
ok() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }
[ -x "$PY" ] || { echo "gguf_split: /usr/bin/python3 needed" >&2; exit 77; }

# refused NAME PATTERN OUTPUT CMD...: CMD fails, stderr matches PATTERN, OUTPUT (a glob) absent,
# and no temporary is left in the directory.
refused() {
    local name=$1 pat=$2 out=$3; shift 3
    if "$@" >err.txt 2>&1; then bad "$name: succeeded"; return; fi
    if ! grep -qE -- "$pat" err.txt; then bad "$name: message: $(cat err.txt)"; return; fi
    # shellcheck disable=SC2086
    if ls $out .*wk-tmp* >/dev/null 2>&1; then bad "$name: something was written"; return; fi
    ok "$name: $(sed 's/^wk-pack: error: //' err.txt | head -c 150)"
}

"$BIN/wk-pack" -q "$SRC/tests/fixtures/models/tiny" tiny.gguf --outtype f32 || { echo "wk-pack failed"; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
orig=$(sha tiny.gguf)

# ---- split and merge -----------------------------------------------------------------------
"$BIN/wk-pack" -q tiny.gguf s.gguf --split-max-tensors 5 || bad "split --split-max-tensors"
parts=$(ls s-*-of-00005.gguf 2>/dev/null | wc -l)
[ "$parts" = 5 ] && ok "--split-max-tensors 5: 21 tensors -> 5 parts named s-0000k-of-00005.gguf" ||
    bad "expected 5 parts, got $parts"
"$PY" - s-0000{1,2,3,4,5}-of-00005.gguf <<'EOF' && ok "split keys: split.no u16 = k, split.count u16 = 5, split.tensors.count i32 = 21; metadata in part 1 only; <= 5 tensors a part" || fail=1
import struct, sys
T = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def rd(f, fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
def val(f, t):
    if t == 8: (n,) = rd(f, "Q"); return f.read(n)
    if t == 9: et, n = rd(f, "IQ"); return [val(f, et) for _ in range(n)]
    return rd(f, T[t])[0]
total = 0
for k, p in enumerate(sys.argv[1:]):
    with open(p, "rb") as f:
        assert f.read(4) == b"GGUF"
        ver, nt, nkv = rd(f, "IQQ")
        kv = {}
        for _ in range(nkv):
            (n,) = rd(f, "Q"); key = f.read(n).decode(); (t,) = rd(f, "I"); kv[key] = (t, val(f, t))
    assert kv["split.no"] == (2, k), (p, kv["split.no"])
    assert kv["split.count"] == (2, 5), p
    assert kv["split.tensors.count"] == (5, 21), p
    extra = [x for x in kv if not x.startswith("split.") and x != "weightkit.split.set"]
    assert (len(extra) > 10) if k == 0 else not extra, (p, extra)
    assert 1 <= nt <= 5
    total += nt
assert total == 21, total
EOF
"$BIN/wk-pack" -q s-00001-of-00005.gguf m1.gguf && [ "$(sha m1.gguf)" = "$orig" ] &&
    ok "merge (from the first part) == the original, byte for byte" || bad "merge from part 1 differs"
"$BIN/wk-pack" -q s-00004-of-00005.gguf m4.gguf && [ "$(sha m4.gguf)" = "$orig" ] &&
    ok "merge given part 4 == the original" || bad "merge from part 4 differs"
"$BIN/wk-pack" -q tiny.gguf z.gguf --split-max-size 1M || bad "split --split-max-size 1M"
n=$(ls z-*-of-*.gguf | wc -l)
"$PY" - z-*.gguf <<'EOF' && ok "--split-max-size 1M: $n parts, each holds <= 10^6 bytes of (32-padded) tensors or one tensor" || bad "--split-max-size part sizes"
import struct, sys
def rd(f, fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
S = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
def skip(f, t):
    if t == 8: (n,) = rd(f, "Q"); f.read(n)
    elif t == 9:
        et, n = rd(f, "IQ")
        for _ in range(n): skip(f, et)
    else: f.read(S[t])
counts = []
for p in sys.argv[1:]:
    with open(p, "rb") as f:
        f.read(4); ver, nt, nkv = rd(f, "IQQ")
        for _ in range(nkv):
            (n,) = rd(f, "Q"); f.read(n); (t,) = rd(f, "I"); skip(f, t)
        tot = 0
        for _ in range(nt):
            (n,) = rd(f, "Q"); f.read(n); (nd,) = rd(f, "I"); ne = rd(f, "Q" * nd); typ, off = rd(f, "IQ")
            assert typ == 0
            el = 1
            for x in ne: el *= x
            tot += (el * 4 + 31) // 32 * 32
    assert tot <= 1000000 or nt == 1, (p, tot, nt)
    counts.append(nt)
assert sum(counts) == 21 and len(counts) > 2
EOF
"$BIN/wk-pack" -q "z-00002-of-$(printf %05d "$n").gguf" zm.gguf && [ "$(sha zm.gguf)" = "$orig" ] &&
    ok "merge of the size-split set == the original" || bad "merge of the size-split set differs"
refused "--split-max-size and --split-max-tensors together" "choose one" "y*.gguf" \
    "$BIN/wk-pack" tiny.gguf y.gguf --split-max-size 1M --split-max-tensors 3

# ---- the other tools read a set -----------------------------------------------------------------
"$BIN/wk-inspect" s-00003-of-00005.gguf >insp.txt 2>&1 && grep -q "split set of 5 parts" insp.txt &&
    grep -q "total: 21 tensors" insp.txt && ok "wk-inspect lists the set (given part 3) as one model of 21 tensors" ||
    bad "wk-inspect on a set: $(head -3 insp.txt)"
"$BIN/wk-inspect" --verify s-00005-of-00005.gguf >ver.txt 2>&1 && grep -q "21 tensors: 21 OK" ver.txt &&
    ok "wk-inspect --verify checks all 21 tensors of the 5 parts" || bad "--verify on a set: $(tail -2 ver.txt)"
mkdir -p corrupt && cp s-0*.gguf corrupt/ &&
    "$PY" -c "
import sys; p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[-40] ^= 1; open(p, 'wb').write(b)" corrupt/s-00004-of-00005.gguf
if "$BIN/wk-inspect" --verify corrupt/s-00001-of-00005.gguf >ver2.txt 2>&1; then bad "--verify missed a flipped bit in part 4"
else grep -q "FAILED" ver2.txt && ok "--verify of the set finds a flipped bit in part 4" || bad "--verify: $(tail -2 ver2.txt)"; fi
"$BIN/wk-quantize" -q tiny.gguf q.gguf q8_0 && "$BIN/wk-quantize" -q s-00002-of-00005.gguf qs.gguf q8_0 &&
    [ "$(sha q.gguf)" = "$(sha qs.gguf)" ] && ok "wk-quantize of the set == wk-quantize of the unsplit file" ||
    bad "wk-quantize of a set differs"
"$BIN/wk-quantize" -q s-00001-of-00005.gguf qk.gguf q8_0 --keep-split && [ "$(ls qk-*-of-00005.gguf | wc -l)" = 5 ] &&
    "$BIN/wk-pack" -q qk-00001-of-00005.gguf qkm.gguf && [ "$(sha qkm.gguf)" = "$(sha q.gguf)" ] &&
    ok "wk-quantize --keep-split: 5 parts, merged == the unsplit quantization" || bad "wk-quantize --keep-split"
"$PY" - s-00003-of-00005.gguf qk-00003-of-00005.gguf <<'EOF' && ok "--keep-split: part 3 holds the same tensors as the input's part 3" || bad "--keep-split layout"
import struct, sys
def names(p):
    with open(p, "rb") as f:
        f.read(4); ver, nt, nkv = struct.unpack("<IQQ", f.read(20))
        T = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
        def skip(t):
            if t == 8: (n,) = struct.unpack("<Q", f.read(8)); f.read(n)
            elif t == 9:
                et, n = struct.unpack("<IQ", f.read(12))
                for _ in range(n): skip(et)
            else: f.read(T[t])
        for _ in range(nkv):
            (n,) = struct.unpack("<Q", f.read(8)); f.read(n); (t,) = struct.unpack("<I", f.read(4)); skip(t)
        out = []
        for _ in range(nt):
            (n,) = struct.unpack("<Q", f.read(8)); out.append(f.read(n))
            (nd,) = struct.unpack("<I", f.read(4)); f.read(8 * nd + 4 + 8)
        return out
a, b = names(sys.argv[1]), names(sys.argv[2])
assert a == b and a, (a, b)
EOF
"$BIN/wk-bench" --model s-00001-of-00005.gguf --no-speed --types q8_0 --max-tensors 3 >bench.txt 2>&1 &&
    grep -q "q8_0" bench.txt && ok "wk-bench --model reads the set" || bad "wk-bench on a set: $(tail -2 bench.txt)"

"$BIN/wk-pack" -q s-00002-of-00005.gguf c16.gguf --outtype f16 && "$BIN/wk-pack" -q tiny.gguf u16.gguf --outtype f16 &&
    [ "$(sha c16.gguf)" = "$(sha u16.gguf)" ] && ok "wk-pack --outtype f16 of the set (one file) == of the unsplit file" ||
    bad "--outtype on a set"
"$BIN/wk-pack" -q s-00001-of-00005.gguf x.safetensors && "$BIN/wk-pack" -q x.safetensors back.gguf &&
    [ "$(sha back.gguf)" = "$orig" ] && ok "set -> safetensors -> GGUF == the original (no split keys carried)" ||
    bad "set -> safetensors -> GGUF"

# ---- bad sets ---------------------------------------------------------------------------------
mkdir -p miss extra foreign tcount ktype meta
cp s-0000[1235]-of-00005.gguf miss/
refused "missing part" "s-00004-of-00005.gguf: part 4 of 5 .* is missing" "o.gguf" \
    "$BIN/wk-pack" miss/s-00001-of-00005.gguf o.gguf
cp s-0*.gguf extra/ && cp s-00002-of-00005.gguf extra/s-00006-of-00005.gguf
refused "extra part" "s-00006-of-00005.gguf: an extra part" "o.gguf" "$BIN/wk-pack" extra/s-00001-of-00005.gguf o.gguf
cp s-0*.gguf foreign/ && cp qk-00003-of-00005.gguf foreign/s-00003-of-00005.gguf
refused "a part of another set (same layout, other types)" "s-00003-of-00005.gguf: belongs to another split set" \
    "o.gguf" "$BIN/wk-pack" foreign/s-00002-of-00005.gguf o.gguf
"$BIN/wk-pack" -q tiny.gguf t3.gguf --split-max-tensors 8
mkdir -p foreign2 && cp s-0*.gguf foreign2/ && cp t3-00002-of-00003.gguf foreign2/s-00002-of-00005.gguf
refused "a part of a set of 3 among a set of 5" "s-00002-of-00005.gguf: belongs to another split set.* 1/3, expected 1/5" \
    "o.gguf" "$BIN/wk-pack" foreign2/s-00001-of-00005.gguf o.gguf
# patch a value / a type in place (same size) with python
patch() {  # patch FILE KEY NEWTYPE NEWVALUE_FMT NEWVALUE
    "$PY" - "$@" <<'EOF'
import struct, sys
p, key, t, fmt, v = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
b = bytearray(open(p, "rb").read())
i = b.index(struct.pack("<Q", len(key)) + key) + 8 + len(key)
b[i:i + 4] = struct.pack("<I", t)
vs = struct.calcsize("<" + fmt)
b[i + 4:i + 4 + vs] = struct.pack("<" + fmt, v)
open(p, "wb").write(b)
EOF
}
cp s-0*.gguf tcount/ && patch tcount/s-00003-of-00005.gguf split.tensors.count 5 i 22
refused "inconsistent split.tensors.count" "s-00003-of-00005.gguf: split.tensors.count is 22, but the 5 parts hold 21" \
    "o.gguf" "$BIN/wk-pack" tcount/s-00001-of-00005.gguf o.gguf
cp s-0*.gguf ktype/ && patch ktype/s-00002-of-00005.gguf split.count 3 h 5
refused "split.count of the wrong type" "s-00002-of-00005.gguf: key \"split.count\" has type i16, expected u16" \
    "o.gguf" "$BIN/wk-pack" ktype/s-00001-of-00005.gguf o.gguf
cp s-0*.gguf meta/ && patch meta/s-00001-of-00005.gguf split.no 2 H 1
refused "first part says split.no 1 (name and number disagree)" "s-00001-of-00005.gguf: .*(name does not end|belongs to another)" \
    "o.gguf" "$BIN/wk-pack" meta/s-00001-of-00005.gguf o.gguf
refused "a set given to a tool that reads GGUF (wk-inspect) with a part missing" "part 4 of 5 .* is missing" "o.gguf" \
    "$BIN/wk-inspect" miss/s-00002-of-00005.gguf

# ---- metadata edits ---------------------------------------------------------------------------
printf '{%% for m in messages %%}{{ m.content }}{%% endfor %%}' >tmpl.jinja
"$BIN/wk-pack" -q tiny.gguf e.gguf --special-token eos=5 --set general.name=str:edited \
    --set my.flag=bool:true --set my.ids=arr[i32]:1,-2,3 --remove general.type --chat-template tmpl.jinja ||
    bad "edit into a new file"
"$PY" - tiny.gguf e.gguf <<'EOF' && ok "edit: eos=5, general.name, a bool and an i32 array added, general.type removed, chat template set; every tensor (data section) byte-identical" || bad "edit result"
import struct, sys
T = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def rd(f, fmt): return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
def val(f, t):
    if t == 8: (n,) = rd(f, "Q"); return f.read(n).decode()
    if t == 9: et, n = rd(f, "IQ"); return [val(f, et) for _ in range(n)]
    return rd(f, T[t])[0]
def load(p):
    with open(p, "rb") as f:
        f.read(4); ver, nt, nkv = rd(f, "IQQ"); kv = {}
        for _ in range(nkv):
            (n,) = rd(f, "Q"); k = f.read(n).decode(); (t,) = rd(f, "I"); kv[k] = (t, val(f, t))
        infos = []
        for _ in range(nt):
            (n,) = rd(f, "Q"); name = f.read(n); (nd,) = rd(f, "I"); infos.append((name, rd(f, "Q" * nd), rd(f, "IQ")))
        pos = f.tell(); a = kv.get("general.alignment", (4, 32))[1]; pos = (pos + a - 1) // a * a
        f.seek(pos); return kv, infos, f.read()
a, b = load(sys.argv[1]), load(sys.argv[2])
assert a[1] == b[1], "tensor infos differ"
assert a[2] == b[2], "tensor data differs"
kv = b[0]
assert kv["tokenizer.ggml.eos_token_id"] == (4, 5)
assert kv["general.name"] == (8, "edited")
assert kv["my.flag"] == (7, True) and kv["my.ids"] == (9, [1, -2, 3])
assert "general.type" not in kv and "general.type" in a[0]
assert kv["tokenizer.chat_template"][1] == "{% for m in messages %}{{ m.content }}{% endfor %}"
common = [k for k in a[0] if k in kv]
assert [k for k in kv if k in a[0]] == common, "key order"
assert list(kv)[-3:] == ["my.flag", "my.ids", "tokenizer.chat_template"] or "tokenizer.chat_template" in a[0], list(kv)[-3:]
EOF
"$BIN/wk-inspect" --verify -q e.gguf >/dev/null 2>&1 && ok "edited file: the stored per-tensor digests verify" || bad "edited file does not verify"
refused "--set with another type" 'key "general.name" has type str, not u32' "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --set general.name=u32:5
"$BIN/wk-pack" -q tiny.gguf rt.gguf --set llama.context_length=u64:4096 --allow-type-change &&
    ok "--allow-type-change lets --set change a key's type" || bad "--allow-type-change"
refused "--remove of a missing key" "--remove no.such.key: no such key" "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --remove no.such.key
refused "--special-token past the vocabulary" "eos_token_id = 512 is past the vocabulary \(512 tokens\)" "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --special-token eos=512
refused "--special-token of an unknown name" "--special-token foo=1: expected NAME=ID" "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --special-token foo=1
refused "--set u8 out of range" "--set x=u8:256: \"256\" is not a valid u8 value" "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --set x=u8:256
refused "--set of a split key" 'key "split.count" describes the file layout' "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --set split.count=u16:2
refused "edit options with --outtype" "do not apply" "o.gguf" \
    "$BIN/wk-pack" tiny.gguf o.gguf --set general.name=str:x --outtype f16
[ "$(sha tiny.gguf)" = "$orig" ] && ok "the input is unchanged after all of the above" || bad "the input changed"

# editing a split set: the first part carries the metadata
"$BIN/wk-pack" -q s-00003-of-00005.gguf se.gguf --keep-split --special-token eos=9 &&
    [ "$(ls se-*-of-00005.gguf | wc -l)" = 5 ] && cmp -s s-00005-of-00005.gguf se-00005-of-00005.gguf &&
    ! cmp -s s-00001-of-00005.gguf se-00001-of-00005.gguf && ok "editing a set (--keep-split) rewrites the first part's metadata only" ||
    bad "editing a set with --keep-split"

# ---- in place -----------------------------------------------------------------------------------
cp tiny.gguf ip.gguf
"$BIN/wk-pack" -q ip.gguf --in-place --special-token eos=7 && "$BIN/wk-inspect" --meta ip.gguf >m1.txt && grep -q "eos_token_id .* 7$" m1.txt &&
    "$BIN/wk-inspect" --verify -q ip.gguf >/dev/null && cmp -s <(tail -c 7000000 ip.gguf) <(tail -c 7000000 tiny.gguf) &&
    ok "--in-place: eos=7 written into the header, tensors untouched and verified" || bad "--in-place eos"
before=$(sha ip.gguf)
refused "--in-place when the header grows past its padding" "does not fit the old header's padding" "o.gguf" \
    "$BIN/wk-pack" ip.gguf --in-place --set general.name=str:a-much-longer-name-than-the-padding-can-take-0123456789012345678901234567890123456789
[ "$(sha ip.gguf)" = "$before" ] && ok "--in-place refused: the file is unchanged" || bad "--in-place refusal changed the file"
mkdir -p ips && cp s-0*.gguf ips/
"$BIN/wk-pack" -q ips/s-00004-of-00005.gguf --in-place --special-token bos=3 &&
    "$BIN/wk-inspect" --meta ips/s-00002-of-00005.gguf >m2.txt && grep -q "bos_token_id .* 3$" m2.txt &&
    cmp -s ips/s-00004-of-00005.gguf s-00004-of-00005.gguf && ok "--in-place on a set edits its first part (given part 4)" ||
    bad "--in-place on a set: $(ls ips)"

# ---- kill -9 while an edit is written: the input intact, nothing at the output, the stale
# temporary swept by the next run ------------------------------------------------------------------
"$PY" - big.gguf <<'EOF'
import struct, sys
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
kv = s("general.architecture") + struct.pack("<I", 8) + s("llama") + s("general.name") + struct.pack("<I", 8) + s("big")
n, rows = 8, 4096 * 1024       # 8 tensors of 16 MiB
ti = b"".join(s("t%d" % i) + struct.pack("<IQQIQ", 2, 1024, rows // 1024, 0, i * rows * 4) for i in range(n))
h = b"GGUF" + struct.pack("<IQQ", 3, n, 2) + kv + ti
h += b"\0" * (-len(h) % 32)
with open(sys.argv[1], "wb") as f:
    f.write(h)
    chunk = bytes(range(256)) * (1 << 16)
    for i in range(n * rows * 4 // len(chunk)): f.write(chunk)
EOF
bigsha=$(sha big.gguf)
killed=0
for delay in 0.02 0.05 0.1 0.2; do
    rm -f kout.gguf
    "$BIN/wk-pack" -q big.gguf kout.gguf --set general.name=str:renamed & pid=$!
    sleep $delay
    if kill -9 $pid 2>/dev/null; then wait $pid 2>/dev/null; killed=1; break; fi
    wait $pid
done
if [ $killed = 0 ]; then echo "skip - kill -9: wk-pack finished before it could be killed"
else
    [ "$(sha big.gguf)" = "$bigsha" ] && [ ! -e kout.gguf ] && ok "kill -9 mid-edit: input intact, no output" ||
        bad "kill -9 mid-edit left a damaged input or an output"
    "$BIN/wk-pack" -q big.gguf kout.gguf --set general.name=str:renamed && ! ls .kout.gguf.wk-tmp* >/dev/null 2>&1 &&
        ok "the next run succeeds and sweeps the dead run's temporary" || bad "rerun after kill -9"
fi

exit $fail
