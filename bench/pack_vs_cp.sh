#!/usr/bin/env bash
# pack_vs_cp.sh — issue #23's wk-pack goal in one command: Meta and HF checkpoints -> GGUF with
# digests against `cp + sync` of the same input bytes, same run, interleaved; wall and CPU time,
# and peak RssAnon / RssFile.  Prints a markdown table (no assertion; ~1-3 minutes).
#
#   bash bench/pack_vs_cp.sh [BUILD_BIN_DIR] [OLD_BIN_DIR]      (default build/bin)
#
# Inputs (made once, kept when BENCH_DIR is set): the synthetic LLaMA-shaped Meta checkpoint of
# bench/pack_model.py (fp16, dim BENCH_DIM=2048, BENCH_LAYERS=4 layers, vocab 32000: 673 MB)
# and the HF directory wk-convert --safetensors makes of it (the same tensors, q/k rows
# permuted: wk-pack un-permutes them, the other tensors pass unchanged).  Page cache warm.
# BENCH_RUNS rounds (default 7), each running every job once in turn, the output removed and
# the disk synced before each:
#   cp+sync  cp INPUT_FILE + sync of the copy (coreutils cp: one copy_file_range; wk-pack
#            fsyncs its output too)
#   wk-pack  wk-pack -q INPUT OUT.gguf (per-tensor XXH3-64 digests, NaN/Inf scan, fsync, rename)
#   old      OLD_BIN_DIR's wk-pack, if given
# Wall and user+sys seconds by /usr/bin/time; the median's ratio to cp+sync of the same input;
# then one more run of each wk-pack under a sampler of /proc/PID/status (every 10 ms): peak
# RssAnon and RssFile, MiB.  The load average before and after is printed: on a shared machine
# read the CPU columns, and the wall ratios only from an idle run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
OLD=${2:-}
# shellcheck source=bench/_rounds.sh
. "$ROOT/bench/_rounds.sh"
PY=/usr/bin/python3
RUNS=${BENCH_RUNS:-7}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wk-pack-vs-cp.XXXXXX")}
KEEP=${BENCH_DIR:+1}
trap 'rm -f "$WORK"/o.* "$WORK"/t; [[ -n $KEEP ]] || rm -rf "$WORK"' EXIT
[[ -x $BIN/wk-pack && -x $BIN/wk-convert ]] || { echo "pack_vs_cp: no $BIN/wk-pack (build first)" >&2; exit 1; }
mkdir -p "$WORK/model"
if [[ ! -f $WORK/model/consolidated.00.pth ]]; then
    echo "pack_vs_cp: writing the Meta checkpoint to $WORK/model" >&2
    "$PY" "$ROOT/bench/pack_model.py" "$WORK/model" "${BENCH_DIM:-2048}" "${BENCH_LAYERS:-4}" "$ROOT"
fi
[[ -f $WORK/hf/model.safetensors ]] || "$BIN/wk-convert" -q --safetensors "$WORK/model" "$WORK/hf"
META_IN=$WORK/model/consolidated.00.pth
HF_IN=$WORK/hf/model.safetensors
cat "$WORK"/model/* "$WORK"/hf/* >/dev/null

job() {   # NAME: the command, output in $WORK/o.*
    case $1 in
        cps-meta) cp "$META_IN" "$WORK/o.pth" && sync "$WORK/o.pth" ;;
        cps-hf) cp "$HF_IN" "$WORK/o.st" && sync "$WORK/o.st" ;;
        new-meta) "$BIN/wk-pack" -q "$WORK/model" "$WORK/o.gguf" ;;
        new-hf) "$BIN/wk-pack" -q "$WORK/hf" "$WORK/o.gguf" ;;
        old-meta) "$OLD/wk-pack" -q "$WORK/model" "$WORK/o.gguf" ;;
        old-hf) "$OLD/wk-pack" -q "$WORK/hf" "$WORK/o.gguf" ;;
    esac
}
JOBS="cps-meta new-meta cps-hf new-hf"
[[ -z $OLD ]] || JOBS="cps-meta new-meta old-meta cps-hf new-hf old-hf"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
bench_rounds "$RUNS" "$JOBS" BIN OLD META_IN HF_IN
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
rm -f "$WORK"/o.*

# peak RssAnon / RssFile (MiB) of a command, sampled every 10 ms (VmHWM dropped)
rss() { "$PY" "$ROOT/bench/peak_rss.py" "$@" | cut -d' ' -f1-2; }

med() { sort -g "$1" | awk -v k=$(( (RUNS + 1) / 2 )) 'NR == k'; }
best() { sort -g "$1" | head -1; }
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "wk-pack -> GGUF with digests vs cp + sync; $(date -u '+%Y-%m-%d %H:%M') UTC, $CPU, $(nproc) cores;" \
     "$RUNS rounds; load average before: $LOAD0, after: $LOAD1"
echo "Meta input $(stat -c %s "$META_IN") bytes, HF input $(stat -c %s "$HF_IN") bytes (+ small files)"
echo
echo "| input | job | median wall s | best wall s | wall / cp+sync | median CPU s (user+sys) | CPU / cp+sync | peak RssAnon MiB | peak RssFile MiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for in in meta hf; do
    label=Meta
    [[ $in == meta ]] || label=HF
    rw=$(med "$WORK/wall.cps-$in")
    rc=$(med "$WORK/cpu.cps-$in")
    for j in cps-$in new-$in ${OLD:+old-$in}; do
        m=$(med "$WORK/wall.$j")
        c=$(med "$WORK/cpu.$j")
        case $j in
            cps-*) name="cp + sync"; mem="| | " ;;
            new-*) name="wk-pack"; rm -f "$WORK"/o.*; read -r a f <<<"$(rss "$BIN/wk-pack" -q "$WORK/${in/meta/model}" "$WORK/o.gguf")"; mem="| $a | $f" ;;
            old-*) name="wk-pack (old)"; rm -f "$WORK"/o.*; read -r a f <<<"$(rss "$OLD/wk-pack" -q "$WORK/${in/meta/model}" "$WORK/o.gguf")"; mem="| $a | $f" ;;
        esac
        printf '| %s | %s | %.3f | %.3f | %.2f | %.3f | %.2f %s |\n' "$label" "$name" "$m" \
            "$(best "$WORK/wall.$j")" "$(echo "$m $rw" | awk '{print $1 / $2}')" "$c" \
            "$(echo "$c $rc" | awk '{print $1 / $2}')" "$mem"
    done
done
