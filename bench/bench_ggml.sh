#!/usr/bin/env bash
# bench_ggml.sh — wk-bench's integer dot kernels vs ggml's own vec_dot (libggml-cpu-haswell.so
# of @node-llama-cpp/linux-x64@3.22.1, dlopen'ed), same process, same blocks: correctness is
# checked first (tests/peer/bench_ggml_peer.c), then a GEMV over ROWS x COLS weights is timed
# for each: single GEMVs, ours and ggml's strictly alternating for REPS x 100 ms, the median of
# each side (so both see the same load and cache state), for every width in BG_COLS; with one
# thread each GEMV is timed by the thread's CPU clock (time descheduled does not count).  Prints
# one Markdown table for docs/benchmarks.md.
#
#   bench/bench_ggml.sh [BUILD_DIR]      (default: build-bench; needs BUILD_DIR/libweightkit.a)
# Env: BG_COLS (a list of row widths, default the LLaMA-family widths
#      "4096 5120 6656 8192 11008 13824 14336 28672"), BG_ROWS (default: 4096 * 4096 / COLS,
#      rounded down to a multiple of 64, so every width times the same number of weights),
#      BG_REPS (7), BG_THREADS (1), BG_TYPES (comma list, default every quant type),
#      BG_ROUNDS (1: sweeps over every width; each cell of the summary is the median of the
#      rounds' ratios, the rounds' own values in brackets), CC, WK_PEERS_DIR, WK_GGML_CPU.
# After the per-width tables: one summary table, type x width, of ggml-time / our-time
# (> 1 = ours faster; **bold** = below 1.0).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$SRC/build-bench}
. "$SRC/tests/peer/_peer_lib.sh"
wk_bench_lib bench_ggml "$BUILD"   # LIB, WK_INC
wk_llama_peer_bench bench_ggml   # LIBDIR, GGML_INCDIR, or exit 1
exe=${TMPDIR:-/tmp}/wk-bench-ggml.$$
out=${TMPDIR:-/tmp}/wk-bench-ggml-out.$$
trap 'rm -f "$exe" "$out"' EXIT
"${CC:-cc}" -std=c11 -O2 -fopenmp "${WK_INC[@]}" -I"$GGML_INCDIR" \
  "$SRC/tests/peer/bench_ggml_peer.c" "$LIB" $(pkg-config --libs libzip libxxhash) \
  -lcrypto -lz -ldl -lm -o "$exe"
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); threads ${BG_THREADS:-1}."
widths=${BG_COLS:-4096 5120 6656 8192 11008 13824 14336 28672}
first=1
for round in $(seq 1 "${BG_ROUNDS:-1}"); do
  [ "${BG_ROUNDS:-1}" = 1 ] || echo "Round $round of ${BG_ROUNDS}, load average $(cut -d' ' -f1-3 /proc/loadavg):"
  for cols in $widths; do
    rows=${BG_ROWS:-$(( (4096 * 4096 / cols) / 64 * 64 ))}
    if [ $first = 1 ]; then hdr=(); first=0; else hdr=(env BG_NOHEADER=1); fi
    "${hdr[@]}" "$exe" "$LIBDIR" time "$rows" "$cols" "${BG_REPS:-7}" "${BG_THREADS:-1}" | grep -v '^all agree$' | tee -a "$out"
  done
done
echo "all agree; load average afterwards $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "Summary: ggml-time / our-time (> 1 = ours faster), median of ${BG_ROUNDS:-1} round(s) of median-of-pairs timings:"
awk -F'|' -v widths="$widths" '
  /^\| [a-z0-9_]+ \| [0-9]+ \|/ {
    t = $2; c = $3; gsub(/ /, "", t); gsub(/ /, "", c); r = $7; gsub(/ /, "", r)
    if (!(t in seen)) { seen[t] = 1; order[++nt] = t }
    n[t, c]++; v[t, c, n[t, c]] = r
  }
  END {
    nw = split(widths, W, " ")
    printf "| type |"; for (i = 1; i <= nw; i++) printf " %s |", W[i]; printf "\n|---|"
    for (i = 1; i <= nw; i++) printf "---|"; printf "\n"
    for (k = 1; k <= nt; k++) {
      t = order[k]; printf "| %s |", t
      for (i = 1; i <= nw; i++) {
        c = W[i]; m = n[t, c]
        if (!m) { printf " - |"; continue }
        for (a = 1; a <= m; a++) s[a] = v[t, c, a] + 0
        for (a = 2; a <= m; a++) for (b = a; b > 1 && s[b - 1] > s[b]; b--) { x = s[b]; s[b] = s[b - 1]; s[b - 1] = x }
        med = m % 2 ? s[(m + 1) / 2] : (s[m / 2] + s[m / 2 + 1]) / 2
        cell = sprintf("%.2f", med); if (med < 1.0) cell = "**" cell "**"
        if (m > 1) { l = ""; for (a = 1; a <= m; a++) l = l (a > 1 ? ", " : "") v[t, c, a]; cell = cell " (" l ")" }
        printf " %s |", cell
      }
      printf "\n"
    }
  }' "$out"
