#!/usr/bin/env bash
# pack_onepass.sh — wk-pack Meta -> GGUF with digests against `cp + sync`, same run, interleaved
# (issue #23), and the A/B of how unchanged tensor bytes reach the output.
#
#   bash bench/pack_onepass.sh BUILD_BIN_DIR MODEL_DIR [OLD_BIN_DIR]     (BENCH_RUNS=7)
#
# MODEL_DIR: a Meta checkpoint (bench/pack_bench.sh leaves one in $BENCH_DIR/model).  Each round
# runs every job once in turn, output removed and the disk synced before each:
#   cps      cp consolidated.00.pth + sync of the copy (wk-pack fsyncs its output)
#   g        wk-pack -> GGUF, digests (hashed while written, header written last)
#   gnd      wk-pack -> GGUF --no-digest
#   gwrite   as g, but copy_file_range refused (an LD_PRELOAD shim returns ENOSYS): the bytes
#            hashed from the map are then written with write(2) from the map
#   old      OLD_BIN_DIR's wk-pack (a digest pass, then the write pass), if given
# Prints median and best wall seconds, the median's ratio to cp + sync, median user+sys CPU
# seconds, and the load average before and after.  No assertion.
set -euo pipefail

BIN=${1:?usage: pack_onepass.sh BIN MODEL_DIR [OLD_BIN]}
MODEL=${2:?usage: pack_onepass.sh BIN MODEL_DIR [OLD_BIN]}
OLD=${3:-}
# shellcheck source=bench/_rounds.sh
. "$(dirname "$0")/_rounds.sh"
RUNS=${BENCH_RUNS:-7}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wk-onepass.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
IN=$MODEL/consolidated.00.pth
cat > "$WORK/nocfr.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <sys/types.h>
ssize_t copy_file_range(int a, loff_t *b, int c, loff_t *d, size_t n, unsigned f)
{
    (void)a; (void)b; (void)c; (void)d; (void)n; (void)f;
    errno = ENOSYS;
    return -1;
}
EOF
cc -shared -fPIC -O2 -o "$WORK/nocfr.so" "$WORK/nocfr.c"
cat "$MODEL"/* >/dev/null

job() {
    case $1 in
        cps) cp "$IN" "$WORK/o.pth" && sync "$WORK/o.pth" ;;
        g) "$BIN/wk-pack" -q "$MODEL" "$WORK/o.gguf" ;;
        gnd) "$BIN/wk-pack" -q --no-digest "$MODEL" "$WORK/o.gguf" ;;
        gwrite) LD_PRELOAD=$WORK/nocfr.so "$BIN/wk-pack" -q "$MODEL" "$WORK/o.gguf" ;;
        old) "$OLD/wk-pack" -q "$MODEL" "$WORK/o.gguf" ;;
    esac
}
JOBS="cps g gnd gwrite"
[[ -z $OLD ]] || JOBS="$JOBS old"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_rounds "$RUNS" "$JOBS" BIN OLD MODEL IN
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
med() { sort -g "$1" | sed -n "$(( (RUNS + 1) / 2 ))p"; }
ref=$(med "$WORK/wall.cps")
echo "input $(stat -c %s "$IN") bytes; $RUNS rounds; load average before: $LOAD0, after: $LOAD1"
echo
echo "| job | median s | best s | median / cp+sync | median CPU s (user+sys) |"
echo "|---|---:|---:|---:|---:|"
for j in $JOBS; do
    m=$(med "$WORK/wall.$j")
    printf '| %s | %.3f | %.3f | %.2f | %.3f |\n' "$j" "$m" "$(sort -g "$WORK/wall.$j" | head -1)" \
        "$(echo "$m / $ref" | bc -l)" "$(med "$WORK/cpu.$j")"
done
