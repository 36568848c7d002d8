#!/usr/bin/env bash
# tests/cli/sec_limits.sh — resource limits and non-regular inputs (issue #24 items 10-15, and the
# FIFO part of 18).  The hostile inputs are generated here (tests/fixtures/gen/sec_limits.py).
#
# Timed assertions are normally banned in this suite.  The ones below are complexity bounds with
# a margin of 10x or more over what the fixed code needs on a loaded 2-core machine, chosen so
# that the old quadratic code fails them by far (200k GGUF keys took 74 s, a manifest of 40k
# missing names 44.7 s); they cannot flake on a slow machine without the code having regressed.
# Memory bounds use `ulimit -v` (as tests/cli/malformed.sh does); in an ASan build (which reserves
# terabytes of virtual memory) that part is skipped, the rest still runs.
set -u
SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
PY=/usr/bin/python3
GEN="$PY $SRC/tests/fixtures/gen/sec_limits.py"
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*
cd "$TMP" || exit 1
for t in wk-inspect wk-pack wk-xor wk-convert; do
  [ -x "$BIN/$t" ] || { echo "sec_limits: $BIN/$t not built" >&2; exit 77; }
done
asan=0
grep -qs '^WK_SANITIZE:BOOL=ON' "$BIN/../CMakeCache.txt" && asan=1
fails=0
pass() { echo "ok - $*"; }
bad() { echo "not ok - $*"; fails=$((fails + 1)); }

# run LIMIT_S [VMEM_KB|-] CMD...: run under a wall-clock timeout (and a virtual memory limit unless
# "-" or ASan); stdout in out.txt, stderr in err.txt; sets rc and secs.
run() {
  local lim=$1 vm=$2; shift 2
  local t0; t0=$(date +%s.%N)
  if [ "$vm" != - ] && [ $asan = 0 ]; then
    (ulimit -v "$vm"; exec timeout "$lim" "$@") >out.txt 2>err.txt
  else
    timeout "$lim" "$@" >out.txt 2>err.txt
  fi
  rc=$?
  secs=$(echo "$(date +%s.%N) - $t0" | bc)
}
# says PATTERN: the error output matches (extended regex)
says() { grep -qE "$1" err.txt; }
why() { echo "rc=$rc, ${secs}s: $(head -c 300 err.txt | tr '\n' ' ')"; }

# ---- item 10: GGUF duplicate-key check is hashed -------------------------------------------
$GEN gguf-keys 200000 keys.gguf
run 20 - "$BIN/wk-inspect" keys.gguf
if [ $rc = 0 ]; then pass "item 10: 200k GGUF keys parsed in ${secs}s (bound 20 s; the O(n^2) check took 74 s)"
else bad "item 10: 200k GGUF keys: $(why)"; fi
$PY - <<'EOF'
import struct
s = lambda x: struct.pack("<Q", len(x)) + x
kv = lambda k: s(k) + struct.pack("<IB", 0, 1)
h = b"GGUF" + struct.pack("<IQQ", 3, 0, 4) + kv(b"a") + kv(b"b") + kv(b"c") + kv(b"b")
open("dupkey.gguf", "wb").write(h + b"\0" * (-len(h) % 32))
EOF
run 20 - "$BIN/wk-inspect" dupkey.gguf
if [ $rc != 0 ] && says 'duplicate key "b"'; then pass "item 10: a duplicate key is still refused"
else bad "item 10: duplicate key: $(why)"; fi

# ---- item 11: a manifest naming many absent files --------------------------------------------
$GEN manifest 200000 missing.sha256
mkdir -p pay base
echo '{"a": 1}' >pay/config.json
echo '{"a": 2}' >base/config.json
run 300 - "$BIN/wk-xor" decode dst pay base --manifest missing.sha256 --no-progress -j 1
if [ $rc = 3 ] && says '200000 of 200001 files failed' && [ "$(grep -c '^x0' out.txt)" = 200000 ]; then
  pass "item 11: 200k manifest entries without a file reported in ${secs}s (bound 300 s, a hang guard that still fails the old ~20 min; ~30 s seen at load 12)"
else bad "item 11: 200k missing entries: $(why)"; fi

# ---- item 12: GGUF KV arrays -> safetensors header ---------------------------------------------
$GEN gguf-array 60000000 arr60m.gguf
run 60 $((1024 * 1024)) "$BIN/wk-pack" arr60m.gguf arr60m.safetensors
if [ $rc != 0 ] && says 'more than a safetensors header may hold' && [ ! -e arr60m.safetensors ]; then
  pass "item 12: a 60 MB KV array (>= 120 MB of header) refused before expanding (ulimit -v 1 GiB unless ASan)"
else bad "item 12: 60M-element array: $(why)"; fi
rm -f arr60m.gguf
$GEN gguf-array 20000000 arr20m.gguf
run 60 $((512 * 1024)) "$BIN/wk-pack" arr20m.gguf arr20m.safetensors
if [ $rc = 0 ] && [ -s arr20m.safetensors ]; then
  pass "item 12: a 20M-element KV array (40 MB header) packs under ulimit -v 512 MiB (old: ~58x)"
else bad "item 12: 20M-element array: $(why)"; fi
rm -f arr20m.gguf arr20m.safetensors

# ---- item 13: gzip bomb ------------------------------------------------------------------------
mkdir -p bpay bbase
head -c 200M /dev/zero | gzip -1 >bpay/pytorch_model.bin
head -c 1000 /dev/urandom >bbase/pytorch_model.bin
for mf in none manifest; do
  rm -rf bdst
  args=(--no-manifest)
  if [ $mf = manifest ]; then
    echo "$(head -c 200M /dev/zero | sha256sum | cut -c1-64)  pytorch_model.bin" >bomb.sha256
    args=(--manifest bomb.sha256)
  fi
  run 60 - "$BIN/wk-xor" decode bdst bpay bbase "${args[@]}" --no-progress
  left=$(find bdst -type f 2>/dev/null | wc -l)
  if [ $rc != 0 ] && [ $rc != 124 ] && says 'decodes to more than 67110864 bytes' && [ "$left" = 0 ]; then
    pass "item 13: 200 MiB gzip bomb against a 1000-byte base refused (${mf/none/no manifest}), nothing left"
  else bad "item 13: gzip bomb ($mf): $(why); files left: $left"; fi
done
rm -rf bdst
run 60 - "$BIN/wk-xor" decode bdst pay base --no-manifest --no-progress --max-output 5
if [ $rc != 0 ] && says 'decodes to more than 5 bytes \(--max-output\)' && [ ! -e bdst/config.json ]; then
  pass "item 13: --max-output SIZE lowers the cap"
else bad "item 13: --max-output 5: $(why)"; fi
run 60 - "$BIN/wk-xor" decode bdst pay base --no-manifest --no-progress --max-output 9
if [ $rc = 0 ] && [ -s bdst/config.json ]; then pass "item 13: an output within --max-output decodes"
else bad "item 13: --max-output 9: $(why)"; fi
rm -rf bpay bbase bdst

# ---- item 14 (and 18): FIFOs and devices never hang, are named --------------------------------
mkfifo fifo
# verify: manifest entries that are a symlink to /dev/zero and a FIFO
mkdir -p v && echo x >v/a.bin && ln -s /dev/zero v/z.bin && mkfifo v/f.bin
h=$(sha256sum v/a.bin | cut -c1-64)
printf '%s  a.bin\n%s  z.bin\n%s  f.bin\n' "$h" "$h" "$h" >v.sha256
run 20 - "$BIN/wk-xor" verify v --manifest v.sha256
if [ $rc != 0 ] && [ $rc != 124 ] && says 'v/z.bin: is a character device' && says 'v/f.bin: is a FIFO'; then
  pass "item 14: wk-xor verify names a symlink to /dev/zero and a FIFO instead of hanging"
else bad "item 14: wk-xor verify: $(why)"; fi
# wk-convert: params.json is a FIFO
cp -r "$SRC/tests/fixtures/models/tiny" meta && rm meta/params.json && mkfifo meta/params.json
run 20 - "$BIN/wk-convert" meta hfout
if [ $rc != 0 ] && [ $rc != 124 ] && says 'params.json: is a FIFO'; then pass "item 14: wk-convert: params.json FIFO refused"
else bad "item 14: wk-convert params.json FIFO: $(why)"; fi
# wk-pack: config.json is a FIFO (an HF directory made by wk-convert)
if "$BIN/wk-convert" "$SRC/tests/fixtures/models/tiny" hf >/dev/null 2>&1; then
  rm hf/config.json && mkfifo hf/config.json
  run 20 - "$BIN/wk-pack" hf out.gguf
  if [ $rc != 0 ] && [ $rc != 124 ] && says 'config.json: is a FIFO'; then pass "item 14: wk-pack: config.json FIFO refused"
  else bad "item 14: wk-pack config.json FIFO: $(why)"; fi
else bad "item 14: wk-convert of the tiny model failed"; fi
# wk-inspect's argument: a FIFO, /dev/zero
for arg in fifo /dev/zero; do
  run 20 - "$BIN/wk-inspect" "$arg"
  if [ $rc != 0 ] && [ $rc != 124 ] && says "$arg: is a (FIFO|character device)"; then pass "item 14: wk-inspect $arg refused"
  else bad "item 14: wk-inspect $arg: $(why)"; fi
done
# wk-pack --vocab FIFO
run 20 - "$BIN/wk-pack" "$SRC/tests/fixtures/models/tiny" o.gguf --vocab fifo
if [ $rc != 0 ] && [ $rc != 124 ] && says 'fifo: is a FIFO'; then pass "item 14: wk-pack --vocab FIFO refused"
else bad "item 14: wk-pack --vocab FIFO: $(why)"; fi
# wk-xor hash: a pipe named on the command line is read (as sha256sum does); a device is refused
run 20 - bash -c "\"$BIN/wk-xor\" hash <(echo hi) && \"$BIN/wk-xor\" hash /dev/zero"
if [ $rc = 1 ] && grep -q "^$(echo hi | sha256sum | cut -c1-64)  /dev/fd/" out.txt && says '/dev/zero: is a character device'; then
  pass "item 14: wk-xor hash reads <(...) and refuses /dev/zero"
else bad "item 14: wk-xor hash: $(why) / $(cat out.txt)"; fi
# a FIFO and a device in the payload directory: the file fails loudly, the others decode
mkdir -p fpay && echo '{"a": 1}' >fpay/config.json && mkfifo fpay/pytorch_model.bin && ln -s /dev/zero fpay/extra.bin
run 20 - "$BIN/wk-xor" decode fdst fpay base --no-manifest --no-progress
if [ $rc = 1 ] && says 'fpay/pytorch_model.bin: is a FIFO \(named pipe\), not a regular file: refused' &&
   says 'fpay/extra.bin: is a character device|fpay/extra.bin is a symbolic link \(to /dev/zero\)' && grep -q 'pytorch_model.bin: FAILED' out.txt &&
   ! grep -q 'skipped' out.txt && [ -s fdst/config.json ]; then
  pass "item 14/18: a FIFO or device payload is refused by name, never 'skipped (documentation or directory)'"
else bad "item 14/18: FIFO payload: $(why) / $(tr '\n' ' ' <out.txt)"; fi

# ---- item 15: pickle memo and values, the --pickle listing, tokenizer.model pieces -----------
$GEN pickle-memo 50000000 memo.pth
run 60 $((384 * 1024)) "$BIN/wk-inspect" memo.pth
if [ $rc != 0 ] && [ $rc != 124 ] && says 'memo index 66 out of range'; then
  pass "item 15: 50 MB of MEMOIZE refused at once (ulimit -v 384 MiB unless ASan; old: an 8-byte slot per byte)"
else bad "item 15: memo pickle: $(why)"; fi
run 60 $((384 * 1024)) "$BIN/wk-inspect" --pickle memo.pth
if grep -q 'listing cut after' out.txt && [ "$(wc -c <out.txt)" -lt $((20 * 1024 * 1024)) ]; then
  pass "item 15: wk-inspect --pickle of it: listing cut at 16 MiB, memory bounded"
else bad "item 15: --pickle listing: $(why); $(wc -c <out.txt) bytes"; fi
rm -f memo.pth
$GEN pickle-values 50000000 values.pth
run 60 $((1536 * 1024)) "$BIN/wk-inspect" values.pth
if [ $rc != 0 ] && [ $rc != 124 ] && says 'more than 4194304 values'; then
  pass "item 15: 50M values (one a byte) refused at 4M values (ulimit -v 1.5 GiB unless ASan; old: 176 bytes a byte)"
else bad "item 15: values pickle: $(why)"; fi
rm -f values.pth
$GEN spm 25000000 big.model
run 60 $((512 * 1024)) "$BIN/wk-pack" "$SRC/tests/fixtures/models/tiny" o.gguf --vocab big.model
if [ $rc != 0 ] && [ $rc != 124 ] && says '25000000 pieces, but the embedding has only'; then
  pass "item 15: a 50 MB tokenizer.model of 25M pieces refused before allocating them (ulimit -v 512 MiB unless ASan)"
else bad "item 15: big tokenizer.model: $(why)"; fi
rm -f big.model

[ $asan = 1 ] && echo "# ASan build: the ulimit -v memory bounds were not applied"
if [ $fails -gt 0 ]; then echo "sec_limits: $fails failure(s)"; exit 1; fi
echo "sec_limits: all passed"
