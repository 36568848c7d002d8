#!/usr/bin/env bash
# split_bench.sh — wk-pack's GGUF split / merge / metadata edit against `cp + sync` (issue #22).
#
#   bash bench/split_bench.sh [BUILD_BIN_DIR]        (default build/bin)
#
# Writes a synthetic GGUF of BENCH_MB (default 1024) MiB — 64 F16 tensors of non-repeating
# bytes, a 32000-token vocabulary — in $BENCH_DIR (default a temporary directory), then, with a
# warm page cache, BENCH_RUNS (default 5) rounds that run every command once in turn (the disk
# synced before each; median and best of the wall times printed as a Markdown table):
#   cp IN OUT && sync                         the reference: the same bytes copied and synced
#   wk-pack IN s.gguf --split-max-size 300M   split into parts (BENCH_SPLIT changes the size) (fsynced, renamed when all done)
#   wk-pack s-00001-of-0000N.gguf m.gguf      merge the parts back (checked == IN once)
#   wk-pack IN e.gguf --set general.name=...  a metadata edit into a new file
#   wk-pack IN --in-place --special-token ... an in-place edit (header pwrite + fsync)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
PY=/usr/bin/python3
MB=${BENCH_MB:-1024}
RUNS=${BENCH_RUNS:-5}
SPLIT=${BENCH_SPLIT:-300M}
WORK=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wk-split-bench.XXXXXX")}
KEEP=${BENCH_DIR:+1}
trap '[[ -n $KEEP ]] || rm -rf "$WORK"' EXIT
mkdir -p "$WORK"
[[ -x $BIN/wk-pack ]] || { echo "split_bench: no $BIN/wk-pack (build first)" >&2; exit 1; }
cd "$WORK"

if [[ ! -f in.gguf ]]; then
    echo "split_bench: writing a $MB MiB GGUF to $WORK/in.gguf" >&2
    "$PY" - in.gguf "$MB" <<'EOF'
import hashlib, struct, sys
path, mb = sys.argv[1], int(sys.argv[2])
def s(x): b = x.encode(); return struct.pack("<Q", len(b)) + b
n = 64
cols = 4096
rows = mb * (1 << 20) // n // (2 * cols)
kv = s("general.architecture") + struct.pack("<I", 8) + s("llama")
kv += s("general.name") + struct.pack("<I", 8) + s("bench")
toks = [("<t%d>" % i) for i in range(32000)]
kv += s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, len(toks)) + b"".join(s(t) for t in toks)
kv += s("tokenizer.ggml.eos_token_id") + struct.pack("<II", 4, 2)
nb = rows * cols * 2
ti = b"".join(s("blk.%d.w" % i) + struct.pack("<IQQIQ", 2, cols, rows, 1, i * nb) for i in range(n))
h = b"GGUF" + struct.pack("<IQQ", 3, n, 4) + kv + ti
h += b"\0" * (-len(h) % 32)
with open(path, "wb") as f:
    f.write(h)
    block = b"".join(hashlib.sha256(struct.pack("<Q", i)).digest() for i in range(1 << 15))  # 1 MiB
    for i in range(n * nb // len(block)):
        f.write(block[i % 997:] + block[:i % 997])
EOF
fi
size=$(stat -c %s in.gguf)
cat in.gguf >/dev/null

declare -A T
run() {  # run LABEL CMD...
    local label=$1; shift
    sync
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null
    t1=$(date +%s.%N)
    T[$label]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}') "
}
cleanup_outs() { rm -f cp.gguf s-*.gguf m.gguf e.gguf; }
nparts=0
for r in $(seq "$RUNS"); do
    cleanup_outs
    run "cp + sync" bash -c 'cp in.gguf cp.gguf && sync cp.gguf'
    run "split (--split-max-size $SPLIT)" "$BIN/wk-pack" -q in.gguf s.gguf --split-max-size "$SPLIT"
    nparts=$(ls s-*.gguf | wc -l)
    run "merge ($nparts parts)" "$BIN/wk-pack" -q s-00001-of-$(printf %05d "$nparts").gguf m.gguf
    [[ $r != 1 ]] || cmp -s in.gguf m.gguf || { echo "split_bench: merge != input" >&2; exit 1; }
    run "edit into a new file (--set)" "$BIN/wk-pack" -q in.gguf e.gguf --set general.name=str:renamed
    run "edit --in-place (--special-token)" "$BIN/wk-pack" -q e.gguf --in-place --special-token eos=$((r + 2))
done

stats() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f %.3f", m, a[1]}'; }
read -r ref _ <<<"$(echo "${T[cp + sync]}" | stats)"
echo
echo "GGUF of $((size >> 20)) MiB, $RUNS rounds, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| command | median s | best s | GB/s (median) | median / cp+sync |"
echo "|---|---|---|---|---|"
for label in "cp + sync" "split (--split-max-size $SPLIT)" "merge ($nparts parts)" "edit into a new file (--set)" \
             "edit --in-place (--special-token)"; do
    read -r med best <<<"$(echo "${T[$label]}" | stats)"
    awk -v l="$label" -v m="$med" -v b="$best" -v s="$size" -v r="$ref" \
        'BEGIN {printf "| %s | %.3f | %.3f | %.2f | %.2f |\n", l, m, b, s / m / 1e9, m / r}'
done
