#!/usr/bin/env bash
# wk-inspect end to end:
#  - a golden torch.save file lists every tensor with the values its manifest
#    gives (name, dtype, shape, bytes, data offset) and the right totals;
#  - --json parses (python3 -m json.tool) and agrees with the manifest;
#  - every hostile file exits non-zero with exactly one error line naming the
#    file; the RCE pickles name the refused global and its byte offset, and
#    the marker their payload would create never appears;
#  - --pickle lists a refused pickle and still fails;
#  - --help / --version exit 0, usage errors exit 2.
set -u
src=${WK_SOURCE_DIR:?}
bin=${WK_BIN_DIR:?}
tmp=${WK_TMP:-$(mktemp -d)}
mkdir -p "$tmp"
insp=$bin/wk-inspect
py=/usr/bin/python3
golden=$src/tests/fixtures/torch/mix.pt
manifest=$src/tests/fixtures/torch/manifest.json
hostile=$src/tests/fixtures/hostile
marker=/tmp/PWNED_weightkit   # what the rce_* payloads would create (make_hostile_pickles.py)
fails=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

[ -x "$insp" ] || { echo "wk-inspect not built at $insp" >&2; exit 1; }
[ -x "$py" ] || { echo "skipped: $py not found (needed to read the manifest)" >&2; exit 77; }
[ -f "$golden" ] && [ -f "$manifest" ] || { echo "golden files missing: run tests/fixtures/gen/make_torch_golden.py" >&2; exit 1; }

# ---- golden file: text listing --------------------------------------------
"$insp" "$golden" >"$tmp/mix.txt" 2>"$tmp/mix.err" || fail "golden: exit $? ($(cat "$tmp/mix.err"))"
[ -s "$tmp/mix.err" ] && fail "golden: unexpected stderr: $(cat "$tmp/mix.err")"
# expected rows "name dtype [shape] bytes offset contiguous" from the manifest
"$py" - "$manifest" mix.pt >"$tmp/mix.expect" <<'EOF'
import json, sys
size = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int64": 8, "int32": 4,
        "int16": 2, "int8": 1, "uint8": 1, "bool": 1}
m = json.load(open(sys.argv[1], encoding="utf-8"))
f = next(f for f in m["files"] if f["file"] == sys.argv[2])
st = {s["key"]: s for s in f["storages"]}
params = nbytes = 0
for t in f["tensors"]:
    s = st[t["storage"]]
    n = 1
    for d in t["shape"]:
        n *= d
    es = size[s["dtype"]]
    params += n
    nbytes += n * es
    print("%s %s [%s] %d %d yes" % (t["name"], s["dtype"], ", ".join(map(str, t["shape"])), n * es,
                                    s["data_offset"] + t["offset"] * es))
print("total: %d tensors, %d parameters, %d bytes; %d storages, %d bytes; 0 non-tensor entries skipped"
      % (len(f["tensors"]), params, nbytes, len(f["storages"]), sum(s["nbytes"] for s in f["storages"])))
EOF
[ "$(wc -l <"$tmp/mix.expect")" -ge 10 ] || fail "golden: manifest gave too few rows"
tr -s ' ' <"$tmp/mix.txt" | sed 's/^ //' >"$tmp/mix.norm"
while IFS= read -r line; do
    grep -qxF -- "$line" "$tmp/mix.norm" || fail "golden: missing line: $line"
done <"$tmp/mix.expect"
head -1 "$tmp/mix.txt" | grep -qF "$golden: pytorch-zip, archive 'mix', pickle protocol 2" ||
    fail "golden: header line: $(head -1 "$tmp/mix.txt")"

# ---- golden file: JSON --------------------------------------------------------
"$insp" --json "$golden" "$src/tests/fixtures/torch/shared.pt" >"$tmp/mix.json" || fail "json: exit $?"
"$py" -m json.tool "$tmp/mix.json" >/dev/null || fail "json: output does not parse"
"$py" - "$tmp/mix.json" "$manifest" <<'EOF' || fail "json: content differs from the manifest"
import json, sys
out = json.load(open(sys.argv[1], encoding="utf-8"))
m = {f["file"]: f for f in json.load(open(sys.argv[2], encoding="utf-8"))["files"]}
assert out["errors"] == [] and len(out["files"]) == 2
for f in out["files"]:
    ref = m[f["path"].rsplit("/", 1)[1]]
    byname = {t["name"]: t for t in ref["tensors"]}
    assert [t["name"] for t in f["tensors"]] == [t["name"] for t in ref["tensors"]]
    for t in f["tensors"]:
        r = byname[t["name"]]
        r = byname[r["same_as"]] if "same_as" in r else r
        assert (t["shape"], t["stride"], t["storage_offset"], t["storage_key"]) == \
            (r["shape"], r["stride"], r["offset"], r["storage"]), t["name"]
    assert f["totals"]["tensors"] == len(ref["tensors"])
    assert f["storages"] == len(ref["storages"])
assert out["totals"]["tensors"] == sum(len(f["tensors"]) for f in out["files"])
EOF

# ---- hostile files --------------------------------------------------------------
rm -f "$marker"
n=0
while IFS=$'\t' read -r name code want; do
    case $name in '#'*|'') continue ;; esac
    n=$((n + 1))
    f=$hostile/$name
    "$insp" "$f" >"$tmp/h.out" 2>"$tmp/h.err"
    rc=$?
    [ $rc -ne 0 ] || fail "$name: exit 0"
    [ "$(wc -l <"$tmp/h.err")" -eq 1 ] || fail "$name: expected one error line, got: $(cat "$tmp/h.err")"
    grep -qF -- "wk-inspect: error: $f: " "$tmp/h.err" || fail "$name: error line does not name the file: $(cat "$tmp/h.err")"
    grep -qF -- "$want" "$tmp/h.err" || fail "$name: error lacks '$want': $(cat "$tmp/h.err")"
    [ -s "$tmp/h.out" ] && fail "$name: printed on stdout: $(head -3 "$tmp/h.out")"
    "$insp" --json "$f" >"$tmp/h$n.json" 2>/dev/null && fail "$name: --json exit 0"
done <"$hostile/expected.tsv"
# every --json report of a refused file: valid JSON, no files, one error naming the file
"$py" - "$tmp"/h[0-9]*.json <<'EOF' || fail "hostile --json reports"
import json, sys
for p in sys.argv[1:]:
    d = json.load(open(p, encoding="utf-8"))
    assert d["files"] == [] and len(d["errors"]) == 1, p
    assert d["errors"][0]["error"].startswith(d["errors"][0]["path"] + ": "), p
EOF
[ "$n" -ge 30 ] || fail "only $n hostile files"
grep -qF "rce_os_system/data.pkl: byte 2: refusing global 'posix.system'" < <("$insp" "$hostile/rce_os_system.pth" 2>&1) ||
    fail "rce_os_system: message"

# --pickle lists the refused pickle, then fails
"$insp" --pickle "$hostile/rce_os_system.pth" >"$tmp/p.out" 2>"$tmp/p.err" && fail "--pickle on hostile: exit 0"
grep -qF "2: c    GLOBAL     'posix system'  <-- REFUSED" "$tmp/p.out" || fail "--pickle: listing: $(cat "$tmp/p.out")"
grep -qF "refusing global 'posix.system'" "$tmp/p.err" || fail "--pickle: error line"
"$insp" --pickle "$golden" >"$tmp/p2.out" || fail "--pickle golden: exit $?"
grep -qF "GLOBAL     'torch._utils _rebuild_tensor_v2'" "$tmp/p2.out" || fail "--pickle golden: listing"
grep -q "REFUSED" "$tmp/p2.out" && fail "--pickle golden: something refused"

# a good and a bad file: the good one is listed, the exit status is non-zero
"$insp" "$golden" "$hostile/zip_dotdot.pth" >"$tmp/two.out" 2>"$tmp/two.err" && fail "mixed: exit 0"
grep -qF "h.weight" "$tmp/two.out" || fail "mixed: good file not listed"
grep -qF "zip_dotdot.pth" "$tmp/two.err" || fail "mixed: bad file not named"

[ -e "$marker" ] && fail "$marker exists: a payload ran"

# ---- options ---------------------------------------------------------------------
"$insp" --help >"$tmp/help" || fail "--help: exit $?"
grep -q "usage: wk-inspect" "$tmp/help" || fail "--help text"
"$insp" --version >"$tmp/ver" || fail "--version: exit $?"
grep -q "wk-inspect" "$tmp/ver" || fail "--version text"
"$insp" --no-such-option "$golden" >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown option: exit not 2"
"$insp" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no files: exit not 2"
"$insp" -q "$golden" >"$tmp/q.out" || fail "--quiet: exit $?"
[ -s "$tmp/q.out" ] && fail "--quiet printed"
"$insp" /nonexistent/file.pth 2>"$tmp/ne.err" && fail "missing file: exit 0"
grep -qF "/nonexistent/file.pth" "$tmp/ne.err" || fail "missing file: not named"

[ $fails -eq 0 ] && echo "inspect.sh: all checks passed"
exit $((fails > 0))
