#!/usr/bin/env bash
# CLI tests for wk-bench: conventions (--help, --version, exit status, --quiet), the JSON
# record fields, determinism (same seed = same numbers; -j 1 and -j 2 give identical JSON
# apart from threads/machine/speed), the SVG is well-formed XML, --model on the committed
# tiny model, --activations from a .npy file, and refusals of bad arguments and files.
# No timing is asserted: speed figures are only checked to be present and positive.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
B="$WK_BIN_DIR/wk-bench"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "bench.sh: skipped: $PY needed" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1
TINY="$WK_SOURCE_DIR/tests/fixtures/models/tiny"

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
fails() { ! "$@" >/dev/null 2>err.txt && grep -q "wk-bench: error:" err.txt; }

check "--help exits 0" bash -c "'$B' --help | grep -q -- '--types'"
check "--version exits 0" bash -c "'$B' --version | grep -q 'wk-bench (weightkit)'"
check "unknown option fails" fails "$B" --bogus
check "unknown type fails" fails "$B" --types iq2_xs --no-speed
check "-search of a type without a search fails" fails "$B" --types q3_k-search --no-speed
check "the low-bit types run" "$B" --types q2_k,q3_k,iq4_nl,iq4_xs --no-speed -q
check "-search of f16 refused" fails "$B" --types f16-search --no-speed
check "bad --rows fails" fails "$B" --rows 0
check "bad --dist fails" fails "$B" --dist cauchy
check "missing model fails" fails "$B" --model "$WK_TMP/nope" --no-speed
check "--json without file fails" fails "$B" --json

S=(--rows 64 --cols 512 --types q8_0,q5_1,q4_0,q4_k --batch 4 --no-speed --seed 3)
check "synthetic run, -j 1" "$B" "${S[@]}" -j 1 --json j1.json -q
check "synthetic run, -j 2" "$B" "${S[@]}" -j 2 --json j2.json -q
"$B" "${S[@]}" -q >out.txt
check "--quiet prints nothing" test ! -s out.txt
check "table on stdout" bash -c "'$B' ${S[*]} -j 2 | grep -q '^q4_k '"

# Identical JSON for -j 1 / -j 2 except "threads"; fields present; ordering on Gaussian data.
cat > cmp.py <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("threads", None)
assert a == b, "JSON differs between thread counts"
r = {x["type"]: x for x in a["results"]}
for t in ("q8_0", "q5_1", "q4_0", "q4_k"):
    for k in ("type", "nmse", "max_abs_err", "cosine", "bits_per_weight", "rel_fro",
              "float_path", "int_path", "int_vs_float"):
        assert k in r[t], (t, k)
assert r["q8_0"]["nmse"] < r["q5_1"]["nmse"] < r["q4_0"]["nmse"], "NMSE ordering"
assert r["q4_0"]["bits_per_weight"] == 4.5 and r["q8_0"]["bits_per_weight"] == 8.5
assert 0.99 < r["q4_0"]["cosine"] <= 1
EOF
check "-j 1 and -j 2 JSON identical, fields and ordering" "$PY" cmp.py j1.json j2.json
"$B" "${S[@]}" --seed 4 --json s4.json -q
check "another seed gives other numbers" bash -c "! cmp -s <(grep nmse j1.json) <(grep nmse s4.json)"
"$B" "${S[@]}" -j 1 --json again.json -q
check "same seed gives the same JSON" cmp -s j1.json again.json

# --search variants, all distributions.
check "--search and --dist all" "$B" --rows 32 --cols 256 --types q4_0,f16 --search --dist all \
  --no-speed --json all.json -q
check "search and dist records" "$PY" -c "
import json; d = json.load(open('all.json'))
k = {(r['type'], r['input']) for r in d['results']}
assert ('q4_0-search', 'outlier') in k and ('f16', 'student-t') in k and len(k) == 9, k"

# Speed figures are present (not asserted for value beyond > 0); SVG is XML.
check "speed run" "$B" --rows 64 --cols 256 --types q4_0,q6_k --reps 1 --min-time 0 --scaling \
  --json sp.json --svg sp.svg -q
check "speed fields" "$PY" -c "
import json; d = json.load(open('sp.json'))
m = d['machine']
assert m['copy_gbs'] > 0 and m['read_gbs'] > 0 and m['fma_gflops'] > 0
for r in d['results']:
    s = r['speed']
    assert s['gemv']['gflops'] > 0 and s['gemm']['gbs'] > 0 and s['gemv_vs_f32'] > 0
    assert len(s['scaling']) >= 1
assert d['f32_baseline']['gemv']['gflops'] > 0"
check "--speed-only" "$B" --rows 32 --cols 256 --types q8_0 --reps 1 --min-time 0 --speed-only \
  --json so.json -q
check "--speed-only has no fidelity records" "$PY" -c "
import json; d = json.load(open('so.json')); r = d['results']
assert len(r) == 1 and 'nmse' not in r[0] and r[0]['speed']['gemv']['gflops'] > 0 and d['f32_baseline']"
check "--speed-only with --no-speed fails" fails "$B" --speed-only --no-speed
check "SVG is well-formed" "$PY" -c "
import xml.etree.ElementTree as E; t = E.parse('sp.svg'); assert t.getroot().tag.endswith('svg')"

# A real model (the committed tiny Meta checkpoint), random and .npy activations.
if [ -d "$TINY" ]; then
  check "--model tiny" "$B" --model "$TINY" --types q4_0,q6_k --max-tensors 3 --no-speed \
    --json m.json -q
  check "model records" "$PY" -c "
import json; d = json.load(open('m.json'))
assert d['input'] == 'model' and len(d['tensors']) == 6, d.get('tensors')
assert all(r['tensors'] == 3 for r in d['results'])"
  "$PY" -c "
import numpy as np; np.random.seed(1)
np.save('acts.npy', np.random.randn(3, 256).astype(np.float32))
np.save('bad.npy', np.zeros((2, 2), dtype=np.int32))"
  check "--activations .npy" "$B" --model "$TINY" --types q8_0 --max-tensors 2 --no-speed \
    --activations acts.npy --json a.json -q
  check "activations recorded" "$PY" -c "
import json; d = json.load(open('a.json')); assert d['activations'].endswith('acts.npy')"
  check "int .npy refused" fails "$B" --model "$TINY" --no-speed --activations bad.npy
fi

check "unwritable --json fails" fails "$B" "${S[@]}" --json "$WK_TMP/no/such/dir/x.json"

echo "bench.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
