#!/usr/bin/env bash
# wk-xor decode's parallel path (issue #23): several files at once, each a two-thread
# pipeline (inflate | XOR, SHA-256, write).  The same bytes for every -j, with and without
# the pipeline and for both inflate engines; a failure in one file of several leaves no
# output and no temporary for that file (an earlier file of that name stays as it was), the
# others are complete and verified; exit status 1 (error) / 3 (hash mismatch).
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
W="$WK_BIN_DIR/wk-xor"
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "xor_parallel.sh: skipped: $PY with numpy is needed (apt-get install python3-numpy)" >&2
  exit 77
fi
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1
export WK_CHECKSUMS_DIR="$WK_TMP/no-checksums"

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
same_as_ft() {  # every file of ft is in $1 with the same bytes, and nothing else
  local f
  for f in ft/*; do cmp -s "$f" "$1/${f##*/}" || { echo "differs: $1/${f##*/}" >&2; return 1; }; done
  [ "$(ls -A "$1" | wc -l)" -eq "$(ls -A ft | wc -l)" ] || { ls -A "$1" >&2; return 1; }
}
no_temps() { ! find "$1" -name '.*wk-tmp*' | grep -q .; }

# ---- five shards of unequal sizes (several 1 MiB slots each) + small files -----------------
"$PY" - <<'EOF' || exit 1
import numpy as np, os
os.makedirs("ft", exist_ok=True); os.makedirs("base", exist_ok=True)
rng = np.random.default_rng(23)
for k, n in enumerate([2_600_000, 900_001, 3_100_000, 40_000, 1_700_000]):
    b = (rng.standard_normal(n) * 0.02).astype(np.float16)
    f = (b.astype(np.float32) + rng.standard_normal(n).astype(np.float32) * 1e-3).astype(np.float16)
    name = f"pytorch_model-0000{k + 1}-of-00005.bin"
    f.tofile(f"ft/{name}"); b[: n - 1000 * k].tofile(f"base/{name}")   # shorter bases too
open("ft/config.json", "w").write('{"hidden_size": 64}\n')
open("base/config.json", "w").write('{"hidden_size": 64, "torch_dtype": "float16"}\n')
open("ft/added_tokens.json", "w").write('{"<pad>": 32000}')
EOF
(cd ft && sha256sum -- * > ../ft.sha256)
"$W" encode pay ft base -q --no-progress >/dev/null || { bad "encode the payload set"; exit 1; }

# ---- the same bytes for every -j, pipeline on/off, both engines -----------------------------
engines="zlib"
"$W" --version | grep -q 'isa-l' && engines="zlib isal"
for j in 1 2 3 5 8 default; do
  for e in $engines; do
    for pl in "" --no-pipeline; do
      jopt=(); [ $j != default ] && jopt=(-j "$j")
      d="out-$j-$e${pl:+-np}"
      "$W" decode "$d" pay base --manifest ft.sha256 -q --no-progress --inflate "$e" ${pl:+"$pl"} "${jopt[@]}"
      rc=$?
      check "decode -j $j --inflate $e ${pl:-(pipelined)}: exit 0, bytes equal the targets" \
        bash -c "[ $rc -eq 0 ] && $(declare -f same_as_ft); same_as_ft '$d'"
    done
  done
done
"$W" decode out-json pay base --manifest ft.sha256 -q --no-progress --json -j 3 >report.json
check "--json -j 3: every file verified (status ok)" "$PY" -c '
import json, sys
r = json.load(open("report.json"))
fs = [f for f in r["files"] if f["name"] != "added_tokens.json"]
sys.exit(not (r["ok"] and len(fs) == 6 and all(f["status"] == "ok" for f in fs)))'

# ---- one corrupt payload among several: exit 1, nothing left for it, the others decoded -----
for j in 1 2 3; do
  rm -rf bad && cp -r pay bad
  victim=pytorch_model-00003-of-00005.bin
  # flip bytes in the middle of the deflate stream (the CRC or the stream itself fails)
  "$PY" -c "
import sys
p = 'bad/$victim'; b = bytearray(open(p, 'rb').read()); m = len(b) // 2
for i in range(m, m + 64): b[i] ^= 0x5a
open(p, 'wb').write(b)"
  rm -rf dst && mkdir dst && echo "earlier file" > "dst/$victim"
  "$W" decode dst bad base --manifest ft.sha256 -q --no-progress -j "$j" 2>err.txt; rc=$?
  check "-j $j: one corrupt payload of seven: exit 1" [ $rc -eq 1 ]
  check "-j $j: the error names the file" grep -q "$victim" err.txt
  check "-j $j: the earlier file under that name is left as it was" \
    bash -c "[ \"\$(cat dst/$victim)\" = 'earlier file' ]"
  check "-j $j: no temporary left behind" no_temps dst
  good=1
  for f in ft/*; do
    n=${f##*/}; [ "$n" = "$victim" ] && continue
    cmp -s "$f" "dst/$n" || good=0
  done
  check "-j $j: the other six files are decoded and verified" [ $good = 1 ]
done

# ---- a truncated payload (gzip ends early) among several: exit 1, no output for it ----------
rm -rf bad dst && cp -r pay bad
v=pytorch_model-00001-of-00005.bin
truncate -s $(( $(stat -c %s "bad/$v") / 3 )) "bad/$v"
"$W" decode dst bad base --manifest ft.sha256 -q --no-progress -j 2 2>err.txt; rc=$?
check "truncated payload of seven, -j 2: exit 1" [ $rc -eq 1 ]
check "truncated payload: no output, no temporary for it" bash -c "[ ! -e dst/$v ] && $(declare -f no_temps); no_temps dst"
check "truncated payload: message says truncated" grep -q "truncated gzip stream" err.txt

# ---- a hash mismatch in one of several: exit 3, that output removed, the others kept --------
awk '$2 == "pytorch_model-00002-of-00005.bin" {$0 = (substr($0, 1, 1) == "0" ? "1" : "0") substr($0, 2)} 1' \
  ft.sha256 > wrong.sha256
check "the wrong manifest differs in one digest" bash -c "[ \"\$(diff ft.sha256 wrong.sha256 | grep -c '^>')\" = 1 ]"
rm -rf dst
"$W" decode dst pay base --manifest wrong.sha256 -q --no-progress -j 3 2>err.txt; rc=$?
check "one hash mismatch of seven, -j 3: exit 3" [ $rc -eq 3 ]
check "mismatch: that output is removed, no temporary" \
  bash -c "[ ! -e dst/pytorch_model-00002-of-00005.bin ] && $(declare -f no_temps); no_temps dst"
check "mismatch: the other files are there" cmp -s ft/pytorch_model-00005-of-00005.bin dst/pytorch_model-00005-of-00005.bin

# ---- a missing base file of one: exit 1, nothing decoded (planning refuses it) --------------
rm -rf base2 dst && cp -r base base2 && rm base2/pytorch_model-00004-of-00005.bin
"$W" decode dst pay base2 --manifest ft.sha256 -q --no-progress -j 2 2>err.txt; rc=$?
check "missing base file, -j 2: exit 1" [ $rc -eq 1 ]
check "missing base file: no output file and no temporary" bash -c "[ -z \"\$(ls -A dst 2>/dev/null)\" ]"

# ---- bad arguments: exit 2 -------------------------------------------------------------------
"$W" decode dst pay base -j 0x -q 2>/dev/null; rc=$?
check "-j 0x: exit 2" [ $rc -eq 2 ]
"$W" decode dst pay base --inflate lzma -q 2>/dev/null; rc=$?
check "--inflate lzma: exit 2" [ $rc -eq 2 ]

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
