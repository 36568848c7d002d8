#!/usr/bin/env bash
# tests/fuzz/smoke.sh — CI smoke run of every libFuzzer target.
#
#   bash tests/fuzz/smoke.sh [SECONDS]     (default 30 s per target, env WK_FUZZ_SMOKE_SECONDS)
#
# Builds the targets with clang (-fsanitize=fuzzer,address,undefined) in
# build-fuzz/ (override with WK_FUZZ_BUILD_DIR), replays the regression inputs
# of tests/fuzz/regress/, then fuzzes each target for SECONDS, two at a time
# (2 cores: 8 targets x 30 s = 2 minutes of fuzzing, plus the build).  Crash
# artifacts and logs go to <build>/fuzz-smoke/.  The build has ISA-L when
# libisal-dev is installed (tools/install-deps.sh installs it; the default
# engine then), and fuzz_xor compares zlib and ISA-L on every input (the
# differential target); WK_FUZZ_ISAL=1 makes ISA-L required.
# Exit status: 0 clean,
# 1 a regression input or a fuzzing run failed, 77 clang/libFuzzer missing.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${1:-${WK_FUZZ_SMOKE_SECONDS:-30}}
build=${WK_FUZZ_BUILD_DIR:-$root/build-fuzz}
if ! command -v clang >/dev/null; then
  echo "smoke.sh: clang not found (apt-get install clang libclang-rt-14-dev): skipped" >&2
  exit 77
fi
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
     clang -x c -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "smoke.sh: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev): skipped" >&2
  exit 77
fi
exec bash "$root/tests/fuzz/run.sh" --build-dir "$build" --out "$build/fuzz-smoke" \
  --jobs "${WK_FUZZ_JOBS:-2}" "$seconds"
