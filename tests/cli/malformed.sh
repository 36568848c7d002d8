#!/usr/bin/env bash
# tests/cli/malformed.sh — run every malformed case (tests/malformed/cases.tsv)
# against the tool(s) it names and check how the tool fails:
#   - exit status non-zero, not killed by a signal, no hang (60 s);
#   - no sanitizer report (ASan / UBSan / LeakSanitizer) on stderr;
#   - exactly one error line ("<tool>: error: ..."; a closing "N of M files
#     failed" summary is allowed besides), naming the file and containing the
#     expected substring (the problem);
#   - nothing left in the output directory (nor in the working directory);
#   - memory bounded: each run is under `ulimit -v` 2 GiB, except in an ASan
#     build (ASan reserves terabytes of virtual memory; there a huge
#     allocation aborts with a report, which fails the case anyway);
#   - no pickle ever runs code (the marker file of the rce_* cases never appears).
# Rows whose tool is not in the build, or that need the optional ISA-L engine
# (xor-isal) or a Meta base that could not be generated, are counted as "pending".
# Rows marked "nonzero-xfail" are known gaps (documented in docs/security.md):
# a crash still fails, a clean acceptance is reported as XFAIL.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_MALFORMED_ONLY=regex
# restricts the rows (matched against "id<TAB>tool").  Exit 0 = all good, 1 = failure.
set -u
src=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=${WK_BIN_DIR:-$src/build/bin}
tmp=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-malformed.XXXXXX")}
table=$src/tests/malformed/cases.tsv
marker=/tmp/PWNED_weightkit
mkdir -p "$tmp"

if [ ! -f "$table" ]; then echo "malformed.sh: $table missing" >&2; exit 77; fi
if [ ! -x "$bin/wk-inspect" ] && [ ! -x "$bin/wk-xor" ]; then
  echo "malformed.sh: no tools in $bin" >&2; exit 77
fi

# The committed cases must be exactly what the generator writes.
if ! /usr/bin/python3 "$src/tests/malformed/gen.py" --check >"$tmp/gen-check.log" 2>&1; then
  echo "FAIL: tests/malformed/cases differ from what tests/malformed/gen.py writes:"
  sed 's/^/    /' "$tmp/gen-check.log" | head -20
  echo "    (edit gen.py, then run: /usr/bin/python3 tests/malformed/gen.py)"
  gen_stale=1
fi

asan=0
if grep -qs '^WK_SANITIZE:BOOL=ON' "$bin/../CMakeCache.txt"; then asan=1; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
limit_kb=$((2 * 1024 * 1024))

# A tiny valid Meta checkpoint for the convert-params / pack-vocab rows.
meta_base=$tmp/meta-base
rm -rf "$meta_base"
/usr/bin/python3 "$src/tests/malformed/gen.py" --meta-base "$meta_base" >/dev/null 2>&1 || meta_base=""

# built TOOL: 0 if bin/TOOL exists (a partial build runs what it has).
built() { [ -x "$bin/$1" ]; }
# ready MODE FILE: 0 if the tool behind MODE can read FILE's format today.
ready() {
  local mode=$1 file=$2
  case $mode in
    inspect)
      built wk-inspect ;;
    pack) built wk-pack ;;
    pack-vocab) built wk-pack && [ -n "$meta_base" ] ;;
    convert-params) built wk-convert && [ -n "$meta_base" ] ;;
    xor-isal) built wk-xor && "$bin/wk-xor" --version 2>&1 | grep -q 'isa-l' ;;
    xor-*) built wk-xor ;;
    quantize-imatrix) built wk-quantize ;;
    *) return 1 ;;
  esac
}

# run_case MODE FILE ID: run the tool for one row in a fresh directory.  Sets
# $work (the directory), $name (the file name the error must mention), $outdir
# (must stay empty), and writes $work/stdout, $work/stderr, $work/rc.
run_case() {
  local mode=$1 file=$2 id=$3
  work=$tmp/run/$id.$mode
  rm -rf "$work"
  mkdir -p "$work/cwd" "$work/out"
  outdir=$work/out
  local in=$work/in
  mkdir -p "$in"
  local ext=${file##*/}; ext=${ext#*.}
  local cmd=()
  case $mode in
    inspect)
      name=${file##*/}; cp "$file" "$in/$name"
      cmd=("$bin/wk-inspect" "$in/$name") ;;
    pack)
      name=${file##*/}; cp "$file" "$in/$name"
      cmd=("$bin/wk-pack" "$in/$name" "$outdir/out.safetensors") ;;
    pack-vocab)
      name=tokenizer.model; cp -r "$meta_base" "$in/model"; cp "$file" "$in/model/$name"
      cmd=("$bin/wk-pack" "$in/model" "$outdir/out.gguf" --vocab "$in/model/$name") ;;
    convert-params)
      name=params.json; cp -r "$meta_base" "$in/model"; cp "$file" "$in/model/$name"
      rmdir "$outdir"; outdir=$work/out
      cmd=("$bin/wk-convert" "$in/model" "$outdir" --no-tokenizer) ;;
    xor-decode|xor-gzip|xor-zlib|xor-isal)
      name=$id.bin
      mkdir -p "$in/pay" "$in/base"; cp "$file" "$in/pay/$name"
      head -c 4096 /dev/zero | tr '\0' '\125' >"$in/base/$name"
      cmd=("$bin/wk-xor" decode "$outdir" "$in/pay" "$in/base" --no-manifest -j 1 --no-progress)
      [ "$mode" = xor-gzip ] && cmd+=(--gzip)
      [ "$mode" = xor-zlib ] && cmd+=(--inflate zlib)
      [ "$mode" = xor-isal ] && cmd+=(--inflate isal) ;;
    quantize-imatrix)
      name=${file##*/}; cp "$file" "$in/$name"
      cmd=("$bin/wk-quantize" "$src/tests/malformed/cases/imatrix_model.gguf" "$outdir/out.gguf" q4_0
           --imatrix "$in/$name" -q --no-progress) ;;
    xor-verify)
      name=${file##*/}
      mkdir -p "$in/dir"; printf 'x' >"$in/dir/a.bin"; cp "$file" "$in/$name"
      cmd=("$bin/wk-xor" verify "$in/dir" --manifest "$in/$name") ;;
    xor-manifest)
      name=${file##*/}
      mkdir -p "$in/pay" "$in/base"; cp "$file" "$in/$name"
      printf 'hello' | gzip -n >"$in/pay/a.bin"; printf 'base' >"$in/base/a.bin"
      cmd=("$bin/wk-xor" decode "$outdir" "$in/pay" "$in/base" --manifest "$in/$name" -j 1 \
           --no-progress) ;;
  esac
  (
    cd "$work/cwd" || exit 99
    [ $asan = 1 ] || ulimit -v $limit_kb
    exec timeout -k 5 60 "${cmd[@]}"
  ) >"$work/stdout" 2>"$work/stderr" </dev/null
  echo $? >"$work/rc"
}

# check_case ID MODE EXPECT: return 0 if the run is a clean failure; else
# write the problems to $work/problems, one per line, "hard: ..." (crash,
# hang, sanitizer report, leftover file, code executed) or "soft: ..." (the
# input was accepted, or the error line is missing or unclear).
check_case() {
  local id=$1 mode=$2 expect=$3 rc problems=()
  rc=$(cat "$work/rc")
  accepted=0
  if [ "$rc" = 0 ]; then accepted=1; problems+=("soft: exit status 0 (input accepted)"); fi
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then problems+=("hard: timed out (60 s)"); fi
  if [ "$rc" -gt 128 ] && [ "$rc" != 137 ]; then problems+=("hard: killed by signal $((rc - 128))"); fi
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer' \
       "$work/stderr"; then
    problems+=("hard: sanitizer report: $(grep -m1 -E 'SUMMARY|runtime error' "$work/stderr")")
  fi
  local errs n
  errs=$(grep -E '^wk-[a-z]+: error: ' "$work/stderr" | grep -vE ': error: [0-9]+ of [0-9]+ files? failed$')
  n=$(printf '%s' "$errs" | grep -c '')
  if [ "$accepted" = 0 ]; then
    if [ "$n" != 1 ]; then
      problems+=("soft: $n error lines (want exactly 1)")
    else
      case $errs in *"$name"*) ;; *) problems+=("soft: error does not name the file '$name'") ;; esac
      if [ -n "$expect" ]; then
        case $errs in *"$expect"*) ;; *) problems+=("soft: error lacks '$expect'") ;; esac
      fi
    fi
  fi
  local left
  if [ "$accepted" = 1 ]; then  # an accepted input may leave its output, never a temporary
    left=$(find "$work" -name '*.wk-tmp*' 2>/dev/null | head -3 | tr '\n' ' ')
  else
    left=$( { find "$outdir" "$work/cwd" -mindepth 1; find "$work" -name '*.wk-tmp*'; } 2>/dev/null |
            head -3 | tr '\n' ' ')
  fi
  [ -n "$left" ] && problems+=("hard: left behind: $left")
  if [ "$marker" -nt "$stamp" ]; then problems+=("hard: CODE WAS EXECUTED: $marker was touched"); fi
  rm -f "$work/problems"
  [ ${#problems[@]} -eq 0 ] && return 0
  printf '%s\n' "${problems[@]}" >"$work/problems"
  return 1
}

# do_row N ID FILE MODE EXIT EXPECT: run and judge one row ($is_ready: the
# tool can read this format, see ready); the verdict goes to
# $tmp/rows/N ("id<TAB>tool<TAB>result<TAB>detail"), a report to $tmp/rows/N.log.
do_row() {
  local n=$1 id=$2 file=$3 mode=$4 ex=$5 expect=$6 res detail errline
  local path=$src/$file
  if [ "$is_ready" != 1 ]; then
    printf '%s\t%s\tpending\t\n' "$id" "$mode" >"$tmp/rows/$n"; return
  fi
  run_case "$mode" "$path" "$id"
  errline=$(grep -m1 -E '^wk-[a-z]+: error: ' "$work/stderr" | tr '\t' ' ')
  if check_case "$id" "$mode" "$expect"; then
    res=ok; detail=$errline
    [ "$ex" = nonzero-xfail ] && echo "XPASS $id [$mode]: now refused cleanly: $errline" >"$tmp/rows/$n.log"
  elif [ "$ex" = nonzero-xfail ] && ! grep -q '^hard:' "$work/problems"; then
    res=xfail; detail="known gap: $(sed 's/^soft: //' "$work/problems" | tr '\n' ';')"
  else
    res=FAIL; detail=$(tr '\n' ';' <"$work/problems")
    {
      echo "FAIL $id [$mode] $file"
      sed 's/^/    /' "$work/problems"
      head -c 1500 "$work/stderr" | sed 's/^/    stderr: /'
    } >"$tmp/rows/$n.log"
  fi
  printf '%s\t%s\t%s\t%s\n' "$id" "$mode" "$res" "$detail" >"$tmp/rows/$n"
}

# The rce_* pickles would `touch $marker`: it must not change during the run
# (not removed first: another test may be watching it too).
stamp=$tmp/start-stamp
rm -rf "$tmp/rows" "$tmp/run"
touch "$stamp"
sleep 1
mkdir -p "$tmp/rows"
jobs=${WK_MALFORMED_JOBS:-2}
declare -A ready_cache
n=0
running=0
while IFS=$'\t' read -r id file mode ex expect; do
  case $id in ''|'#'*) continue ;; esac
  if [ -n "${WK_MALFORMED_ONLY:-}" ] && ! printf '%s\t%s' "$id" "$mode" | grep -qE "$WK_MALFORMED_ONLY"; then
    continue
  fi
  n=$((n + 1))
  key="$mode|${file##*.}"   # ready() runs the tool's --help: once per tool and format
  if [ -z "${ready_cache[$key]:-}" ]; then
    if ready "$mode" "$src/$file"; then ready_cache[$key]=1; else ready_cache[$key]=0; fi
  fi
  is_ready=${ready_cache[$key]}
  do_row "$n" "$id" "$file" "$mode" "$ex" "$expect" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done <"$table"
wait

results=$tmp/results.tsv
printf 'id\ttool\tresult\tdetail\n' >"$results"
for i in $(seq 1 $n); do
  [ -f "$tmp/rows/$i.log" ] && cat "$tmp/rows/$i.log"
  cat "$tmp/rows/$i" >>"$results"
done
fail=${gen_stale:-0}
if [ "$marker" -nt "$stamp" ]; then echo "FAIL: $marker was touched: a pickle ran code"; fail=1; fi
awk -F'\t' 'NR > 1 && $3 == "FAIL" { bad = 1 } END { exit bad }' "$results" || fail=1

echo "malformed cases by tool (ok / FAIL / xfail / pending):"
awk -F'\t' 'NR > 1 { t[$2] = 1; c[$2, $3]++ }
  END { for (k in t) printf "  %-15s %4d ok  %3d FAIL  %3d xfail  %3d pending\n", k,
        c[k, "ok"], c[k, "FAIL"], c[k, "xfail"], c[k, "pending"] }' "$results" | sort
echo "results: $results ($( [ $asan = 1 ] && echo 'ASan build, no ulimit' || echo "ulimit -v $limit_kb KiB"))"
exit $fail
