#!/usr/bin/env bash
# convert_bench.sh — wk-convert against the Python reference and the I/O floor.
#
#   bash bench/convert_bench.sh [BUILD_BIN_DIR]        (default build/bin)
#
# Makes a synthetic 2-rank Meta checkpoint of >= 2 GB (random fp16; dim 2048, 16 heads,
# 20 layers, FFN 5632, vocab 32000: 2.32 GB; BENCH_LAYERS / BENCH_DIM change it) with
# tests/peer/convert_ref.py synth in $BENCH_DIR (default a temporary directory; set it to keep
# the model between runs), then, in the same run and with a warm page cache (the input is read
# once before each run, the disk synced before each), BENCH_RUNS times (default 3) in turn:
#   tests/peer/convert_ref.py convert   (the torch reference: torch.load of both ranks,
#                                        cat/permute/cast, torch.save; no fsync)
#   wk-convert                          (fsyncs and renames every output file)
#   cp of the input bytes, and cp + sync (the I/O floor)
# each under /usr/bin/time -v (wall time, peak RSS).  Checks that both converters wrote the same
# bytes, then replaces the "## wk-convert" section of docs/benchmarks.md (created if absent)
# with the medians.  Needs Debian's python3-torch.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
PY=/usr/bin/python3
REF=$ROOT/tests/peer/convert_ref.py
LAYERS=${BENCH_LAYERS:-20}
DIM=${BENCH_DIM:-2048}
RUNS=${BENCH_RUNS:-3}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wk-convert-bench.XXXXXX")}
KEEP=${BENCH_DIR:+1}
trap '[[ -n $KEEP ]] && rm -rf "$WORK/out" || rm -rf "$WORK"' EXIT
[[ -x $BIN/wk-convert ]] || { echo "convert_bench: no $BIN/wk-convert (build first)" >&2; exit 1; }
"$PY" -c "import torch" || { echo "convert_bench: needs python3-torch" >&2; exit 1; }
MODEL=$WORK/model-d$DIM-l$LAYERS
if [[ ! -f $MODEL/params.json ]]; then
    echo "convert_bench: writing a synthetic 2-rank checkpoint (dim $DIM, $LAYERS layers) to $MODEL" >&2
    "$PY" "$REF" synth "$MODEL.tmp" --dim "$DIM" --layers "$LAYERS" --heads $((DIM / 128)) \
        --vocab 32000 --ranks 2 --seed 11 --share-layer-storage
    mv "$MODEL.tmp" "$MODEL"
fi
IN_BYTES=$(cat "$MODEL"/consolidated.*.pth | wc -c)
OUT=$WORK/out
rm -rf "$OUT"
mkdir -p "$OUT"

# timed LABEL CMD...: run under /usr/bin/time -v after a warm-up read and a sync; appends
# "LABEL seconds maxrss_kb" to $OUT/times.
timed() {
    local label=$1
    shift
    cat "$MODEL"/consolidated.*.pth >/dev/null
    sync
    /usr/bin/time -v -o "$OUT/time.txt" "$@" >/dev/null
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0;
            for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s}' "$OUT/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
    echo "$label $wall $rss" >>"$OUT/times"
    echo "convert_bench: $label: $wall s, peak RSS $rss KB" >&2
}

for ((i = 1; i <= RUNS; i++)); do
    rm -rf "$OUT/ref" "$OUT/wk" "$OUT/cp"
    timed ref "$PY" "$REF" convert "$MODEL" "$OUT/ref" --no-tokenizer
    timed wk "$BIN/wk-convert" "$MODEL" "$OUT/wk" --no-tokenizer -q --no-progress
    if [[ $i -eq 1 ]]; then
        (cd "$OUT/ref" && sha256sum -- *) >"$OUT/ref.sha"
        (cd "$OUT/wk" && sha256sum -- *) >"$OUT/wk.sha"
        cmp -s "$OUT/ref.sha" "$OUT/wk.sha" || { echo "convert_bench: outputs differ!" >&2; exit 1; }
    fi
    rm -rf "$OUT/ref" "$OUT/wk"
    mkdir -p "$OUT/cp"
    timed cp cp "$MODEL"/consolidated.00.pth "$MODEL"/consolidated.01.pth "$OUT/cp/"
    rm -rf "$OUT/cp"
    mkdir -p "$OUT/cp"
    timed cp+sync sh -c 'cp "$1"/consolidated.0*.pth "$2/" && sync' sh "$MODEL" "$OUT/cp"
    rm -rf "$OUT/cp"
done

"$PY" - "$OUT/times" "$ROOT/docs/benchmarks.md" "$IN_BYTES" "$RUNS" "$DIM" "$LAYERS" <<'EOF'
import datetime, os, re, statistics, subprocess, sys
times, doc, in_bytes, runs, dim, layers = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
rows = {}
for line in open(times):
    label, wall, rss = line.split()
    rows.setdefault(label, []).append((float(wall), int(rss)))
med = {k: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v)) for k, v in rows.items()}
cpu = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True, text=True).stdout.strip()
ncpu = os.cpu_count()
load = open("/proc/loadavg").read().split()[0]
busy = "the machine was shared" if float(load) > 0.5 * ncpu + 0.5 else "nearly idle"
def row(label, name):
    w, r = med[label]
    return "| %s | %.2f | %.0f | %.0f | %.2f |" % (name, w, in_bytes / w / 1e6, r / 1024, w / med["cp+sync"][0])
ref_w, ref_r = med["ref"]
wk_w, wk_r = med["wk"]
sec = f"""## wk-convert

`bench/convert_bench.sh` on {datetime.date.today()}, {cpu}, {ncpu} cores (load average {load} at
the end: {busy}); synthetic 2-rank Meta checkpoint (random fp16, dim {dim},
{layers} layers, vocab 32000, per-layer shared storages as in Meta's sharded files):
{in_bytes} bytes in, one HF `pytorch_model.bin` (+ config files) out. Warm page
cache, disk synced before each run, median of {runs} runs taken in turn (reference, wk-convert,
cp, cp + sync). Both converters wrote byte-identical files (checked). wk-convert fsyncs every
output file and renames the directory; the Python reference does not fsync.

    bash bench/convert_bench.sh            # BENCH_RUNS=3 BENCH_DIR=... to keep the model

| command | seconds | MB/s (input) | peak RSS, MiB | vs cp + sync |
|---|---:|---:|---:|---:|
{row("ref", "tests/peer/convert_ref.py convert (torch 1.13)")}
{row("wk", "wk-convert")}
{row("cp", "cp (no fsync)")}
{row("cp+sync", "cp + sync")}

wk-convert is {ref_w / wk_w:.1f}x faster than the torch reference and uses {wk_r / ref_r * 100:.1f}% of its
peak memory ({wk_r / 1024:.0f} MiB vs {ref_r / 1024:.0f} MiB).
"""
text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
m = re.search(r"^## wk-convert\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[:m.start()] + sec + ("\n" if text[m.end():] else "") + text[m.end():]
else:
    text = text.rstrip("\n") + "\n\n" + sec
open(doc, "w").write(text)
print(sec)
EOF
