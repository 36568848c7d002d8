#!/usr/bin/env bash
# dot_ab.sh — our AVX2 dot kernels at an older revision against the work tree's, A/B in one
# process (bench/dot_ab.c): formats/quant/x86/wk_dot_avx2.c of OLD_REV is compiled with its
# external symbols renamed (old_dot_row_avx2, old_isum_*_avx2) and linked beside
# BUILD_DIR/libweightkit.a; single GEMVs of each alternate, timed by the thread's CPU clock.
# Smaller differences show than in bench_ggml.sh's ratios to ggml (one fewer noisy side).
# The old file must compile against the work tree's headers (wk_dot.h, wk_cpu.h).
#
#   bench/dot_ab.sh OLD_REV [BUILD_DIR]   (default: build-bench; needs BUILD_DIR/libweightkit.a)
# Env: DA_TYPES (comma list, default q2_k), DA_COLS (comma list, default the LLaMA-family widths
#      4096,5120,6656,8192,11008,13824,14336,28672), DA_PAIRS (200), CC.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bench/dot_ab.sh OLD_REV [BUILD_DIR]" >&2; exit 2; }
OLD=$1
BUILD=${2:-$SRC/build-bench}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib dot_ab "$BUILD"   # LIB, WK_INC
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wk-dot-ab.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
git -C "$SRC" show "$OLD:formats/quant/x86/wk_dot_avx2.c" > "$tmp/old_dot_avx2.c"
ren=(-Dwk_dot_row_avx2=old_dot_row_avx2)
for t in q4_0 q4_1 q5_0 q5_1 q8_0 q4_K q5_K q6_K q2_K q3_K iq4_nl iq4_xs; do
    ren+=("-Dwk_isum_${t}_avx2=old_isum_${t}_avx2")
done
# The library's own flags for this file (CMakeLists.txt: -O2 in RelWithDebInfo, no -march).
"${CC:-cc}" -std=c11 -O2 -D_GNU_SOURCE "${WK_INC[@]}" -I"$SRC/formats/quant/internal" \
  -I"$SRC/formats/quant/x86" "${ren[@]}" -c "$tmp/old_dot_avx2.c" -o "$tmp/old_dot_avx2.o"
read -ra pc_libs < <(pkg-config --libs libzip libxxhash)
"${CC:-cc}" -std=c11 -O2 -fopenmp "${WK_INC[@]}" "$SRC/bench/dot_ab.c" "$tmp/old_dot_avx2.o" "$LIB" \
  "${pc_libs[@]}" -lcrypto -lz -ldl -lm -o "$tmp/dot_ab"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); old = $OLD ($(git -C "$SRC" rev-parse --short "$OLD")), new = the work tree's $LIB."
"$tmp/dot_ab" "${DA_TYPES:-q2_k}" "${DA_COLS:-4096,5120,6656,8192,11008,13824,14336,28672}" \
  "${DA_PAIRS:-200}"
echo "load average afterwards $(cut -d' ' -f1-3 /proc/loadavg)."
