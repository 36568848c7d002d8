#!/usr/bin/env bash
# memory_bench.sh — peak resident memory of every tool, anonymous and file-backed apart
# (issue #23: what `top`, `time -v` and container limits show).
#
#   bash bench/memory_bench.sh [BUILD_BIN_DIR] MODEL_DIR [OLD_BIN_DIR]
#
# MODEL_DIR: a Meta checkpoint (params.json, consolidated.00.pth, tokenizer.model), e.g. the one
# bench/pack_bench.sh leaves in $BENCH_DIR/model.  Runs wk-pack (-> GGUF with digests, -> GGUF
# --sha256, -> safetensors), wk-inspect --verify, wk-quantize (q8_0), wk-convert (-> HF),
# wk-xor encode + decode (base: the HF directory), each under a sampler that reads
# /proc/PID/status every 10 ms: the largest RssAnon and RssFile seen, and VmHWM (the peak of
# their sum, what /usr/bin/time reports as maximum resident set size).  With OLD_BIN_DIR the same
# commands run with those binaries too (before/after).  Prints a markdown table.  No timing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
MODEL=${2:?usage: memory_bench.sh BIN MODEL_DIR [OLD_BIN]}
OLD=${3:-}
PY=/usr/bin/python3
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wk-mem-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# peak RssAnon / RssFile / VmHWM of a command (MiB), sampled every 10 ms
sample() { "$PY" "$ROOT/bench/peak_rss.py" "$@"; }

IN_BYTES=$(du -sb --apparent-size "$MODEL" | cut -f1)
row() {  # LABEL CLEANUP COMMAND (shell strings; $B is the binary directory, new then old)
    local label=$1 pre=$2 cmd=$3 new old=""
    new=$(B=$BIN; eval "$pre"; eval "sample $cmd")
    [[ -z $OLD ]] || old=$(B=$OLD; eval "$pre"; eval "sample $cmd")
    read -r na nf nh <<<"$new"
    if [[ -n $OLD ]]; then
        read -r oa of oh <<<"$old"
        echo "| $label | $na | $nf | $nh | $oa | $of | $oh |"
    else
        echo "| $label | $na | $nf | $nh |"
    fi
}

# inputs the rows need (written with the new binaries, once)
"$BIN/wk-pack" -q "$MODEL" "$WORK/in.gguf"
"$BIN/wk-convert" -q "$MODEL" "$WORK/hf" >/dev/null
cp -r "$WORK/hf" "$WORK/ft"
"$PY" - "$WORK/ft" <<'EOF'
import os, sys   # a "fine-tune": flip one byte in every 4 KiB of each weight file
d = sys.argv[1]
for n in os.listdir(d):
    if n.endswith(".bin") or n.endswith(".safetensors"):
        with open(os.path.join(d, n), "r+b") as f:
            size = os.fstat(f.fileno()).st_size
            for off in range(4096, size, 4096):
                f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
EOF
"$BIN/wk-xor" encode "$WORK/payload" "$WORK/ft" "$WORK/hf" -q >/dev/null

echo "Input: $MODEL, $IN_BYTES bytes.  Peak MiB, sampled every 10 ms from /proc/PID/status."
echo
if [[ -n $OLD ]]; then
    echo "| command | RssAnon | RssFile | VmHWM | before: RssAnon | RssFile | VmHWM |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
else
    echo "| command | RssAnon | RssFile | VmHWM |"
    echo "|---|---:|---:|---:|"
fi
o=$WORK/o
row "wk-pack Meta -> GGUF (digests)" : '$B/wk-pack -q "$MODEL" "$o.gguf"'
row "wk-pack Meta -> GGUF --sha256" : '$B/wk-pack -q --sha256 "$MODEL" "$o.s.gguf"'
row "wk-pack Meta -> safetensors" 'rm -f "$o.safetensors"' '$B/wk-pack -q "$MODEL" "$o.safetensors"'
row "wk-pack GGUF --split-max-size 200M" 'rm -f "$o"-*' '$B/wk-pack -q --split-max-size 200M "$WORK/in.gguf" "$o.gguf"'
row "wk-inspect --verify (GGUF)" : '$B/wk-inspect --verify "$WORK/in.gguf"'
row "wk-quantize q8_0" : '$B/wk-quantize "$WORK/in.gguf" "$o.q8.gguf" q8_0'
row "wk-convert Meta -> HF" 'rm -rf "$o.hf"' '$B/wk-convert -q "$MODEL" "$o.hf"'
row "wk-xor decode (HF base)" 'rm -rf "$o.dec"' '$B/wk-xor decode "$o.dec" "$WORK/payload" "$WORK/hf" -q --no-manifest'
