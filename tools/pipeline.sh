#!/usr/bin/env bash
# weightkit main job: build, then run the whole pipeline on the tiny model
# shipped in tests/fixtures/models/.  Each stage runs only once its tool exists;
# stages not yet implemented are listed as such (never faked).
#   bash tools/pipeline.sh [OUTDIR]      (default OUTDIR: ./pipeline-out)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/pipeline-out}
cd "$root"
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >build/build.log 2>&1 || { cat build/build.log; exit 1; }
bin=$root/build/bin
echo "== weightkit tools =="
for t in "$bin"/wk-*; do "$t" --version; done
rm -rf "$out"; mkdir -p "$out"
fx=$root/tests/fixtures/models
echo "== inspect: Meta checkpoint of the tiny model =="
"$bin/wk-inspect" "$fx/tiny/consolidated.00.pth"
