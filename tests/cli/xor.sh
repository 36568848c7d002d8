#!/usr/bin/env bash
# CLI tests for wk-xor: interoperability with the xor_codec.py algorithm
# (bench/xor_codec_ref.py, numpy), verification, failures, hash/verify output.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
W="$WK_BIN_DIR/wk-xor"
PY=/usr/bin/python3
REF="$WK_SOURCE_DIR/bench/xor_codec_ref.py"
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "xor.sh: skipped: $PY with numpy is needed (apt-get install python3-numpy)" >&2
  exit 77
fi
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1
export WK_CHECKSUMS_DIR="$WK_TMP/no-checksums"  # only the shipped manifests, unless a test sets it

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
same_dir() {  # every file of $1 is in $2 with the same bytes, and nothing more but extras named in $3
  local a=$1 b=$2 f
  for f in "$a"/*; do cmp -s "$f" "$b/$(basename "$f")" || { echo "differs: $f" >&2; return 1; }; done
  return 0
}
no_temps() { ! find "$1" -name '.*wk-tmp*' | grep -q .; }

# ---- fixtures: a fine-tuned and a base "model" with every length case ------
"$PY" - <<'EOF' || exit 1
import numpy as np, os
rng = np.random.default_rng(5)
os.makedirs("ft", exist_ok=True); os.makedirs("base", exist_ok=True)
def pair(name, ft, base):
    open(f"ft/{name}", "wb").write(ft); open(f"base/{name}", "wb").write(base)
b = (rng.standard_normal(1_500_000) * 0.02).astype(np.float16)
f = (b.astype(np.float32) + rng.standard_normal(b.size).astype(np.float32) * 1e-3).astype(np.float16)
pair("pytorch_model-00001-of-00002.bin", f.tobytes(), b.tobytes())                    # equal length
pair("pytorch_model-00002-of-00002.bin", f[:700_001].tobytes() + b"x", b[:300_000].tobytes())  # base shorter
pair("config.json", b'{"hidden_size": 64}\n', b'{"hidden_size": 64, "torch_dtype": "float16"}\n')  # base longer
pair("tokenizer.model", bytes(range(256)) * 16 + b"\x01", bytes(range(256)) * 16)      # 4096+1 bytes
pair("exact4096.bin", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
     rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
pair("empty.bin", b"", b"some base bytes")                                             # empty payload
pair("empty-base.json", b'{"a": 1}', b"")                                              # empty base
open("ft/added_tokens.json", "w").write('{"<|pad|>": 32000}')                          # no base file
EOF
(cd ft && sha256sum -- * > ../ft.sha256)

# ---- Python-made payloads decode to the targets, byte for byte ------------
"$PY" "$REF" py-gz ft base --encode --compress > /dev/null
"$PY" "$REF" py-raw ft base --encode > /dev/null
check "python gzip payloads are gzip" bash -c '[ "$(head -c2 py-gz/config.json | od -An -tx1 | tr -d " ")" = 1f8b ]'
"$W" decode out1 py-gz base --manifest ft.sha256 -q; rc=$?
check "decode of python --compress payloads: exit 0" [ $rc -eq 0 ]
check "decode of python --compress payloads: bytes equal targets" same_dir ft out1
"$W" decode out2 py-raw base -q --no-manifest; rc=$?
check "decode of python raw payloads (auto-detected): exit 0" [ $rc -eq 0 ]
check "decode of python raw payloads: bytes equal targets" same_dir ft out2
"$W" out3 py-gz base --decode --compress -q --no-manifest; rc=$?
check "xor_codec.py positional form (--decode --compress)" [ $rc -eq 0 ]
check "positional form: bytes equal targets" same_dir ft out3
"$W" out3r py-raw base -q --no-manifest; rc=$?
check "positional form, raw default" bash -c "[ $rc -eq 0 ] && diff -r ft out3r >/dev/null"

# ---- our payloads decode with the Python algorithm ------------------------
"$W" encode enc1 ft base -j1 -q --manifest-out enc1.sha256; rc1=$?
"$W" encode enc2 ft base -j2 -q; rc2=$?
check "encode -j1 and -j2: exit 0" [ $rc1 -eq 0 -a $rc2 -eq 0 ]
check "encode is deterministic across -j 1/2" diff -r enc1 enc2
check "encode --manifest-out equals sha256sum of the targets" cmp -s enc1.sha256 ft.sha256
"$W" encode enc1b ft base -j2 -q; check "encode is deterministic across runs" diff -r enc1 enc1b
"$PY" "$REF" pyout enc1 base --compress > /dev/null
check "python decode of our gzip payloads equals targets" same_dir ft pyout
"$W" encode encr ft base --raw -q
"$PY" "$REF" pyoutr encr base > /dev/null
check "python decode of our --raw payloads equals targets" same_dir ft pyoutr
"$W" ft-again enc1 base --encode -q 2>/dev/null; check "positional --encode without --compress is raw" \
  bash -c '[ "$(head -c2 ft-again/config.json)" != "$(printf "\x1f\x8b")" ]'
"$PY" - <<'EOF'
import gzip, sys
# Python's gzip module reads our payload as one member equal to the raw XOR
raw = open("encr/pytorch_model-00001-of-00002.bin", "rb").read()
sys.exit(0 if gzip.decompress(open("enc1/pytorch_model-00001-of-00002.bin", "rb").read()) == raw else 1)
EOF
check "python gzip.decompress of our payload equals the raw XOR" [ $? -eq 0 ]
stdout=$("$W" encode enc3 ft base -j2)
check "encode prints sha256sum lines of the targets" [ "$stdout" = "$(cat ft.sha256)" ]

# ---- multi-member gzip ------------------------------------------------------
mkdir -p mm && for f in encr/*; do n=$(basename "$f"); s=$(stat -c %s "$f"); h=$((s / 3));
  { head -c "$h" "$f" | gzip -1 -c; tail -c +$((h + 1)) "$f" | gzip -9 -c; } > "mm/$n"; done
"$W" decode outmm mm base --manifest ft.sha256 -q; rc=$?
check "multi-member gzip payloads decode and verify" bash -c "[ $rc -eq 0 ] && diff -r ft outmm >/dev/null"

# ---- verification failures ---------------------------------------------------
badname=pytorch_model-00001-of-00002.bin
sed "s/^.\(.*  $badname\)\$/0\1/" ft.sha256 > one-bad.sha256
check "one manifest line was altered" [ "$(diff ft.sha256 one-bad.sha256 | grep -c '^>')" -eq 1 ]
"$W" decode outbad py-gz base --manifest one-bad.sha256 > bad.out 2> bad.err; rc=$?
check "mismatch: exit status 3" [ $rc -eq 3 ]
check "mismatch: no final file" [ ! -e "outbad/$badname" ]
check "mismatch: the other files are there" [ -e outbad/config.json ]
check "mismatch: no temporary file left" no_temps outbad
check "mismatch: report names file, expected and got" grep -q "$badname: SHA-256 mismatch: expected 0" bad.err
check "mismatch: hint names wk-convert options" grep -q -- "--transformers-version" bad.err
"$W" decode outkeep py-gz base --manifest one-bad.sha256 --keep-bad -q > /dev/null 2>&1; rc=$?
check "mismatch --keep-bad: non-zero exit, file kept" bash -c "[ $rc -eq 3 ] && [ -e 'outkeep/$badname' ]"

# truncated gzip
mkdir -p trunc && cp py-gz/* trunc/ && f=trunc/pytorch_model-00001-of-00002.bin
head -c $(($(stat -c %s $f) / 2)) $f > t.tmp && mv t.tmp $f
"$W" decode outtr trunc base --no-manifest -q > /dev/null 2> tr.err; rc=$?
check "truncated gzip: non-zero exit" [ $rc -ne 0 ]
check "truncated gzip: error names file and byte offset" \
  grep -q "trunc/pytorch_model-00001-of-00002.bin: truncated gzip stream: input ends at byte offset" tr.err
check "truncated gzip: no final file" [ ! -e outtr/pytorch_model-00001-of-00002.bin ]
check "truncated gzip: no temporary file" no_temps outtr
# not gzip when it claims to be
"$W" decode outng py-raw base --gzip --no-manifest -q > /dev/null 2> ng.err; rc=$?
check "--gzip on raw payloads: clear error" bash -c "[ $rc -ne 0 ] && grep -q 'not a gzip file' ng.err"
# missing base
mkdir -p base-missing && cp base/* base-missing/ && rm base-missing/config.json
"$W" decode outmb py-gz base-missing --no-manifest -q > /dev/null 2> mb.err; rc=$?
check "missing base: non-zero exit and clear error" \
  bash -c "[ $rc -ne 0 ] && grep -q 'base file missing: base-missing/config.json' mb.err"
check "missing base: no output for that file" [ ! -e outmb/config.json ]
# manifest naming a file that is not there
{ cat ft.sha256; echo "$(printf '%064d' 0)  not-in-payload.bin"; } > extra.sha256
"$W" decode outex py-gz base --manifest extra.sha256 -q > /dev/null 2> ex.err; rc=$?
check "manifest lists an absent file: non-zero exit" bash -c "[ $rc -ne 0 ] && grep -q not-in-payload.bin ex.err"

# ---- default manifest discovery ----------------------------------------------
mkdir -p meth-pay meth-base
for n in config.json generation_config.json pytorch_model-00001-of-00003.bin pytorch_model-00002-of-00003.bin \
         pytorch_model-00003-of-00003.bin pytorch_model.bin.index.json tokenizer.json tokenizer.model \
         tokenizer_config.json; do echo x > "meth-pay/$n"; echo y > "meth-base/$n"; done
echo '{}' > meth-pay/added_tokens.json; echo docs > meth-pay/README.md
"$W" decode meth-out meth-pay meth-base > meth.out 2> meth.err; rc=$?
check "default manifest: checksums/metharme-13b.sha256 is picked" grep -q "checksums/metharme-13b.sha256" meth.err
check "default manifest: mismatch exits 3, nothing left of the nine" \
  bash -c "[ $rc -eq 3 ] && [ ! -e meth-out/config.json ] && [ ! -e meth-out/tokenizer.model ]"
mkdir -p sums && cp ft.sha256 sums/mine.sha256
WK_CHECKSUMS_DIR="$WK_TMP/sums" "$W" decode outd py-gz base > d.out 2> d.err; rc=$?
check "default manifest from \$WK_CHECKSUMS_DIR verifies every file" \
  bash -c "[ $rc -eq 0 ] && grep -q 'sums/mine.sha256' d.err && [ \$(grep -c ': OK' d.out) -eq 8 ]"

# ---- --json report ---------------------------------------------------------------
"$W" decode outj py-gz base --manifest ft.sha256 --json > j.json; rc=$?
"$PY" - <<'EOF'
import json, sys
r = json.load(open("j.json"))
ok = r["ok"] is True and r["command"] == "decode" and len(r["files"]) == 8
ok = ok and all(f["status"] == "ok" and f["sha256"] == f["expected"] for f in r["files"])
sys.exit(0 if ok else 1)
EOF
check "--json report parses and says every file is ok" [ $? -eq 0 -a $rc -eq 0 ]

# ---- hash and verify ----------------------------------------------------------------
mkdir -p names && cd names && printf a > 'sp ace' && printf b > 'back\slash' && printf c > "$(printf 'new\nline')" \
  && printf d > "$(printf 'cr\rx')" \
  && printf '' > empty && cd ..
(cd names && sha256sum -- * > ../names.sha256)
(cd names && "$W" hash -- * > ../names.ours)
check "hash output is byte-identical to sha256sum (escaped names too)" cmp -s names.sha256 names.ours
check "hash of standard input matches sha256sum" \
  bash -c "[ \"\$(printf xyz | '$W' hash)\" = \"\$(printf xyz | sha256sum)\" ]"
check "hash -j2 of many files matches sha256sum" \
  bash -c "[ \"\$(cd ft && '$W' hash -j2 -- *)\" = \"\$(cat ft.sha256)\" ]"
"$W" hash ft/config.json no-such-file > h.out 2> h.err; rc=$?
check "hash: missing file reported, others printed, exit 1" \
  bash -c "[ $rc -eq 1 ] && grep -q no-such-file h.err && grep -q 'ft/config.json' h.out"
"$W" verify names --manifest names.sha256 > v.out; rc=$?
check "verify: OK lines like sha256sum -c" bash -c "[ $rc -eq 0 ] && diff <(cd names && sha256sum -c ../names.sha256) v.out"
printf z >> names/empty
"$W" verify names --manifest names.sha256 > v2.out 2> v2.err; rc=$?
check "verify: a changed file FAILED, exit non-zero" \
  bash -c "[ $rc -ne 0 ] && grep -q '^empty: FAILED$' v2.out && grep -q 'did NOT match' v2.err"
if command -v rhash > /dev/null; then
  (cd ft && rhash --sha256 -- * > ../ft.rhash) && "$W" verify ft --manifest ft.rhash -q; rc=$?
  check "verify reads rhash --sha256 output" [ $rc -eq 0 ]
  (cd ft && rhash --sha256 --bsd -- * > ../ft.bsd) && "$W" verify ft --manifest ft.bsd -q; rc=$?
  check "verify reads rhash --bsd output" [ $rc -eq 0 ]
fi
(cd ft && sha256sum --tag -- * > ../ft.tag) && "$W" verify ft --manifest ft.tag -q; rc=$?
check "verify reads sha256sum --tag output" [ $rc -eq 0 ]
{ cat ft.sha256; sed -n 1p ft.sha256; } > dup.sha256
"$W" verify ft --manifest dup.sha256 > /dev/null 2> dup.err; rc=$?
check "duplicate manifest names: error with line numbers" \
  bash -c "[ $rc -ne 0 ] && grep -q 'dup.sha256:9: duplicate file name' dup.err"
printf '%064d  ../outside.bin\n' 0 > trav.sha256
"$W" verify names --manifest trav.sha256 > /dev/null 2> trav.err; rc=$?
check "verify refuses a manifest name leaving the directory" \
  bash -c "[ $rc -ne 0 ] && grep -q 'trav.sha256:1: file name \"../outside.bin\" is not a safe relative path' trav.err"
"$W" decode 2> usage.err; rc=$?
check "usage error: exit 2" [ $rc -eq 2 ]
"$W" --help | grep -q 'wk-xor decode DST PAYLOAD_DIR BASE_DIR'; check "--help" [ $? -eq 0 ]
"$W" --version | grep -q 'wk-xor (weightkit)'; check "--version" [ $? -eq 0 ]

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
