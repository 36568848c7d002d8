#!/usr/bin/env bash
# weightkit main job: build, then run the whole pipeline on the tiny model
# shipped in tests/fixtures/models/ — the Metharme story in miniature:
#   1. wk-convert  Meta checkpoints (base "tiny" and fine-tune "tiny-ft") -> HF layout
#   2. wk-xor      publisher: encode the fine-tune's HF files against the base's (+ manifest)
#                  user: decode the payloads onto a fresh base conversion, verified by SHA-256
#   3. wk-pack     HF directory -> GGUF (f16) for llama.cpp
#   4. wk-quantize GGUF -> Q4_0 / Q8_0
#   5. wk-bench    fidelity/speed of the formats
# Any failing step stops the job with a non-zero exit (set -e).
#   bash tools/pipeline.sh [OUTDIR]      (default OUTDIR: ./pipeline-out)
#   WK_PIPELINE_BIN=DIR                  use tools already built in DIR (no install, no build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/pipeline-out}
cd "$root"
if [[ -n "${WK_PIPELINE_BIN:-}" ]]; then
  bin=$WK_PIPELINE_BIN          # tools already built (the test suite's outputs check)
else
  bash tools/install-deps.sh
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  mkdir -p build
  cmake --build build -j"$(nproc)" >build/build.log 2>&1 || { cat build/build.log; exit 1; }
  bin=$root/build/bin
fi
fx=$root/tests/fixtures/models
stage() { printf '\n== %s ==\n' "$*"; }

stage "weightkit tools"
for t in "$bin"/wk-*; do "$t" --version | head -1; done
rm -rf "$out"; mkdir -p "$out"

stage "inspect: Meta checkpoint of the tiny model"
"$bin/wk-inspect" "$fx/tiny/consolidated.00.pth" | tail -4

stage "1. convert: Meta -> HF (base and fine-tune), with sha256 of every file"
"$bin/wk-convert" "$fx/tiny" "$out/base-hf" --sha256
"$bin/wk-convert" "$fx/tiny-ft" "$out/ft-hf" --quiet

stage "2a. xor encode (publisher side): payloads + manifest of the fine-tuned files"
"$bin/wk-xor" encode "$out/payload" "$out/ft-hf" "$out/base-hf" --manifest-out "$out/ft.sha256" --quiet
ls -l "$out/payload"

stage "2b. xor decode (user side): a fresh base conversion + payloads -> verified fine-tune"
"$bin/wk-convert" "$fx/tiny" "$out/user-base-hf" --quiet
"$bin/wk-xor" decode "$out/decoded" "$out/payload" "$out/user-base-hf" --manifest "$out/ft.sha256"
"$bin/wk-xor" verify "$out/decoded" --manifest "$out/ft.sha256"

stage "3. pack: HF -> GGUF f16 and safetensors"
"$bin/wk-pack" "$out/decoded" "$out/tiny-ft-f16.gguf" --outtype f16
"$bin/wk-pack" "$out/decoded" "$out/tiny-ft.safetensors"
"$bin/wk-inspect" "$out/tiny-ft-f16.gguf" | tail -3

stage "4. quantize: GGUF f16 -> q4_0, q8_0"
for q in q4_0 q8_0; do "$bin/wk-quantize" "$out/tiny-ft-f16.gguf" "$out/tiny-ft-$q.gguf" "$q"; done

stage "5. bench: fidelity of every format on the tiny model's 2-D tensors, kernel speed"
"$bin/wk-bench" --model "$out/tiny-ft-f16.gguf" --rows 1024 --cols 1024 --reps 3 --seed 1 \
  --json "$out/bench.json" --svg "$out/bench.svg"

stage "done: outputs in $out"
