#!/usr/bin/env bash
# Peer test: weightkit's quantizers and dequantizers against the real ggml.
#
# Installs (once) the prebuilt llama.cpp of @node-llama-cpp/linux-x64@3.22.1 via
# tests/peer/setup_llama_cpp.sh, compiles tests/peer/ggml_quant_peer.c against its
# libggml-base.so, the matching ggml.h (from the package's gitRelease.bundle) and our
# libweightkit.a, and runs it: for every quant type, rows from random and adversarial
# families quantized by ggml_quantize_chunk (no imatrix) and by our reference kernel,
# SIMD kernel, fused legacy kernel (row prefixes leaving every tail of its 8-block groups)
# and OpenMP driver (1..4 threads) must be byte-identical, and our
# dequantizer must give ggml's floats bit for bit; then the same with importance matrices
# of 7 kinds (ggml_quantize_chunk(..., imatrix) against our weighted kernels, scalar and
# AVX2, and the driver with 1..4 threads).  Prints the counts.
#
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (set by ctest); WK_PEER_ROWS = rows per family
# (default 200); WK_PEERS_DIR (see setup_llama_cpp.sh); CC.
# Exit 0 all equal, 77 skipped (npm/registry unavailable), 1 anything else (loudly).
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:=${TMPDIR:-/tmp}/wk-ggml-quant}"
die() { echo "ggml_quant.sh: FAIL: $*" >&2; exit 1; }
. "$WK_SOURCE_DIR/tests/peer/_peer_lib.sh"
wk_src_includes "$WK_SOURCE_DIR"

wk_llama_peer ggml_quant.sh   # LIBDIR, GGML_INCDIR, WK_GGML_BASE_LINK, or exit 77 / 1
[ -f "$LIBDIR/libggml-base.so" ] || die "no libggml-base.so in '$LIBDIR'"
[ -f "$GGML_INCDIR/ggml.h" ] || die "no ggml.h in '$GGML_INCDIR'"

LIB="$WK_BIN_DIR/../libweightkit.a"
[ -f "$LIB" ] || die "no $LIB (build weightkit first)"
CC=${CC:-cc}
command -v "$CC" >/dev/null || die "no C compiler ($CC)"
# A sanitizer build of the library needs the same flags on the harness.
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi

rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" || die "cannot create $WK_TMP"
exe="$WK_TMP/ggml_quant_peer"
"$CC" -std=c11 -O2 -Wall -Wextra -fopenmp "${san[@]}" \
  "${WK_INC[@]}" -I"$GGML_INCDIR" \
  "$WK_SOURCE_DIR/tests/peer/ggml_quant_peer.c" "$LIB" \
  "${WK_GGML_BASE_LINK[@]}" -lm -o "$exe" \
  || die "cannot compile the harness against $LIBDIR/libggml-base.so"

"$exe" "${WK_PEER_ROWS:-200}" 512 | tee "$WK_TMP/report.txt"
rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] || die "weightkit and ggml differ (details above; report in $WK_TMP/report.txt)"
grep -q '^all equal$' "$WK_TMP/report.txt" || die "harness did not finish"
echo "ggml_quant.sh: ok: byte-identical with libggml-base ($LIBDIR)"
