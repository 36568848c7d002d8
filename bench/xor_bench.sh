#!/usr/bin/env bash
# xor_bench.sh — wk-xor against the xor_codec.py algorithm and plain inflaters,
# on the same synthetic payload set, in the same run.
#
#   bench/xor_bench.sh [BIN_DIR [ALT_BIN_DIR]]   (default: build/bin)
# ALT_BIN_DIR: a second wk-xor build to time as well (e.g. the previous commit's), with its
#   default options.
# Environment: XOR_BENCH_DIR (scratch, default /tmp/wk-xor-bench), XOR_BENCH_RUNS
# (default 3), XOR_BENCH_SHARD_MB (default 96; three shards plus small files),
# XOR_BENCH_ENCODE (default 1; 0 skips the encode timings).
#   XOR_BENCH_CORE=1 bench/xor_bench.sh   (shards of 40 MiB unless XOR_BENCH_SHARD_MB)
# prints only issue #23's two comparisons (multi-file decode against the Python algorithm,
# one file against igzip -dc; each reference that writes also with its outputs fsync'd),
# 9 rounds by default: ~1-2 minutes on an idle 2-core machine, plus ~30 s to make the set
# the first time.
#
# Decode timings are interleaved: each of XOR_BENCH_RUNS rounds runs every command once, in
# the same order, so the references and wk-xor see the same machine load; the tables give
# medians over the rounds and the median of the per-round ratios to the Python algorithm,
# and the load average before and after.  wk-xor fsyncs every output (and renames it into
# place); the Python algorithm does not: it is also timed followed by `sync`.
#
# The set mimics an fp16 XOR release: base = N(0, 0.02) fp16 weights, fine-tuned =
# base + N(0, 1e-3) noise, so payload bytes are XORs of nearby fp16 values; the
# gzip payloads are made by bench/xor_codec_ref.py --encode --compress (Python's
# gzip module, level 9), as real releases are.  Every timing is the median of
# XOR_BENCH_RUNS runs with warm page cache; output goes to the same disk.
# Prints a Markdown table for docs/benchmarks.md.
#
#   XOR_BENCH_META=1 bench/xor_bench.sh [BIN_DIR]
# instead measures `wk-xor decode --base-meta` (issue #10) against the two-step route
# (wk-convert to disk, then wk-xor decode) on a synthetic ~1.1 GB Meta checkpoint (dim
# 2048, 8 layers, vocab 32000, fp16; XOR_BENCH_META_LAYERS changes it) made by
# tests/peer/convert_ref.py synth: wall time and peak RSS (/usr/bin/time -v), median of
# XOR_BENCH_RUNS runs, raw payloads (the fine-tune is a second random model, so the XOR
# does not compress; inflate costs the same in both routes).
#
#   XOR_BENCH_META=detect bench/xor_bench.sh [BIN_DIR]
# instead times the converter-profile detection of --base-meta (issue #23) against a decode
# whose profile is given (--base-profile), interleaved, on a smaller synthetic checkpoint
# (2 layers by default, XOR_BENCH_META_LAYERS; ~0.47 GB): payload "first" is made against
# the default profile (ranked first for every file), payload "tied" against transformers
# 4.32.1, torch-2.1, whose config.json and generation_config.json tie with other version
# strings of the same length and are ranked after them.  Rows: automatic detection, the
# given profile, and the detection with one pass per candidate forced
# (WK_XORMETA_PATCH_CAP=1, the test-only knob: the behaviour before the shared pass).
# Wall and CPU (user+sys) medians, ratio to the given-profile run of the same payload,
# full passes per file from the --json report, load average before and after; 5 rounds
# (XOR_BENCH_RUNS).  About 1.5 min on the shared 2-core machine, plus ~40 s to make the data once.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
# Both --base-meta modes: BIN, PY, D (made, and the working directory), RUNS, L, TOK, and the
# base (seed 11) and fine-tune (seed 12) synthetic Meta checkpoints meta-$L/{base,ft}.
meta_setup() { # DIR_NAME DEFAULT_RUNS DEFAULT_LAYERS [BIN_DIR]
  BIN=$(cd "${4:-$SRC/build/bin}" && pwd)
  PY=/usr/bin/python3
  D=${XOR_BENCH_DIR:-/tmp/wk-xor-bench}/$1
  RUNS=${XOR_BENCH_RUNS:-$2}
  L=${XOR_BENCH_META_LAYERS:-$3}
  TOK=$SRC/tests/fixtures/models/tokenizer.model
  mkdir -p "$D" && cd "$D"
  for m in base:11 ft:12; do
    [ -f "meta-$L/${m%%:*}/params.json" ] && continue
    "$PY" "$SRC/tests/peer/convert_ref.py" synth "meta-$L/${m%%:*}" --dim 2048 --layers "$L" \
      --heads 16 --vocab 32000 --seed "${m##*:}" >&2
  done
}
if [ "${XOR_BENCH_META:-}" = detect ]; then
  meta_setup detect 5 2 "${1:-}"
  # payload sets: NAME transformers-version torch-version
  for st in "first 4.28.0.dev0 1.13" "tied 4.32.1 2.1"; do
    read -r nm tv tt <<<"$st"
    [ -f "pay-$L-$nm.ok" ] && continue
    rm -rf hf-base hf-ft "pay-$L-$nm" "pay-$L-$nm.tmp"
    for w in base ft; do
      "$BIN/wk-convert" "meta-$L/$w" "hf-$w" --tokenizer "$TOK" -q --no-progress \
        --transformers-version "$tv" --torch-version "$tt"
    done
    "$BIN/wk-xor" encode "pay-$L-$nm.tmp" hf-ft hf-base --raw -q --no-progress \
      --manifest-out "pay-$L-$nm.sha256" >/dev/null
    mv "pay-$L-$nm.tmp" "pay-$L-$nm" && touch "pay-$L-$nm.ok"
    rm -rf hf-base hf-ft
  done
  pay_b=$(find "pay-$L-first" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  p_first="transformers 4.28.0.dev0, torch-1.13"
  p_tied="transformers 4.32.1, torch-2.1"
  # reference outputs: the given profile's decodes (verified by the manifest)
  for nm in first tied; do
    pv=p_$nm
    rm -rf "ref-$nm"
    "$BIN/wk-xor" decode "ref-$nm" "pay-$L-$nm" --base-meta "meta-$L/base" --tokenizer "$TOK" \
      --manifest "pay-$L-$nm.sha256" -q --no-progress --base-profile "${!pv}"
  done
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  # run KEY PAYLOAD [VAR=VALUE...] [wk-xor options]: "KEY wall user sys" appended to
  # times; the --json report kept as KEY.json; the output compared with ref-PAYLOAD
  run() {
    local key=$1 nm=$2; shift 2
    local envs=()
    while [ $# -gt 0 ] && [[ $1 == *=* ]]; do envs+=("$1"); shift; done
    rm -rf out
    cat "meta-$L"/base/*.pth "pay-$L-$nm"/* >/dev/null
    env "${envs[@]}" /usr/bin/time -f '%e %U %S' -o time.txt "$BIN/wk-xor" decode out \
      "pay-$L-$nm" --base-meta "meta-$L/base" --tokenizer "$TOK" \
      --manifest "pay-$L-$nm.sha256" --no-progress --json "$@" >"$key.json"
    echo "$key $(cat time.txt)" >>times
    for f in "ref-$nm"/*; do
      cmp -s "$f" "out/${f##*/}" || { echo "xor_bench: $key: ${f##*/} differs" >&2; exit 1; }
    done
  }
  rm -f times
  cmds=(first-auto first-given tied-auto tied-given tied-solo)
  one() {
    case $1 in
    first-auto) run first-auto first ;;
    first-given) run first-given first --base-profile "$p_first" ;;
    tied-auto) run tied-auto tied ;;
    tied-given) run tied-given tied --base-profile "$p_tied" ;;
    tied-solo) run tied-solo tied WK_XORMETA_PATCH_CAP=1 ;;
    esac
  }
  for ((i = 0; i < RUNS; i++)); do  # each round starts one command later: no order effect
    for ((j = 0; j < ${#cmds[@]}; j++)); do one "${cmds[(i + j) % ${#cmds[@]}]}"; done
  done
  rm -rf out ref-first ref-tied
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  med() { awk -v k="$1" '$1 == k {print $2}' times | sort -g |
          awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'; }
  cpu() { awk -v k="$1" '$1 == k {print $3 + $4}' times | sort -g |
          awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)]}'; }
  ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
  passes() {
    "$PY" - "$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
out = []
for f in r["files"]:
    b = f.get("base_profile")
    if b and (b["full_passes"] > 1 or b.get("hashed_alongside")):
        out.append("%s %d%s" % (f["name"], b["full_passes"],
                   " (+%d hashed alongside)" % b["hashed_alongside"] if b.get("hashed_alongside") else ""))
print(", ".join(out) or "none (1 per file)")
PY
  }
  gb() { echo "$1 / 1000000000" | bc -l | xargs printf '%.2f'; }
  row() {  # KEY GIVEN_KEY LABEL
    local w c gw gc
    w=$(med "$1"); c=$(cpu "$1"); gw=$(med "$2"); gc=$(cpu "$2")
    echo "| $3 | $w | $c | $(ratio "$w" "$gw") | $(ratio "$c" "$gc") | $(passes "$1") |"
  }
  cat <<EOF
Synthetic Meta checkpoint: dim 2048, $L layers, vocab 32000, fp16 (\`tests/peer/convert_ref.py
synth\`); raw payload set $(gb "$pay_b") GB, 7 files; $(nproc) cores; median of $RUNS interleaved
rounds (each round starts one command later), warm page cache; every output fsync'd and
compared with the given-profile decode.
Load average before: $load0; after: $load1.
Command: \`XOR_BENCH_META=detect bench/xor_bench.sh\`.

| run | wall s | CPU s (user+sys) | wall / given | CPU / given | files with more than one pass: full passes |
|---|---:|---:|---:|---:|---|
$(row first-auto first-given "payload *first* (default profile): \`--base-meta\`, automatic")
$(row first-given first-given "payload *first*: \`--base-profile '$p_first'\`")
$(row tied-auto tied-given "payload *tied* (4.32.1, torch-2.1): \`--base-meta\`, automatic")
$(row tied-given tied-given "payload *tied*: \`--base-profile '$p_tied'\`")
$(row tied-solo tied-given "payload *tied*, one pass per candidate forced (\`WK_XORMETA_PATCH_CAP=1\`: the old way)")
EOF
  exit 0
fi
if [ -n "${XOR_BENCH_META:-}" ]; then
  meta_setup meta 3 8 "${1:-}"
  if [ ! -f "pay-$L.ok" ]; then
    rm -rf hf-base hf-ft "pay-$L" "pay-$L.tmp"
    "$BIN/wk-convert" "meta-$L/base" hf-base --tokenizer "$TOK" -q --no-progress
    "$BIN/wk-convert" "meta-$L/ft" hf-ft --tokenizer "$TOK" -q --no-progress
    "$BIN/wk-xor" encode "pay-$L.tmp" hf-ft hf-base --raw -q --no-progress \
      --manifest-out ft.sha256 >/dev/null
    mv "pay-$L.tmp" "pay-$L" && mv ft.sha256 "pay-$L.sha256"
    touch "pay-$L.ok"
    rm -rf hf-base hf-ft
  fi
  model_b=$(cat "meta-$L"/base/*.pth | wc -c)
  pay_b=$(find "pay-$L" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
  # timed KEY CMD...: "KEY wall_s maxrss_kb" appended to times
  timed() {
    local key=$1; shift
    cat "meta-$L"/base/*.pth "pay-$L"/* >/dev/null; sync
    /usr/bin/time -v -o time.txt "$@" >/dev/null
    awk -F': ' -v k="$key" '/Elapsed \(wall clock\)/ {n = split($2, a, ":"); s = 0;
      for (i = 1; i <= n; i++) s = s * 60 + a[i]; w = s}
      /Maximum resident set size/ {r = $2} END {print k, w, r}' time.txt >>times
  }
  rm -f times
  for ((i = 1; i <= RUNS; i++)); do
    rm -rf out1 out2 hf2
    timed one "$BIN/wk-xor" decode out1 "pay-$L" --base-meta "meta-$L/base" --tokenizer "$TOK" \
      --manifest "pay-$L.sha256" -q --no-progress
    timed two sh -c '"$1/wk-convert" "$2" hf2 --tokenizer "$3" -q --no-progress &&
      "$1/wk-xor" decode out2 "$4" hf2 --manifest "$4.sha256" -q --no-progress' \
      sh "$BIN" "meta-$L/base" "$TOK" "pay-$L"
    timed conv "$BIN/wk-convert" "meta-$L/base" hf3 --tokenizer "$TOK" -q --no-progress
    rm -rf hf3
  done
  for f in out1/*; do cmp -s "$f" "out2/${f##*/}" || { echo "xor_bench: routes differ on $f" >&2; exit 1; }; done
  rm -rf out1 out2 hf2
  med() { awk -v k="$1" -v c="$2" '$1 == k {print $c}' times | sort -g |
          awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
  mb() { echo "$(med "$1" 3) / 1024" | bc -l | xargs printf '%.0f'; }
  gb() { echo "$1 / 1000000000" | bc -l | xargs printf '%.2f'; }
  cat <<EOF
Synthetic Meta checkpoint: dim 2048, $L layers, vocab 32000, fp16, $(gb "$model_b") GB
(\`tests/peer/convert_ref.py synth\`); raw payload set $(gb "$pay_b") GB; $(nproc) cores, shared
machine; median of $RUNS runs, warm page cache; every output fsync'd.
Command: \`XOR_BENCH_META=1 bench/xor_bench.sh\`.

| route | wall s | peak RSS MB | HF base on disk |
|---|---:|---:|---|
| one step: \`wk-xor decode OUT PAY --base-meta META --manifest M\` | $(med one 2) | $(mb one) | none |
| two steps: \`wk-convert META HF && wk-xor decode OUT PAY HF --manifest M\` | $(med two 2) | $(mb two) (larger of the two) | $(gb "$model_b") GB |
| (the wk-convert step alone) | $(med conv 2) | $(mb conv) | |
EOF
  exit 0
fi
BIN=$(cd "${1:-$SRC/build/bin}" && pwd)
W=$BIN/wk-xor
ALT=${2:+$(cd "$2" && pwd)}
WA=${ALT:+$ALT/wk-xor}
PY=/usr/bin/python3
REF=$SRC/bench/xor_codec_ref.py
D=${XOR_BENCH_DIR:-/tmp/wk-xor-bench}
RUNS=${XOR_BENCH_RUNS:-3}
SHARD_MB=${XOR_BENCH_SHARD_MB:-$([ -n "${XOR_BENCH_CORE:-}" ] && echo 40 || echo 96)}
[ -x "$W" ] || { echo "xor_bench: no $W (build first)" >&2; exit 1; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "xor_bench: needs $PY with numpy" >&2; exit 1; }
mkdir -p "$D" && cd "$D"

# ---- data set (made once, reused while its parameters match) ---------------
stamp="shard_mb=$SHARD_MB v1"
if [ "$(cat stamp 2>/dev/null)" != "$stamp" ]; then
  rm -rf ft base pay stamp
  mkdir -p ft base
  SHARD_MB=$SHARD_MB "$PY" - <<'EOF'
import numpy as np, os, json
n = int(os.environ["SHARD_MB"]) * (1 << 20) // 2
for k in range(3):
    rng = np.random.default_rng(100 + k)
    b = (rng.standard_normal(n, dtype=np.float32) * 0.02).astype(np.float16)
    f = (b.astype(np.float32) + rng.standard_normal(n, dtype=np.float32) * 1e-3).astype(np.float16)
    name = f"pytorch_model-0000{k + 1}-of-00003.bin"
    b.tofile(f"base/{name}"); f.tofile(f"ft/{name}")
for name, ft, base in [("config.json", {"hidden_size": 5120, "torch_dtype": "float16"},
                        {"hidden_size": 5120, "torch_dtype": "float16", "model_type": "llama"}),
                       ("tokenizer_config.json", {"model_max_length": 2048}, {"model_max_length": 1e30})]:
    json.dump(ft, open(f"ft/{name}", "w")); json.dump(base, open(f"base/{name}", "w"))
open("ft/added_tokens.json", "w").write('{"<pad>": 32000}')
EOF
  echo "xor_bench: making payloads with the Python algorithm (gzip level 9)..." >&2
  t0=$(date +%s.%N)
  "$PY" "$REF" pay ft base --encode --compress > /dev/null
  t1=$(date +%s.%N)
  echo "py_encode_s=$(echo "$t1 - $t0" | bc)" > py_encode
  (cd ft && sha256sum -- * > ../ft.sha256)
  echo "$stamp" > stamp
fi
raw_mb=$(du -sb ft | awk '{printf "%.1f", $1 / 1048576}')
pay_mb=$(du -sb pay | awk '{printf "%.1f", $1 / 1048576}')
big=pytorch_model-00001-of-00003.bin
big_mb=$(stat -c %s "ft/$big" | awk '{printf "%.1f", $1 / 1048576}')
# hard links (wk-xor refuses payloads that are symbolic links)
rm -rf single-pay single-base && mkdir -p single-pay single-base &&
  ln "$D/pay/$big" single-pay/ && ln "$D/base/$big" single-base/
grep " $big\$" ft.sha256 > single.sha256

# ---- issue #23 summary (XOR_BENCH_CORE=1): the two goals, one short table ----
if [ -n "${XOR_BENCH_CORE:-}" ]; then
  RUNS=${XOR_BENCH_RUNS:-9}
  sb=single-pay/$big
  # the references that write are also timed with their outputs fsync'd (coreutils
  # `sync FILE... DIR` fsyncs just those); wk-xor fsyncs each output and its directory
  K=(wk py py_sync s_wk s_igz s_igz_file s_igz_sync s_igz_sha)
  declare -A C=(
    [wk]="'$W' decode out pay base --manifest ft.sha256 -q"
    [py]="'$PY' '$REF' out pay base --compress"
    [py_sync]="'$PY' '$REF' out pay base --compress && sync out/* out"
    [s_wk]="'$W' decode out single-pay single-base --manifest single.sha256 -q"
    [s_igz]="igzip -dc < $sb > /dev/null"
    [s_igz_file]="mkdir out && igzip -dc < $sb > out/$big"
    [s_igz_sync]="mkdir out && igzip -dc < $sb > out/$big && sync out/$big out"
    [s_igz_sha]="igzip -dc < $sb | openssl dgst -sha256 > /dev/null")
  command -v igzip > /dev/null && command -v openssl > /dev/null ||
    { echo "xor_bench: XOR_BENCH_CORE needs igzip and openssl" >&2; exit 1; }
  declare -A RW RC
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  for ((i = 0; i < RUNS; i++)); do
    for k in "${K[@]}"; do
      rm -rf out
      /usr/bin/time -f '%e %U %S' -o t.txt bash -c "${C[$k]}" > /dev/null 2> err.txt ||
        { cat err.txt >&2; echo "xor_bench: $k failed" >&2; exit 1; }
      read -r e u s < <(tail -1 t.txt)
      RW[$k]+="$e "; RC[$k]+="$(echo "$u + $s" | bc) "
    done
    echo "  round $((i + 1))/$RUNS (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  done
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
  ratio() {  # median over the rounds of wall($1) / wall($2), same round
    local -a a b; read -r -a a <<<"${RW[$1]}"; read -r -a b <<<"${RW[$2]}"
    for ((i = 0; i < RUNS; i++)); do echo "${a[$i]} / ${b[$i]}" | bc -l; done | tr '\n' ' ' | median |
      xargs printf '%.2f'
  }
  r() { printf '| %s | %s | %.2f | %.2f | %s |\n' "$2" "$3" "$(echo "${RW[$1]}" | median)" \
          "$(echo "${RC[$1]}" | median)" "$4"; }
  cat <<EOF

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before: $load0, after: $load1.
wk-xor $("$W" --version | sed -n 's/^inflate: /(inflate: /p')); $(igzip --version 2>&1 | head -1); $("$PY" -c 'import numpy, sys, zlib; print(f"Python {sys.version.split()[0]}, numpy {numpy.__version__}, zlib {zlib.ZLIB_RUNTIME_VERSION}")').
Multi-file set: 3 fp16 shards of $big_mb MiB + 3 small JSON files = $raw_mb MiB decoded from $pay_mb MiB of
gzip level-9 payloads; single file: one $big_mb MiB shard.  $RUNS interleaved rounds, medians, warm page
cache; ratio = median over the rounds of (reference wall ÷ wk-xor wall), same round (> 1: wk-xor faster).
Command: \`XOR_BENCH_CORE=1 XOR_BENCH_SHARD_MB=$SHARD_MB bench/xor_bench.sh\`.

| work | command | wall s | CPU s (user+sys) | ref ÷ wk-xor |
|---|---|---:|---:|---:|
$(r wk multi "wk-xor decode (SHA-256 verified against the manifest, every output fsync'd)" -)
$(r py multi "xor_codec.py algorithm (no verification, no fsync)" "$(ratio py wk)")
$(r py_sync multi "xor_codec.py algorithm, then \`sync\` of its outputs (fsync'd)" "$(ratio py_sync wk)")
$(r s_wk single "wk-xor decode (inflate, XOR, SHA-256, write, fsync)" -)
$(r s_igz single "\`igzip -dc > /dev/null\` (inflate only, nothing written)" "$(ratio s_igz s_wk)")
$(r s_igz_file single "\`igzip -dc > FILE\` (no fsync)" "$(ratio s_igz_file s_wk)")
$(r s_igz_sync single "\`igzip -dc > FILE && sync FILE DIR\` (fsync'd)" "$(ratio s_igz_sync s_wk)")
$(r s_igz_sha single "\`igzip -dc \\| openssl dgst -sha256\` (inflate + SHA-256, nothing written)" "$(ratio s_igz_sha s_wk)")
EOF
  exit 0
fi

# ---- timing ------------------------------------------------------------------
# Commands are registered with cmd KEY ARGV..., then run in RUNS interleaved rounds.
declare -A WALL CPU CMDS RATIO RUNW RUNC
KEYS=()
cmd() { local k=$1; shift; KEYS+=("$k"); CMDS[$k]=$(printf '%q ' "$@"); }
inflate_all() { local tool=$1 f; for f in pay/*; do $tool -dc < "$f" > /dev/null 2>&1 || true; done; }
export -f inflate_all
have_pigz=0; command -v pigz > /dev/null && have_pigz=1
have_igzip=0; command -v igzip > /dev/null && have_igzip=1
have_ossl=0; command -v openssl > /dev/null && have_ossl=1

cmd py      "$PY" "$REF" out pay base --compress
cmd py_sync bash -c "'$PY' '$REF' out pay base --compress && sync"
cmd py_sum  bash -c "'$PY' '$REF' out pay base --compress && cd out && sha256sum -c --quiet ../ft.sha256"
cmd wk      "$W" decode out pay base --manifest ft.sha256 -q
cmd wk_j2   "$W" decode out pay base --manifest ft.sha256 -j2 -q
cmd wk_j1   "$W" decode out pay base --manifest ft.sha256 -j1 -q
cmd wk_np   "$W" decode out pay base --manifest ft.sha256 -q --no-pipeline
cmd wk_zlib "$W" decode out pay base --manifest ft.sha256 -q --inflate zlib
[ -n "$WA" ] && cmd wk_alt "$WA" decode out pay base --manifest ft.sha256 -q
[ -n "$WA" ] && cmd wk_alt_j1 "$WA" decode out pay base --manifest ft.sha256 -q -j1
cmd gzip    bash -c "inflate_all gzip"
[ $have_pigz = 1 ] && cmd pigz bash -c "inflate_all pigz"
[ $have_igzip = 1 ] && cmd igzip bash -c "inflate_all igzip"
cmd s_wk    "$W" decode out single-pay single-base --manifest single.sha256 -q
cmd s_wk_np "$W" decode out single-pay single-base --manifest single.sha256 -q --no-pipeline
[ -n "$WA" ] && cmd s_alt "$WA" decode out single-pay single-base --manifest single.sha256 -q
[ $have_igzip = 1 ] && cmd s_igzip bash -c "igzip -dc < pay/$big > /dev/null"
[ $have_igzip = 1 ] && [ $have_ossl = 1 ] && cmd s_igzip_sha bash -c "igzip -dc < pay/$big | openssl dgst -sha256 > /dev/null"
[ $have_pigz = 1 ] && cmd s_pigz bash -c "pigz -dc < pay/$big > /dev/null"
cmd s_py    bash -c "mkdir -p out && '$PY' '$REF' out single-pay single-base --compress"

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "xor_bench: $RUNS interleaved rounds; set: $raw_mb MiB decoded, $pay_mb MiB of gzip payloads; load $load0" >&2
for ((i = 0; i < RUNS; i++)); do
  for k in "${KEYS[@]}"; do
    rm -rf out
    eval "/usr/bin/time -f '%e %U %S' -o t.txt ${CMDS[$k]}" > /dev/null 2> err.txt ||
      { cat err.txt >&2; echo "xor_bench: $k failed" >&2; exit 1; }
    read -r e u s < <(tail -1 t.txt)
    RUNW[$k]+="$e "; RUNC[$k]+="$(echo "$u + $s" | bc) "
  done
  echo "  round $((i + 1)) done (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
for k in "${KEYS[@]}"; do
  WALL[$k]=$(echo "${RUNW[$k]}" | median); CPU[$k]=$(echo "${RUNC[$k]}" | median)
  ref=py; [[ $k == s_* ]] && ref=s_py
  read -r -a a <<<"${RUNW[$ref]}"; read -r -a b <<<"${RUNW[$k]}"
  RATIO[$k]=$(for ((i = 0; i < RUNS; i++)); do echo "${a[$i]} / ${b[$i]}" | bc -l; done | tr '\n' ' ' | median)
  echo "  $k: wall ${WALL[$k]} s (runs: ${RUNW[$k]}), cpu ${CPU[$k]} s, ref/this ${RATIO[$k]}" >&2
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# encode (not interleaved; XOR_BENCH_ENCODE=0 skips it)
timeit() {
  local key=$1; shift
  local walls="" cpus="" i
  for ((i = 0; i < RUNS; i++)); do
    rm -rf out
    /usr/bin/time -f "%e %U %S" -o t.txt "$@" > /dev/null 2> err.txt || { cat err.txt >&2; echo "xor_bench: $key failed" >&2; exit 1; }
    read -r e u s < <(tail -1 t.txt)
    walls+="$e "; cpus+="$(echo "$u + $s" | bc) "
  done
  WALL[$key]=$(echo "$walls" | median); CPU[$key]=$(echo "$cpus" | median)
}
enc=${XOR_BENCH_ENCODE:-1}
[ "$enc" = 1 ] && timeit enc "$W" encode out ft base -q
[ "$enc" = 1 ] && timeit enc1 "$W" encode out ft base -q --level 1

# ---- report --------------------------------------------------------------------
row() {  # key, label, MiB decoded
  local k=$1 label=$2 mb=$3
  printf '| %s | %s | %s | %.0f | %.2f |\n' "$label" "${WALL[$k]}" "${CPU[$k]}" \
    "$(echo "$mb / ${WALL[$k]}" | bc -l)" "${RATIO[$k]}"
}
erow() {
  local k=$1 label=$2 mb=$3
  printf '| %s | %s | %s | %.0f | %s |\n' "$label" "${WALL[$k]}" "${CPU[$k]}" \
    "$(echo "$mb / ${WALL[$k]}" | bc -l)" "$(echo "${WALL[$k]} / ${WALL[enc]}" | bc -l | xargs printf '%.2f')"
}
cat <<EOF

wk-xor: $("$W" --version | sed -n 's/^inflate: /inflate engines: /p').
Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average before: $load0, after: $load1.
$(zlib_v=$("$PY" -c 'import zlib; print(zlib.ZLIB_RUNTIME_VERSION)'); echo "zlib $zlib_v"), $("$PY" -c 'import numpy, sys; print(f"numpy {numpy.__version__}, Python {sys.version.split()[0]}")').
Set: 3 fp16 shards of $big_mb MiB + 3 small JSON files = $raw_mb MiB decoded, $pay_mb MiB gzip payloads
(made by the Python algorithm at gzip level 9).  $RUNS interleaved rounds, medians, warm cache.
wk-xor fsyncs each output before renaming it; the Python algorithm does not (see its "+ sync" row).

Multi-file decode (wall s, CPU s = user+sys, MiB/s of decoded output; last column: median over
the rounds of the Python algorithm's wall time / this command's, same round):

| command | wall s | CPU s | MiB/s | py ÷ this |
|---|---|---|---|---|
$(row wk "wk-xor decode (verifies SHA-256, fsyncs; default -j)" "$raw_mb")
$(row wk_j2 "wk-xor decode -j2" "$raw_mb")
$(row wk_j1 "wk-xor decode -j1" "$raw_mb")
$(row wk_np "wk-xor decode --no-pipeline" "$raw_mb")
$(row wk_zlib "wk-xor decode --inflate zlib" "$raw_mb")
$([ -n "$WA" ] && row wk_alt "wk-xor decode, second build (default -j)" "$raw_mb")
$([ -n "$WA" ] && row wk_alt_j1 "wk-xor decode -j1, second build" "$raw_mb")
$(row py "xor_codec.py algorithm (numpy, 4 KiB blocks), no verification, no fsync" "$raw_mb")
$(row py_sync "xor_codec.py algorithm + sync" "$raw_mb")
$(row py_sum "xor_codec.py algorithm + sha256sum -c" "$raw_mb")
$(row gzip "gzip -dc > /dev/null, each payload (inflate only)" "$raw_mb")
$([ $have_pigz = 1 ] && row pigz "pigz -dc > /dev/null, each payload (zlib inflate only)" "$raw_mb")
$([ $have_igzip = 1 ] && row igzip "igzip -dc > /dev/null, each payload (ISA-L inflate only)" "$raw_mb")

Single file ($big_mb MiB; last column: the Python algorithm's wall time / this command's, same round):

| command | wall s | CPU s | MiB/s | py ÷ this |
|---|---|---|---|---|
$(row s_wk "wk-xor decode (inflate, XOR, SHA-256, write, fsync)" "$big_mb")
$(row s_wk_np "wk-xor decode --no-pipeline" "$big_mb")
$([ -n "$WA" ] && row s_alt "wk-xor decode, second build" "$big_mb")
$([ $have_igzip = 1 ] && row s_igzip "igzip -dc > /dev/null (ISA-L inflate only)" "$big_mb")
$([ $have_igzip = 1 ] && [ $have_ossl = 1 ] && row s_igzip_sha "igzip -dc \\| openssl dgst -sha256" "$big_mb")
$([ $have_pigz = 1 ] && row s_pigz "pigz -dc > /dev/null (zlib single-stream inflate)" "$big_mb")
$(row s_py "xor_codec.py algorithm" "$big_mb")
$([ "$enc" = 1 ] && printf '\nEncode (%s MiB, default -j = %s):\n\n| command | wall s | CPU s | MiB/s | × level 6 |\n|---|---|---|---|---|\n' "$raw_mb" "$(nproc)")
$([ "$enc" = 1 ] && erow enc "wk-xor encode (gzip level 6)" "$raw_mb")
$([ "$enc" = 1 ] && erow enc1 "wk-xor encode --level 1" "$raw_mb")
EOF
