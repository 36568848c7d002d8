#!/usr/bin/env bash
# weightkit test suite: installs missing Debian packages, then builds and runs
# ctest three times — a normal build (out of tree: $WK_OOT_BUILD, default
# /tmp/weightkit-build-<hash of the source path>; followed by the install checks,
# tests/install/check.sh: install prefix, examples, man pages, .deb), an ASan+UBSan build (build-asan/),
# and a clang build with -fsanitize=float-cast-overflow on top (build-cast/: gcc's
# UBSan does not report out-of-range float -> integer conversions; issue #24 item 1)
# running the unit, malformed and sec_* suites.
#   bash tests/run.sh            all three builds
#   WK_TEST_BUILDS=normal bash tests/run.sh   only the normal build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash tools/install-deps.sh --test
# The real llama.cpp (prebuilt, npm) for the peer tests; installed once, outside the repo.
# Under CI a missing peer is a failure, not a skip.
rc=0; bash tests/peer/setup_llama_cpp.sh >/dev/null || rc=$?
if [[ $rc -ne 0 ]]; then
  if [[ -n "${CI:-}" || $rc -ne 77 ]]; then echo "tests/run.sh: llama.cpp peer setup failed ($rc)" >&2; exit 1; fi
  echo "tests/run.sh: llama.cpp peer unavailable; its tests will be skipped" >&2
fi
jobs=$(nproc)
builds=${WK_TEST_BUILDS:-"normal asan cast"}
status=0
for b in $builds; do
  case $b in
    # out of tree, as a user's build (issue #21): nothing may assume build/ inside the source
    normal) dir=${WK_OOT_BUILD:-${TMPDIR:-/tmp}/weightkit-build-$(printf %s "$root" | sha256sum | cut -c1-12)}
            flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    asan)   dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DWK_SANITIZE=ON) ;;
    cast)   dir=build-cast; flags=(-DCMAKE_BUILD_TYPE=Debug -DWK_SANITIZE=ON
                                   -DCMAKE_C_COMPILER=clang "-DCMAKE_C_FLAGS=-fsanitize=float-cast-overflow") ;;
    *) echo "unknown build $b" >&2; exit 2 ;;
  esac
  tests=()
  if [[ $b == cast ]]; then
    # installed by tools/install-deps.sh --test; under CI a missing clang is a failure
    if ! command -v clang >/dev/null; then
      if [[ -n "${CI:-}" ]]; then echo "tests/run.sh: clang missing for the cast build" >&2; exit 1; fi
      echo "tests/run.sh: clang missing: float-cast-overflow build skipped" >&2; continue
    fi
    tests=(-R 'unit|malformed|sec_')
  fi
  lsan=()
  [[ $b == cast ]] && lsan=(LSAN_OPTIONS="suppressions=$root/tests/lsan-libomp.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}")
  echo "=== $b build ($dir) ==="
  cmake -S . -B "$dir" -DWK_WERROR=ON "${flags[@]}" >/dev/null
  if ! cmake --build "$dir" -j"$jobs" >"$dir/build.log" 2>&1; then
    cat "$dir/build.log"; echo "tests/run.sh: $b build failed" >&2; exit 1
  fi
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  (cd "$dir" && env ${lsan[@]+"${lsan[@]}"} ctest --output-on-failure -j"$jobs" ${tests[@]+"${tests[@]}"}) || status=1
  if [[ $b == normal ]]; then  # cmake --install, examples/, man pages, the .deb (issue #21)
    echo "=== install checks ($dir) ==="
    irc=0; bash tests/install/check.sh "$dir" || irc=$?
    if [[ $irc -eq 77 && -z "${CI:-}" ]]; then echo "install checks skipped" >&2
    elif [[ $irc -ne 0 ]]; then echo "install checks FAILED ($irc)" >&2; status=1; fi
  fi
done
# libFuzzer smoke run of every parser target (clang; regression inputs replayed first).
if [[ " $builds " == *" asan "* ]]; then
  echo "=== fuzz smoke ==="
  frc=0; bash tests/fuzz/smoke.sh "${WK_FUZZ_SMOKE_SECONDS:-30}" || frc=$?
  if [[ $frc -eq 77 && -z "${CI:-}" ]]; then echo "fuzz smoke skipped (no clang/libFuzzer)" >&2
  elif [[ $frc -ne 0 ]]; then echo "fuzz smoke FAILED ($frc)" >&2; status=1; fi
fi
exit $status
