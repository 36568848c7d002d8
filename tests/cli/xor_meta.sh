#!/usr/bin/env bash
# wk-xor decode --base-meta (issue #10): the HF base is produced on the fly from the
# Meta checkpoint, the converter profile is found by hash (or by structure without a
# manifest).  Payloads are made against bases converted under different profiles
# (with/without inv_freq, torch 1.13 vs 2.1 layout, several version strings); each
# must be recovered byte for byte with the right profile named; the two-step route
# (wk-convert, then decode) gives the same bytes; a wrong base model gives a clear
# no-match report and no output files.
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
fx=$src/tests/fixtures/models
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
pass=0
py=/usr/bin/python3

# name: transformers version, torch layout, payload kind
profiles=("4.28.0.dev0 1.13 gzip" "4.32.0 1.13 gzip" "4.29.2 2.1 raw" "4.31.0 2.1 gzip" "4.32.0 2.1 raw")
for prof in "${profiles[@]}"; do
  read -r tv tt kind <<<"$prof"
  d=$tmp/$tv-$tt
  mkdir -p "$d"
  "$bin/wk-convert" "$fx/tiny" "$d/base" -q --transformers-version "$tv" --torch-version "$tt"
  "$bin/wk-convert" "$fx/tiny-ft" "$d/ft" -q --transformers-version "$tv" --torch-version "$tt"
  extra=(); [[ $kind == raw ]] && extra=(--raw)
  "$bin/wk-xor" encode "$d/payload" "$d/ft" "$d/base" -q "${extra[@]}" --manifest-out "$d/ft.sha256" >/dev/null
  # one step, with the manifest: exact bytes and the right profile
  "$bin/wk-xor" decode "$d/out" "$d/payload" --base-meta "$fx/tiny" --manifest "$d/ft.sha256" \
    --json -j 2 >"$d/report.json" || fail "$tv/$tt: decode failed: $(cat "$d/report.json")"
  for f in "$d"/ft/*; do cmp -s "$f" "$d/out/$(basename "$f")" || fail "$tv/$tt: $(basename "$f") differs"; done
  $py - "$d/report.json" "$tv" "$tt" <<'PY' || fail "$tv/$tt: report does not name the profile"
import json, sys
r = json.load(open(sys.argv[1])); tv, tt = sys.argv[2], sys.argv[3]
assert r['ok'] is True, r
want = "transformers %s, torch-%s" % (tv, tt)
assert r['base_profile'] == want, (r['base_profile'], want)
for f in r['files']:
    assert f['status'] == 'ok' and f['base_profile']['verified'] is True, f
PY
  # the two-step route gives the same bytes
  "$bin/wk-xor" decode "$d/out2" "$d/payload" "$d/base" --manifest "$d/ft.sha256" -q
  for f in "$d"/out/*; do cmp -s "$f" "$d/out2/$(basename "$f")" || fail "$tv/$tt: two-step differs on $(basename "$f")"; done
  [[ -z $(ls -A "$d/out" | grep -v -F -f <(ls -A "$d/ft")) ]] || fail "$tv/$tt: stray files in the output"
  echo "ok - transformers $tv, torch $tt ($kind payload): byte-exact, profile named, same as the two-step route"
  pass=$((pass+1))
done

# text report names the profile too
d=$tmp/4.32.0-1.13
"$bin/wk-xor" decode "$tmp/txt" "$d/payload" --base-meta "$fx/tiny" --manifest "$d/ft.sha256" --no-progress >"$tmp/txt.out" 2>&1
grep -q "^base profile: transformers 4.32.0, torch-1.13 (verified)" "$tmp/txt.out" || fail "text report: $(cat "$tmp/txt.out")"
grep -q "pytorch_model.bin: OK" "$tmp/txt.out" || fail "text report lacks the OK line"
echo "ok - text report names the matched profile"; pass=$((pass+1))

# without a manifest: structural choice, said to be unverified, weights byte-exact
d=$tmp/4.31.0-2.1
"$bin/wk-xor" decode "$tmp/nm" "$d/payload" --base-meta "$fx/tiny" --no-manifest --no-progress >"$tmp/nm.out" 2>"$tmp/nm.err" \
  || fail "no-manifest decode failed: $(cat "$tmp/nm.err")"
grep -q "NOT verified" "$tmp/nm.err" || fail "no-manifest run does not say unverified: $(cat "$tmp/nm.err")"
grep -q "chosen by structure, unverified" "$tmp/nm.out" || fail "no-manifest per-file line: $(cat "$tmp/nm.out")"
grep -q "^base profile: .*torch-2.1 (unverified)" "$tmp/nm.out" || fail "no-manifest profile: $(cat "$tmp/nm.out")"
cmp -s "$d/ft/pytorch_model.bin" "$tmp/nm/pytorch_model.bin" || fail "no-manifest weights differ"
echo "ok - no manifest: weights recovered, profile chosen by structure, reported unverified"; pass=$((pass+1))

# a wrong base model: clear no-match report, exit 3, no output files
d=$tmp/4.28.0.dev0-1.13
rc=0; "$bin/wk-xor" decode "$tmp/wrong" "$d/payload" --base-meta "$fx/tiny-gqa" --manifest "$d/ft.sha256" \
  --no-progress >"$tmp/wrong.out" 2>"$tmp/wrong.err" || rc=$?
[[ $rc -eq 3 ]] || fail "wrong base: exit $rc, want 3: $(cat "$tmp/wrong.err")"
grep -q "pytorch_model.bin: no converter profile reproduces the base of this payload" "$tmp/wrong.err" \
  || fail "wrong base: no per-file report: $(cat "$tmp/wrong.err")"
grep -q "torch-2.1.*hash differs" "$tmp/wrong.err" || fail "wrong base: profiles tried not listed"
grep -q "different model size" "$tmp/wrong.err" || fail "wrong base: no suggestion"
[[ -z $(ls -A "$tmp/wrong" 2>/dev/null) ]] || fail "wrong base: files left: $(ls -A "$tmp/wrong")"
echo "ok - wrong base model: exit 3, files and profiles named, suggestion given, no output files"; pass=$((pass+1))

# usage errors
rc=0; "$bin/wk-xor" decode "$tmp/u" "$d/payload" "$d/base" --base-meta "$fx/tiny" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "BASE_DIR with --base-meta: exit $rc, want 2"
rc=0; "$bin/wk-xor" decode "$tmp/u" "$d/payload" --base-meta "$tmp/nonexistent" -q 2>"$tmp/u.err" || rc=$?
[[ $rc -ne 0 && ! -e "$tmp/u" ]] || fail "missing Meta dir: exit $rc or output created"
echo "ok - usage: BASE_DIR and --base-meta together refused; a missing Meta dir fails cleanly"; pass=$((pass+1))
echo "$pass passed, 0 failed"
