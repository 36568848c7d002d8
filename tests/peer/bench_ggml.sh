#!/usr/bin/env bash
# Peer test: wk-bench's integer dot kernels (formats/quant/wk_dot*.c) against ggml's own vec_dot.
#
# Installs (once) the prebuilt llama.cpp of @node-llama-cpp/linux-x64@3.22.1 via
# tests/peer/setup_llama_cpp.sh, compiles tests/peer/bench_ggml_peer.c against our
# libweightkit.a and the matching ggml.h / ggml-cpu.h, and runs it in `check` mode: for
# every quant type the dot of each row with the same quantized activations, by our kernel
# and by ggml's vec_dot from libggml-cpu-haswell.so (dlopen'ed), must agree within 1e-5 of
# sum |w_i a_i| (1e-4 for q4_1/q5_1, whose Q8_1 activations carry an fp16 d*sum); for q2_k,
# q3_k, iq4_nl, iq4_xs the integer stage is also compared bit for bit (unit scales).  No timing
# here; bench/bench_ggml.sh times the two side by side.
#
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (set by ctest); WK_PEERS_DIR; CC; WK_GGML_CPU.
# Exit 0 all agree, 77 skipped (npm/registry unavailable, or CPU without AVX2), 1 otherwise.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:=${TMPDIR:-/tmp}/wk-bench-ggml}"
die() { echo "bench_ggml.sh: FAIL: $*" >&2; exit 1; }

. "$WK_SOURCE_DIR/tests/peer/_peer_lib.sh"
wk_src_includes "$WK_SOURCE_DIR"

grep -qw avx2 /proc/cpuinfo || { echo "bench_ggml.sh: skipped: no AVX2 (haswell backend)" >&2; exit 77; }
wk_llama_peer bench_ggml.sh   # LIBDIR, GGML_INCDIR, or exit 77 / 1
[ -f "$GGML_INCDIR/ggml-cpu.h" ] || die "no ggml-cpu.h in '$GGML_INCDIR'"

LIB="$WK_BIN_DIR/../libweightkit.a"
[ -f "$LIB" ] || die "no $LIB (build weightkit first)"
CC=${CC:-cc}
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi

rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" || die "cannot create $WK_TMP"
exe="$WK_TMP/bench_ggml_peer"
"$CC" -std=c11 -O2 -Wall -Wextra -fopenmp "${san[@]}" \
  "${WK_INC[@]}" -I"$GGML_INCDIR" \
  "$WK_SOURCE_DIR/tests/peer/bench_ggml_peer.c" "$LIB" \
  $(pkg-config --libs libzip libxxhash) -lcrypto -lz -ldl -lm -o "$exe" \
  || die "cannot compile the harness"

# ASan: ggml's libraries are not instrumented; leaks inside them are not ours.
# 4096 columns (no tail), 5120 and 11008 (k-quant rows with tails of 4 and 3 super-blocks).
for cols in 4096 5120 11008; do
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} "$exe" "$LIBDIR" check "${WK_PEER_ROWS:-64}" "$cols" \
    | tee "$WK_TMP/report-$cols.txt"
  rc=${PIPESTATUS[0]}
  [ $rc -eq 0 ] || die "weightkit's dot products and ggml's vec_dot differ at $cols columns (report in $WK_TMP/report-$cols.txt)"
  grep -q '^all agree$' "$WK_TMP/report-$cols.txt" || die "harness did not finish ($cols columns)"
done
echo "bench_ggml.sh: ok: our integer dots agree with ggml's vec_dot ($LIBDIR)"
