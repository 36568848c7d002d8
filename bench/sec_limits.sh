#!/usr/bin/env bash
# bench/sec_limits.sh — time and peak RSS of the tools on the hostile inputs of issue #24 items
# 10, 11, 12 and 15 (made by tests/fixtures/gen/sec_limits.py), at the sizes of the issue.
# Prints one line per case: wall and CPU (user + sys) seconds, peak RSS (/usr/bin/time -v), exit status, the bound that
# docs/security.md states.  Needs ~1 GB of free disk in TMP.
#   bench/sec_limits.sh [BIN_DIR]    (default build/bin)
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-$SRC/build/bin}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/wk-sec-limits.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
GEN="/usr/bin/python3 $SRC/tests/fixtures/gen/sec_limits.py"
cd "$TMP" || exit 1

# measure NAME BOUND CMD...: one result line
measure() {
  local name=$1 bound=$2; shift 2
  /usr/bin/time -v -o time.txt "$@" >out.txt 2>err.txt
  local rc=$?
  local secs rss cpu
  secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' time.txt)
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' time.txt)
  cpu=$(echo "$(sed -n 's/.*User time (seconds): //p' time.txt) + $(sed -n 's/.*System time (seconds): //p' time.txt)" | bc)
  printf '%-44s %9s %7ss  %8.1f MB  exit %-3s  bound: %s\n' "$name" "$secs" "$cpu" "$(echo "$rss / 1024" | bc -l)" \
    "$(grep -q 'exited with' time.txt && sed -n 's/.*Exit status: //p' time.txt || echo $rc)" "$bound"
}

printf '%-44s %9s %8s  %11s  %-8s  %s\n' case "wall" "cpu" "peak RSS" status bound
# item 10
$GEN gguf-keys 1000000 k1m.gguf
measure "10: GGUF, 1M keys (23 MB), wk-inspect" "< 2 s" "$BIN/wk-inspect" k1m.gguf
rm -f k1m.gguf
# item 11
mkdir -p pay base && echo '{}' >pay/config.json && echo '{}' >base/config.json
$GEN manifest 800000 m800k.sha256
measure "11: manifest, 800k absent files (60 MB)" "< 10 s, ~1.3 KB/entry" \
  "$BIN/wk-xor" decode dst pay base --manifest m800k.sha256 --no-progress -j 1
rm -rf m800k.sha256 dst
# item 12
$GEN gguf-array 100000000 arr100m.gguf
measure "12: GGUF 100 MB KV array -> safetensors" "refused, RSS < 2 x file" \
  "$BIN/wk-pack" arr100m.gguf out.safetensors
rm -f arr100m.gguf out.safetensors
$GEN gguf-array 40000000 arr40m.gguf
measure "12: GGUF 40 MB KV array -> 80 MB header" "RSS <= 2 x header + file" \
  "$BIN/wk-pack" arr40m.gguf out.safetensors
rm -f arr40m.gguf out.safetensors
# item 15
$GEN pickle-memo 200000000 memo.pth
measure "15: pickle, 200 MB of MEMOIZE" "refused, RSS < 64 MB" "$BIN/wk-inspect" memo.pth
measure "15: wk-inspect --pickle of it" "listing <= 16 MiB" "$BIN/wk-inspect" --pickle memo.pth
rm -f memo.pth
$GEN pickle-values 200000000 values.pth
measure "15: pickle, 200M values (one a byte)" "refused at 4M values, < 1 GiB" "$BIN/wk-inspect" values.pth
rm -f values.pth
$GEN spm 100000000 big.model
measure "15: tokenizer.model 200 MB, 100M pieces" "refused before allocating" \
  "$BIN/wk-pack" "$SRC/tests/fixtures/models/tiny" out.gguf --vocab big.model
rm -f big.model
