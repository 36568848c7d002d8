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
[[ $(wc -l <"$tmp/ft.sha256") -eq 6 ]] || fail "manifest should list 6 files"
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
echo "2 passed, 0 failed"
