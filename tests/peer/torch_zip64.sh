#!/usr/bin/env bash
# Opt-in peer test (WK_LONG_TESTS=1): a > 4 GiB file with zip64 records.
#
# test_pth_write (generator mode) writes {"small", "big" (4.3 GB of fp16
# zeros, streamed, never in memory), "after"} to $WK_TMP/wk/big.bin; then
# torch_zip64.py loads it with torch.load(weights_only=True), saves the same
# dict with the real torch.save to $WK_TMP/torch/big.bin and compares the
# SHA-256 of both files.  Needs ~9 GB of disk and ~5 GB of RAM; both files
# are deleted afterwards.  Without WK_LONG_TESTS=1 it exits 77 (skipped).
set -euo pipefail
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
if [ "${WK_LONG_TESTS:-0}" != 1 ]; then
  echo "torch_zip64: skipped: set WK_LONG_TESTS=1 to run (writes 2 x 4.3 GB)" >&2
  exit 77
fi
py=/usr/bin/python3
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  echo "torch_zip64: skipped: $py cannot import torch (Debian python3-torch)" >&2
  exit 77
fi
test_bin="$WK_BIN_DIR/../tests/test_pth_write"
[ -x "$test_bin" ] || { echo "torch_zip64: FAIL: $test_bin not built" >&2; exit 1; }
mkdir -p "$WK_TMP"
avail_kb=$(df -Pk "$WK_TMP" | awk 'NR == 2 { print $4 }')
if [ "$avail_kb" -lt $((9 * 1024 * 1024)) ]; then
  echo "torch_zip64: skipped: needs 9 GB free in $WK_TMP, $((avail_kb / 1024)) MB available" >&2
  exit 77
fi
rm -rf "$WK_TMP/wk" "$WK_TMP/torch"
mkdir -p "$WK_TMP/wk" "$WK_TMP/torch"
trap 'rm -rf "$WK_TMP/wk" "$WK_TMP/torch"' EXIT
t0=$(date +%s.%N)
WK_PTH_ZIP64_OUT="$WK_TMP/wk/big.bin" "$test_bin"
t1=$(date +%s.%N)
printf 'torch_zip64: weightkit wrote the file in %.1f s\n' "$(echo "$t1 - $t0" | bc)"
"$py" "$WK_SOURCE_DIR/tests/peer/torch_zip64.py" "$WK_TMP/wk/big.bin" "$WK_TMP/torch/big.bin"
