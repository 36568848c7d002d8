#!/usr/bin/env bash
# tests/fuzz/run.sh — build the libFuzzer targets and run each for a while.
#
#   bash tests/fuzz/run.sh [options] [SECONDS]      (default 60 s per target)
#
# options:
#   --targets "json pickle"  run only these (default: every tests/fuzz/fuzz_*.c)
#   --jobs N                 targets fuzzed at the same time (default 1)
#   --build-dir DIR          clang build dir (default <repo>/build-fuzz)
#   --no-build               use the binaries already in --fuzz-dir
#   --fuzz-dir DIR           where fuzz_<target> binaries are (default BUILD/fuzz)
#   --corpus DIR             keep each target's corpus in DIR/<target> across runs
#                            (default: a temporary directory, removed at the end)
#   --out DIR                logs, crash artifacts and summary.tsv (default BUILD/fuzz-out)
#   --regress-only           only replay the regression inputs
#   --isal                   require the ISA-L engine (-DWK_WITH_ISAL=ON; also env
#                            WK_FUZZ_ISAL=1).  Default: the default build (AUTO: ISA-L
#                            when libisal-dev is installed, as tools/install-deps.sh
#                            does); with ISA-L, fuzz_xor decodes every input with zlib
#                            and ISA-L and compares them (the differential target).
#
# For each target: (1) every file in tests/fuzz/regress/<target>/ is replayed
# once and must run clean; (2) a corpus is seeded from the fixtures
# (tests/fixtures/**, tests/malformed/cases/*, valid files written by
# tests/malformed/gen.py --seeds) and libFuzzer runs for SECONDS with ASan +
# UBSan, leak detection, and malloc/RSS limits (a huge allocation from a
# small input is a finding).  Crashing inputs land in OUT/<target>/ as
# crash-*, leak-*, oom-* or timeout-*: minimize them (fuzz_<t> -minimize_crash=1
# -runs=10000 FILE) and commit the result in tests/fuzz/regress/<target>/.
# A summary (executions, coverage) is printed and written to OUT/summary.tsv.
# Exit status: 0 if every regression input and every run was clean.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds=60
targets=""
jobs=1
build_dir=$root/build-fuzz
fuzz_dir=""
do_build=1
corpus_root=""
out_dir=""
regress_only=0
isal=${WK_FUZZ_ISAL:-0}

while [ $# -gt 0 ]; do
  case $1 in
    --targets) targets=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --fuzz-dir) fuzz_dir=$2; shift 2 ;;
    --corpus) corpus_root=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    --regress-only) regress_only=1; shift ;;
    --isal) isal=1; shift ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    *) seconds=$1; shift ;;
  esac
done
fuzz_dir=${fuzz_dir:-$build_dir/fuzz}
out_dir=${out_dir:-$build_dir/fuzz-out}
case $seconds in ''|*[!0-9]*) echo "run.sh: SECONDS must be a number" >&2; exit 2 ;; esac

if [ -z "$targets" ]; then
  for f in "$root"/tests/fuzz/fuzz_*.c; do
    t=${f##*/fuzz_}; targets="$targets ${t%.c}"
  done
fi

# ---- build ------------------------------------------------------------------
if [ $do_build = 1 ]; then
  if ! command -v clang >/dev/null; then
    echo "run.sh: clang not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 77
  fi
  mkdir -p "$build_dir"
  with_isal=AUTO
  [ "$isal" = 1 ] && with_isal=ON  # explicit either way: the cache would keep an old value
  if ! cmake -S "$root" -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DWK_FUZZ=ON -DWK_SANITIZE=ON -DWK_WITH_ISAL=$with_isal >"$build_dir/configure.log" 2>&1; then
    cat "$build_dir/configure.log" >&2; echo "run.sh: configure failed" >&2; exit 1
  fi
  names=""
  for t in $targets; do names="$names fuzz_$t"; done
  # shellcheck disable=SC2086
  if ! cmake --build "$build_dir" -j"$(nproc)" --target $names >"$build_dir/build.log" 2>&1; then
    tail -40 "$build_dir/build.log" >&2; echo "run.sh: build failed" >&2; exit 1
  fi
fi

mkdir -p "$out_dir"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wk-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
corpus_root=${corpus_root:-$tmp/corpus}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Valid files of every format, written once per run by the malformed generator.
seeds_gen=$tmp/gen-seeds
mkdir -p "$seeds_gen"
/usr/bin/python3 "$root/tests/malformed/gen.py" --seeds "$seeds_gen" >/dev/null 2>&1 ||
  echo "run.sh: note: gen.py --seeds failed; seeding from the fixtures only" >&2

# copy_seeds TARGET DIR: fill DIR with seed inputs for TARGET.  Seeds are
# capped (32 KiB for pickle/pth, whose big fixtures cost ~0.1 s per run under
# ASan, 256 KiB otherwise); larger fixtures add little coverage.
copy_seeds() {
  local t=$1 dir=$2 pat size=-257k
  case $t in pth|pickle|xorcheck) size=-33k ;; esac
  case $t in
    pth)         pat='.*\.\(pth\|pt\|bin\)$\|.*/noext$' ;;
    pickle)      pat='.*\.pkl$' ;;
    json)        pat='.*\.json$' ;;
    manifest)    pat='.*\.sha256$\|.*SHA256SUMS$' ;;
    xor)         pat='.*\.\(gz\|xor\|payload\)$\|.*/xor_[^/]*\.bin$' ;;
    safetensors) pat='.*\.safetensors$' ;;
    xorcheck)    pat='.*\.\(pth\|pt\|bin\|safetensors\)$' ;;
    gguf)        pat='.*\.gguf$' ;;
    spm|tokjson) pat='.*\.model$' ;;
    bpejson)     pat='.*/tokenizer\.json$' ;;
    tokenize)    pat='.*/tokenizers/.*\.txt$' ;;
    imatrix)     pat='.*\.dat$\|.*/imatrix_[^/]*\.gguf$' ;;
    *)           pat='.*\.'"$t"'$' ;;
  esac
  find "$root/tests/fixtures" "$root/tests/malformed/cases" "$seeds_gen/$t" "$root/checksums" \
       -type f -size "$size" -regex "$pat" 2>/dev/null |
    while read -r f; do cp "$f" "$dir/$(printf '%s' "$f" | sha1sum | cut -c1-16)"; done
  # Torch zip fixtures also seed the pickle target with their data.pkl.
  if [ "$t" = pickle ]; then
    find "$root/tests/fixtures" -type f -size -513k \( -name '*.pt' -o -name '*.pth' -o -name '*.bin' \) |
      /usr/bin/python3 -c '
import hashlib, sys, zipfile
out = sys.argv[1]
for path in sys.stdin.read().split("\n"):
    try:
        z = zipfile.ZipFile(path)
        for n in z.namelist():
            if n.endswith("data.pkl"):
                b = z.read(n)
                if len(b) > 32768: continue
                open(out + "/" + hashlib.sha1(b).hexdigest()[:16], "wb").write(b)
    except Exception:
        pass
' "$dir"
  fi
  # JSON: the documents of the vector file, one per seed.
  if [ "$t" = json ] && [ -f "$root/tests/fixtures/json/docs.vec" ]; then
    /usr/bin/python3 - "$root/tests/fixtures/json/docs.vec" "$dir" <<'PY'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
pos = 0
while pos < len(data):
    nl = data.find(b"\n", pos)
    if nl < 0: break
    head = data[pos:nl].split()
    try: n = int(head[-1])
    except (ValueError, IndexError): break
    body = data[nl + 1: nl + 1 + n]
    open(sys.argv[2] + "/" + hashlib.sha1(body).hexdigest()[:16], "wb").write(body)
    pos = nl + 1 + n + 1
PY
  fi
  return 0
}

# fstat FILE KEY: value of "stat::KEY:" in a libFuzzer log (last occurrence).
fstat() { grep -a "^stat::$2:" "$1" | tail -1 | awk '{print $2}'; }

# run_target TARGET: regressions, then fuzzing; writes OUT/TARGET.result.
run_target() {
  local t=$1 bin=$fuzz_dir/fuzz_$t res=$out_dir/$t.result
  local art=$out_dir/$t log=$out_dir/$t.log reg=$root/tests/fuzz/regress/$t
  mkdir -p "$art"
  if [ ! -x "$bin" ]; then
    printf '%s\t-\t-\t-\t-\t-\t-\t-\tnot built\n' "$t" >"$res"; return 1
  fi
  local status=ok
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg" 2>/dev/null)" ]; then
    if ! "$bin" -runs=1 -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 "$reg"/* \
         >"$out_dir/$t.regress.log" 2>&1; then
      status="REGRESSION FAILED (see $out_dir/$t.regress.log)"
    fi
  fi
  if [ $regress_only = 1 ] || [ "$seconds" = 0 ]; then
    printf '%s\t0\t-\t-\t-\t-\t-\t-\t%s\n' "$t" "$status" >"$res"
    [ "$status" = ok ]; return
  fi
  local corpus=$corpus_root/$t seeds=$tmp/seeds-$t
  mkdir -p "$corpus" "$seeds"
  copy_seeds "$t" "$seeds"
  [ -d "$reg" ] && cp "$reg"/* "$seeds"/ 2>/dev/null
  local dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  local t0 t1 rc cpu
  t0=$(date +%s)
  timeout --signal=INT --kill-after=30 $((seconds + 300)) \
    /usr/bin/time -f '%U %S' -o "$out_dir/$t.cpu" \
    "$bin" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536 \
      -artifact_prefix="$art/" "$corpus" "$seeds" >"$log" 2>&1
  rc=$?
  t1=$(date +%s)
  # time(1) writes "Command exited with non-zero status N" before the
  # times when the fuzzer fails: use the last line only.
  cpu=$(tail -n 1 "$out_dir/$t.cpu" 2>/dev/null | awk 'NF == 2 { printf "%d", $1 + $2 + 0.5 }')
  local execs cov ft units
  execs=$(fstat "$log" number_of_executed_units)
  cov=$(grep -aoE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -aoE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  units=$(grep -aoE 'corp: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  if [ $rc -ne 0 ]; then
    local a
    a=$(ls "$art" 2>/dev/null | head -1)
    [ "$status" = ok ] && status="" || status="$status; "
    status="${status}FAILED rc=$rc ${a:+artifact $art/$a} (log $log)"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" $((t1 - t0)) "${cpu:--}" "${execs:--}" \
    "$(fstat "$log" average_exec_per_sec)" "${cov:--}" "${ft:--}" "${units:--}" "$status" >"$res"
  [ "$status" = ok ]
}

failed=0
running=0
for t in $targets; do
  rm -f "$out_dir/$t.result"
  run_target "$t" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

summary=$out_dir/summary.tsv
printf 'target\tseconds\tcpu_s\texecs\texec/s\tcov\tft\tcorpus\tresult\n' >"$summary"
for t in $targets; do
  if [ -f "$out_dir/$t.result" ]; then cat "$out_dir/$t.result" >>"$summary"
  else printf '%s\t-\t-\t-\t-\t-\t-\t-\tno result\n' "$t" >>"$summary"; fi
done
column -t -s $'\t' "$summary" 2>/dev/null || cat "$summary"
awk -F'\t' 'NR > 1 && $9 != "ok" { bad = 1 } END { exit bad }' "$summary" || failed=1
exit $failed
