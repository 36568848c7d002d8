#!/usr/bin/env bash
# Post-decode tensor check (issue #5): without a manifest, a decode against the
# wrong base must be flagged as suspect (text and --json), --strict must make it
# an error (exit 3) and remove the file; a decode against the right base must
# pass the check and still be reported as unverified.
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
fx=$src/tests/fixtures/models
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0

"$bin/wk-convert" "$fx/tiny" "$tmp/base" -q
"$bin/wk-convert" "$fx/tiny-ft" "$tmp/ft" -q
"$bin/wk-convert" "$fx/tiny-gqa" "$tmp/gqa" -q
"$bin/wk-xor" encode "$tmp/payload" "$tmp/ft" "$tmp/base" -q >/dev/null
# a wrong base with the same layout: the right base with its tensor bytes scrambled
# (another fine-tune of the same model size looks like this to the decoder)
mkdir -p "$tmp/scr"; cp "$tmp/base"/* "$tmp/scr/"
/usr/bin/python3 - "$tmp/scr/pytorch_model.bin" <<'PY'
import sys, zipfile, random
p = sys.argv[1]
z = zipfile.ZipFile(p)
b = bytearray(open(p, 'rb').read())
rnd = random.Random(5)
for info in z.infolist():
    if '/data/' not in info.filename: continue
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    # torch pads with a local extra field; find the real data start from the local header
    fnl = int.from_bytes(b[info.header_offset+26:info.header_offset+28], 'little')
    exl = int.from_bytes(b[info.header_offset+28:info.header_offset+30], 'little')
    start = info.header_offset + 30 + fnl + exl
    for i in range(start, start + info.compress_size):
        b[i] ^= rnd.randrange(256)
open(p, 'wb').write(bytes(b))
PY

# 1. the right base, no manifest: check passes, still "unverified"
"$bin/wk-xor" decode "$tmp/ok" "$tmp/payload" "$tmp/base" --no-manifest --no-progress >"$tmp/ok.txt" 2>&1 \
  || fail "good decode failed: $(cat "$tmp/ok.txt")"
grep -q "pytorch_model.bin: decoded, not verified" "$tmp/ok.txt" || fail "no unverified line: $(cat "$tmp/ok.txt")"
grep -q "tensor check: .* look like trained weights.*still unverified" "$tmp/ok.txt" || fail "no check line: $(cat "$tmp/ok.txt")"
! grep -q SUSPECT "$tmp/ok.txt" || fail "good decode flagged: $(cat "$tmp/ok.txt")"
"$bin/wk-xor" decode "$tmp/ok2" "$tmp/payload" "$tmp/base" --no-manifest --strict --json >"$tmp/ok.json" \
  || fail "good decode failed under --strict"
/usr/bin/python3 - "$tmp/ok.json" <<'PY' || fail "good JSON report wrong"
import json, sys
r = json.load(open(sys.argv[1]))
f = {x['name']: x for x in r['files']}
c = f['pytorch_model.bin']['check']
assert f['pytorch_model.bin']['status'] == 'unverified', f['pytorch_model.bin']['status']
assert c and not c['suspect'] and c['flagged'] == 0 and c['tensors'] > 10 and c['verified'] is False, c
assert f['config.json']['check'] is None
PY
echo "ok - right base, no manifest: check passes, reported unverified"; pass=$((pass+1))

# 2. the scrambled (same-layout) base: flagged; without --strict exit 0, file kept
"$bin/wk-xor" decode "$tmp/w1" "$tmp/payload" "$tmp/scr" --no-manifest --no-progress >"$tmp/w1.txt" 2>"$tmp/w1.err" \
  || fail "non-strict decode failed"
grep -q "tensor check: SUSPECT, [0-9]* of [0-9]* tensors look like noise" "$tmp/w1.txt" || fail "not flagged: $(cat "$tmp/w1.txt")"
grep -q "model.layers.0.* (nan [0-9]*, inf" "$tmp/w1.txt" || fail "no per-tensor line: $(cat "$tmp/w1.txt")"
grep -q "look like noise" "$tmp/w1.err" || fail "no warning: $(cat "$tmp/w1.err")"
[[ -e "$tmp/w1/pytorch_model.bin" ]] || fail "non-strict: file should stay"
echo "ok - same-layout wrong base: tensors flagged (text), exit 0 without --strict"; pass=$((pass+1))

# 3. --strict: exit 3, file removed, JSON names the problems
rc=0; "$bin/wk-xor" decode "$tmp/w2" "$tmp/payload" "$tmp/scr" --no-manifest --strict --json >"$tmp/w2.json" 2>"$tmp/w2.err" || rc=$?
[[ $rc -eq 3 ]] || fail "--strict exit $rc, want 3"
[[ ! -e "$tmp/w2/pytorch_model.bin" ]] || fail "--strict left the suspect file"
[[ -e "$tmp/w2/config.json" ]] || fail "--strict removed an unrelated file"
/usr/bin/python3 - "$tmp/w2.json" <<'PY' || fail "strict JSON report wrong"
import json, sys
r = json.load(open(sys.argv[1]))
f = {x['name']: x for x in r['files']}
b = f['pytorch_model.bin']
assert r['ok'] is False and b['status'] == 'suspect', b['status']
c = b['check']
assert c['suspect'] and c['flagged'] > 0 and c['problems'], c
p = c['problems'][0]
assert p['name'] and p['flags'] != 'ok' and p['nan'] + p['inf'] > 0 or p['flags'], p
PY
echo "ok - --strict: exit 3, suspect file removed, JSON lists the tensors"; pass=$((pass+1))

# 4. --strict --keep-bad keeps it
rc=0; "$bin/wk-xor" decode "$tmp/w3" "$tmp/payload" "$tmp/scr" --no-manifest --strict --keep-bad -q >/dev/null 2>&1 || rc=$?
[[ $rc -eq 3 && -e "$tmp/w3/pytorch_model.bin" ]] || fail "--strict --keep-bad: exit $rc or file missing"
echo "ok - --strict --keep-bad: exit 3, file kept"; pass=$((pass+1))

# 5. a base of another model (tiny-gqa, another layout): the output is not even a checkpoint
rc=0; "$bin/wk-xor" decode "$tmp/w4" "$tmp/payload" "$tmp/gqa" --no-manifest --strict --no-progress >"$tmp/w4.txt" 2>&1 || rc=$?
[[ $rc -eq 3 ]] || fail "gqa base --strict: exit $rc: $(cat "$tmp/w4.txt")"
grep -q "SUSPECT" "$tmp/w4.txt" || fail "gqa base not flagged: $(cat "$tmp/w4.txt")"
[[ ! -e "$tmp/w4/pytorch_model.bin" ]] || fail "gqa base: suspect file left"
echo "ok - base from another fixture: flagged, --strict exit 3, no file"; pass=$((pass+1))

# 6. with a manifest that matches, no check by default; --check forces it
"$bin/wk-xor" encode "$tmp/p2" "$tmp/ft" "$tmp/base" -q --manifest-out "$tmp/ft.sha256" >/dev/null
"$bin/wk-xor" decode "$tmp/v" "$tmp/payload" "$tmp/base" --manifest "$tmp/ft.sha256" --no-progress >"$tmp/v.txt" 2>&1
! grep -q "tensor check" "$tmp/v.txt" || fail "verified file was checked by default"
"$bin/wk-xor" decode "$tmp/v2" "$tmp/payload" "$tmp/base" --manifest "$tmp/ft.sha256" --check --no-progress >"$tmp/v2.txt" 2>&1
grep -q "tensor check" "$tmp/v2.txt" || fail "--check did not check"
echo "ok - verified files skip the check unless --check"; pass=$((pass+1))
echo "$pass passed, 0 failed"
