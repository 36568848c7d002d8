#!/usr/bin/env bash
# pack_bench.sh — wk-pack throughput against the I/O limit, and open time of its outputs.
#
#   bash bench/pack_bench.sh [BUILD_BIN_DIR]        (default build/bin)
#
# Makes a synthetic LLaMA-shaped Meta checkpoint (random fp16; dim 2048, 4 layers, FFN 5632,
# vocab 32000: ~670 MB; BENCH_LAYERS / BENCH_DIM change it) in $BENCH_DIR (default a temporary
# directory), then times, with a warm page cache, in BENCH_RUNS (default 5) rounds that run every
# command once in turn (median and best reported; the disk synced before each run; a shared VM
# disk makes single runs noisy):
#   cp of the same input bytes (+ sync of the copy: wk-pack fsyncs its output)
#   wk-pack Meta -> GGUF (types kept): with digests, --no-digest, --sha256
#   wk-pack Meta -> GGUF F32 (fp16 -> fp32 conversion), Meta -> safetensors, GGUF -> safetensors
#   open time: `wk-pack --list` on each output (mmap + header parse + listing) vs reading all
#   bytes (cat > /dev/null)
# and replaces the "## wk-pack" section of docs/benchmarks.md (created if absent) with a table.
# Needs Debian's python3-torch (to write the checkpoint) and python3-sentencepiece.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
PY=/usr/bin/python3
LAYERS=${BENCH_LAYERS:-4}
DIM=${BENCH_DIM:-2048}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wk-pack-bench.XXXXXX")}
KEEP=${BENCH_DIR:+1}
trap '[[ -n $KEEP ]] || rm -rf "$WORK"' EXIT
mkdir -p "$WORK/model"
[[ -x $BIN/wk-pack ]] || { echo "pack_bench: no $BIN/wk-pack (build first)" >&2; exit 1; }

if [[ ! -f $WORK/model/consolidated.00.pth ]]; then
    echo "pack_bench: writing a synthetic checkpoint (dim $DIM, $LAYERS layers) to $WORK/model" >&2
    "$PY" "$ROOT/bench/pack_model.py" "$WORK/model" "$DIM" "$LAYERS" "$ROOT"
fi
IN=$WORK/model/consolidated.00.pth
SIZE=$(stat -c %s "$IN")
cat "$IN" >/dev/null

now() { date +%s.%N; }
open10() {  # mean time of 10 runs of CMD, seconds
    local a b
    a=$(now)
    for _ in 1 2 3 4 5 6 7 8 9 10; do "$@" >/dev/null 2>&1; done
    b=$(now)
    echo "($b - $a) / 10" | bc -l
}

pk() { "$BIN/wk-pack" -q "$@"; }
# The timed jobs: NAME OUTPUT-TO-REMOVE COMMAND...  Taken in turn, one run of each per round
# (RUNS rounds), so that a burst of load from other users of the machine hits every job alike.
job() {
    case $1 in
        cp)    rm -f "$WORK/copy.pth"; sync; t0=$(now); cp "$IN" "$WORK/copy.pth" ;;
        cps)   rm -f "$WORK/copy.pth"; sync; t0=$(now); cp "$IN" "$WORK/copy.pth" && sync "$WORK/copy.pth" ;;
        g)     rm -f "$WORK/o.gguf"; sync; t0=$(now); pk "$WORK/model" "$WORK/o.gguf" ;;
        gnd)   rm -f "$WORK/o.gguf"; sync; t0=$(now); pk --no-digest "$WORK/model" "$WORK/o.gguf" ;;
        gsha)  rm -f "$WORK/s.gguf" "$WORK/s.gguf.sha256"; sync; t0=$(now); pk --sha256 "$WORK/model" "$WORK/s.gguf" ;;
        g32)   rm -f "$WORK/o32.gguf"; sync; t0=$(now); pk --outtype f32 "$WORK/model" "$WORK/o32.gguf" ;;
        st)    rm -f "$WORK/o.safetensors"; sync; t0=$(now); pk "$WORK/model" "$WORK/o.safetensors" ;;
        g2st)  rm -f "$WORK/g.safetensors"; sync; t0=$(now); pk "$WORK/in.gguf" "$WORK/g.safetensors" ;;
    esac
}
JOBS="cp cps g gnd gsha g32 st g2st"
RUNS=${BENCH_RUNS:-5}
pk "$WORK/model" "$WORK/in.gguf"     # the GGUF input of the GGUF -> safetensors row
cat "$WORK/in.gguf" >/dev/null
rm -f "$WORK"/times.*
echo "pack_bench: input $SIZE bytes; $RUNS rounds of: $JOBS ..." >&2
for _ in $(seq "$RUNS"); do
    for j in $JOBS; do
        job "$j" >/dev/null 2>&1 || { echo "pack_bench: job $j failed" >&2; exit 1; }
        t1=$(now)
        echo "$t1 - $t0" | bc -l >>"$WORK/times.$j"
    done
done
med() { sort -g "$WORK/times.$1" | sed -n "$(( (RUNS + 1) / 2 ))p"; }
best() { sort -g "$WORK/times.$1" | head -1; }
t_cp=$(med cp); t_cps=$(med cps); t_g=$(med g); t_gnd=$(med gnd); t_gsha=$(med gsha)
t_g32=$(med g32); t_st=$(med st); t_g2st=$(med g2st)
o_gguf=$(open10 "$BIN/wk-pack" --list "$WORK/o.gguf")
o_st=$(open10 "$BIN/wk-pack" --list "$WORK/o.safetensors")
o_pth=$(open10 "$BIN/wk-pack" --list "$IN")
r_all=$(open10 cat "$WORK/o.gguf")
o_ver=$(open10 "$BIN/wk-pack" --version)

mbs() { echo "$SIZE / $1 / 1000000" | bc -l | xargs printf '%.0f'; }
ms() { echo "$1 * 1000" | bc -l | xargs printf '%.1f'; }
rel() { echo "$1 / $t_cps" | bc -l | xargs printf '%.2f'; }
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
section=$(cat <<EOF
## wk-pack

    bash bench/pack_bench.sh build/bin        # BENCH_RUNS=$RUNS; BENCH_DIR=... keeps the model

Run on $(date -u +%Y-%m-%d), $CPU, $(nproc) cores.  **The machine was shared** (load average at
the end: $LOAD): other jobs compete for the 2 cores and the disk, so single runs vary by 2x or
more; read the medians, and the best runs for what the code can do.  Synthetic LLaMA-shaped Meta
checkpoint (random fp16, dim $DIM, $LAYERS layers, vocab 32000): $SIZE bytes, warm page cache.
$RUNS rounds, each running every command below once in turn (the reference \`cp\` side by side
with wk-pack), output removed and the disk synced before each run.  wk-pack fsyncs and renames
its output: compare it with "cp + sync".

| operation | median s | best s | MB/s (median) | median vs cp + sync |
|---|---:|---:|---:|---:|
| cp (no fsync; coreutils cp itself copies in the kernel) | $(printf '%.3f' "$t_cp") | $(printf '%.3f' "$(best cp)") | $(mbs "$t_cp") | $(rel "$t_cp") |
| cp + sync | $(printf '%.3f' "$t_cps") | $(printf '%.3f' "$(best cps)") | $(mbs "$t_cps") | $(rel "$t_cps") |
| Meta -> GGUF (fp16 kept, digests) | $(printf '%.3f' "$t_g") | $(printf '%.3f' "$(best g)") | $(mbs "$t_g") | $(rel "$t_g") |
| Meta -> GGUF (fp16 kept, --no-digest) | $(printf '%.3f' "$t_gnd") | $(printf '%.3f' "$(best gnd)") | $(mbs "$t_gnd") | $(rel "$t_gnd") |
| Meta -> GGUF (fp16 kept, digests, --sha256) | $(printf '%.3f' "$t_gsha") | $(printf '%.3f' "$(best gsha)") | $(mbs "$t_gsha") | $(rel "$t_gsha") |
| Meta -> GGUF --outtype f32 (2x bytes out) | $(printf '%.3f' "$t_g32") | $(printf '%.3f' "$(best g32)") | $(mbs "$t_g32") | $(rel "$t_g32") |
| Meta -> safetensors (digests) | $(printf '%.3f' "$t_st") | $(printf '%.3f' "$(best st)") | $(mbs "$t_st") | $(rel "$t_st") |
| GGUF -> safetensors (digests) | $(printf '%.3f' "$t_g2st") | $(printf '%.3f' "$(best g2st)") | $(mbs "$t_g2st") | $(rel "$t_g2st") |

Open time (mean of 10 process runs; \`wk-pack --list\` maps the file, parses and validates the
header and prints the tensor table; a process start alone is \`wk-pack --version\`):

| file | open + list, ms | reading every byte (cat), ms |
|---|---:|---:|
| GGUF output | $(ms "$o_gguf") | $(ms "$r_all") |
| safetensors output | $(ms "$o_st") | |
| the .pth input (zip + pickle) | $(ms "$o_pth") | |
| (process start: --version) | $(ms "$o_ver") | |

MB/s counts input bytes ($SIZE).  Since issue #23 (docs/benchmarks.md "wk-pack: at cp + sync"):
one read of the input — each unchanged tensor's bytes are scanned for NaN/Inf and hashed (XXH3-64,
AVX2) in 4 MiB pieces of the input map, then written from there with write(2) in 256 KiB pieces
ending on 256 KiB multiples; the GGUF header is written first with placeholder digests and again
at the end; every 8 MiB written are handed to the disk at once (sync_file_range), so the final
fsync waits for the tail only.  copy_file_range is kept where the source and output offsets are
equal modulo 2 MiB.  With \`--sha256\` a digest pass comes first (the whole-file hash needs the
final header).  Converted tensors go through a 4 MiB buffer.
EOF
)
DOC=$ROOT/docs/benchmarks.md
[[ -f $DOC ]] || printf '# Benchmarks\n' >"$DOC"
"$PY" - "$DOC" "$section" <<'EOF'
import re, sys
path, section = sys.argv[1], sys.argv[2].rstrip("\n") + "\n"
text = open(path, encoding="utf-8").read()
m = re.search(r"^## wk-pack\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
if m:
    text = text[:m.start()] + section + ("\n" if m.end() < len(text) else "") + text[m.end():]
else:
    text = text.rstrip("\n") + "\n\n" + section
open(path, "w", encoding="utf-8").write(text)
EOF
echo "$section"
