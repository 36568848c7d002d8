#!/usr/bin/env bash
# convert_llama3_sparse.sh — the streamed Llama 3.x conversion's memory on a real-sized model.
#
#   bash bench/convert_llama3_sparse.sh [BUILD_BIN_DIR] [8B|70B]     (default build/bin, 8B)
#
# Makes a shape-exact Meta checkpoint whose weights are holes (tests/peer/sparse_meta.c:
# 8B = 16.06 GB apparent in one rank, 70B = 141 GB in 8 ranks; a few MB on disk) and runs
# `wk-convert --llama_version 3.1 --no-tokenizer` on it under /usr/bin/time -v: every byte of
# the bf16 safetensors output is produced and written (16 GB / 141 GB of real disk space,
# removed at the end).  Prints wall time, peak RSS and the output sizes; checks the sizes
# against the --dry-run plan.  No assertion on time.  Results: docs/convert.md "Llama 3".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$ROOT/build/bin}
SHAPE=${2:-8B}
LIB=$BIN/../libweightkit.a
[[ -x $BIN/wk-convert && -f $LIB ]] || { echo "convert_llama3_sparse: build weightkit first" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wk-l3sparse-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
. "$ROOT/tests/peer/_peer_lib.sh"
wk_src_includes "$ROOT"
cc -std=c11 -O2 -fopenmp "${WK_INC[@]}" "$ROOT/tests/peer/sparse_meta.c" "$LIB" \
    $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm -o "$WORK/sparse_meta"
mkdir "$WORK/m"
case $SHAPE in
    8B) "$WORK/sparse_meta" "$WORK/m" 4096 32 32 8 14336 1 scaled ;;
    70B) "$WORK/sparse_meta" "$WORK/m" 8192 80 64 8 28672 8 scaled ;;
    *) echo "convert_llama3_sparse: shape 8B or 70B" >&2; exit 1 ;;
esac
echo "input: $(du -sb --apparent-size "$WORK/m" | cut -f1) bytes apparent, $(du -sh "$WORK/m" | cut -f1) on disk"
"$BIN/wk-convert" "$WORK/m" --dry-run --no-tokenizer --llama_version 3.1 |
    awk '$1 ~ /^[0-9]+$/ && $2 != "total" {print $2, $1}' | sort >"$WORK/plan"
/usr/bin/time -v "$BIN/wk-convert" "$WORK/m" "$WORK/out" -q --no-tokenizer --llama_version 3.1 \
    2>"$WORK/time"
(cd "$WORK/out" && for f in *; do echo "$f $(stat -c %s "$f")"; done) | sort >"$WORK/sizes"
cmp -s "$WORK/plan" "$WORK/sizes" && echo "sizes: as planned" || { echo "sizes differ from the plan"; exit 1; }
grep -E "Elapsed|Maximum resident|User time|System time" "$WORK/time"
