#!/usr/bin/env bash
# End-to-end on the fixtures: HF conversions of the base (tiny) and the fine-tune
# (tiny-ft) made by wk-convert; the fine-tune is XOR-encoded against the base, then
# decoded onto a fresh conversion of the base and verified against the manifest
# written at encode time.  Decoding onto the wrong base must fail with a hash
# mismatch and leave no final file.
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
fx=$src/tests/fixtures/models
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin/wk-convert" "$fx/tiny" "$tmp/base" -q
"$bin/wk-convert" "$fx/tiny-ft" "$tmp/ft" -q
"$bin/wk-xor" encode "$tmp/payload" "$tmp/ft" "$tmp/base" --manifest-out "$tmp/ft.sha256" -q
[[ $(wc -l <"$tmp/ft.sha256") -eq 7 ]] || fail "manifest should list 7 files (config, generation config, weights, 4 tokenizer files)"
(cd "$tmp/ft" && sha256sum -c --quiet "$tmp/ft.sha256") || fail "encode manifest does not match the targets"

# the user's side: a fresh conversion of the base, then decode with verification
"$bin/wk-convert" "$fx/tiny" "$tmp/base2" -q
"$bin/wk-xor" decode "$tmp/out" "$tmp/payload" "$tmp/base2" --manifest "$tmp/ft.sha256" -q
for f in "$tmp"/ft/*; do
  cmp "$f" "$tmp/out/$(basename "$f")" || fail "decoded $(basename "$f") differs"
done
echo "ok - decode onto a fresh base conversion reproduces the fine-tune byte for byte"

# a base converted differently (the 4.32 profile drops inv_freq): must fail, nothing left
"$bin/wk-convert" "$fx/tiny" "$tmp/base-432" -q --transformers-version 4.32.0
rc=0; "$bin/wk-xor" decode "$tmp/bad" "$tmp/payload" "$tmp/base-432" --manifest "$tmp/ft.sha256" -q \
  2>"$tmp/err" || rc=$?
[[ $rc -ne 0 ]] || fail "decode onto a differently converted base succeeded"
grep -q "pytorch_model.bin" "$tmp/err" || fail "error does not name the failing file: $(cat "$tmp/err")"
[[ ! -e "$tmp/bad/pytorch_model.bin" ]] || fail "a mismatching pytorch_model.bin was left behind"
echo "ok - wrong base: exit $rc, failing file named, no bad file left"

# a base without tokenizer.json (converted with --slow-tokenizer): refused before anything is
# decoded, naming the file and the converter option that makes it
"$bin/wk-convert" "$fx/tiny" "$tmp/base-slow" -q --slow-tokenizer
[[ ! -e "$tmp/base-slow/tokenizer.json" ]] || fail "--slow-tokenizer wrote tokenizer.json"
rc=0; "$bin/wk-xor" decode "$tmp/slow-out" "$tmp/payload" "$tmp/base-slow" --manifest "$tmp/ft.sha256" \
  -q 2>"$tmp/err" || rc=$?
[[ $rc -ne 0 ]] || fail "decode onto a base without tokenizer.json succeeded"
grep -q "base file missing: $tmp/base-slow/tokenizer.json" "$tmp/err" || fail "error does not name the base file: $(cat "$tmp/err")"
grep -q -- "--slow-tokenizer" "$tmp/err" || fail "error does not name the converter option: $(cat "$tmp/err")"
grep -q "nothing was decoded" "$tmp/err" || fail "error does not say nothing was decoded: $(cat "$tmp/err")"
[[ ! -e "$tmp/slow-out" ]] || fail "files were decoded before the refusal: $(ls "$tmp/slow-out")"
echo "ok - base without tokenizer.json: refused up front (exit $rc), file and option named, nothing decoded"

# the one-step route: --base-meta produces every base file, tokenizer.json included
"$bin/wk-xor" decode "$tmp/meta-out" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" -q
for f in "$tmp"/ft/*; do
  cmp "$f" "$tmp/meta-out/$(basename "$f")" || fail "--base-meta: decoded $(basename "$f") differs"
done
echo "ok - --base-meta reproduces all $(ls "$tmp/ft" | wc -l) files of the fine-tune, tokenizer.json included"

# a release made against a slow-tokenizer base (no tokenizer.json, model_max_length 1e30):
# --base-meta finds the slow profile too
"$bin/wk-convert" "$fx/tiny-ft" "$tmp/ft-slow" -q --slow-tokenizer
"$bin/wk-xor" encode "$tmp/payload-slow" "$tmp/ft-slow" "$tmp/base-slow" --manifest-out "$tmp/slow.sha256" -q
[[ $(wc -l <"$tmp/slow.sha256") -eq 6 ]] || fail "slow manifest should list 6 files"
"$bin/wk-xor" decode "$tmp/meta-slow" "$tmp/payload-slow" --base-meta "$fx/tiny" --manifest "$tmp/slow.sha256" \
  >"$tmp/slow.out" || fail "--base-meta decode of a slow-tokenizer release failed"
grep -q "^base profile: .*slow tokenizer (verified)" "$tmp/slow.out" || fail "slow profile not named: $(cat "$tmp/slow.out")"
echo "ok - --base-meta also decodes a release made against a slow-tokenizer base"
echo "5 passed, 0 failed"
