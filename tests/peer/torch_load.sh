#!/usr/bin/env bash
# Peer test: files written by wk_pth_write, loaded by the real torch.
#
# test_pth_write writes every golden dict through the writer (1.13 profile,
# and the 2.1 profile under torch-2.1/) into $WK_TMP/out; torch_load_check.py
# then checks them with /usr/bin/python3's torch: byte identity with the
# golden files (1.13), zip CRCs, record lists, and torch.load(weights_only=True)
# giving the same keys, dtypes, shapes, strides, offsets, storage sharing and
# bit-identical values as the golden file.  Exit 77 if torch is unavailable.
set -euo pipefail
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
py=/usr/bin/python3
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "torch_load: skipped: $py cannot import torch (Debian python3-torch)" >&2
  exit 77
fi
test_bin="$WK_BIN_DIR/../tests/test_pth_write"
if [ ! -x "$test_bin" ]; then
  echo "torch_load: FAIL: $test_bin not built" >&2
  exit 1
fi
rm -rf "$WK_TMP"
mkdir -p "$WK_TMP/out"
if ! WK_PEER_OUT="$WK_TMP/out" WK_SOURCE_DIR="$WK_SOURCE_DIR" "$test_bin" >"$WK_TMP/unit.log" 2>&1; then
  cat "$WK_TMP/unit.log" >&2
  echo "torch_load: FAIL: test_pth_write failed while writing the peer files" >&2
  exit 1
fi
"$py" "$WK_SOURCE_DIR/tests/peer/torch_load_check.py" \
  "$WK_SOURCE_DIR/tests/fixtures/torch" "$WK_TMP/out"
