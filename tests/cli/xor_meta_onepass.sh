#!/usr/bin/env bash
# wk-xor decode --base-meta, issue #23: candidates that tie after the cheap ranking are
# decided in ONE pass (the others hashed beside the written one, the matching one's
# differing bytes patched in), and --base-profile NAME skips the detection.
#
# The payload is made against transformers 4.30.1, torch 2.1: its weights are the same
# bytes under every 4.28-4.31 version string (torch-2.1), and its config.json /
# generation_config.json tie in size and structure with those of the other same-length
# version strings (4.28.0, 4.28.1, 4.29.0, ...), which are ranked before it.  Checked:
#   - automatic: every file byte-exact, ONE full pass per file (--json full_passes),
#     the tied candidates counted in hashed_alongside; also without the pipeline;
#   - the one-pass-per-candidate fallback (WK_XORMETA_PATCH_CAP=1, test-only: every
#     candidate passes its patch cap at its first differing byte) gives the same bytes
#     in more than one pass — so the right profile was indeed not ranked first;
#   - --base-profile with the right name: the same bytes, one candidate, one pass;
#   - --base-profile with a wrong version string: config.json fails its hash and is not
#     left; with a wrong torch layout: no weights match, nothing is left at all;
#   - an unknown name: exit 2, the valid names listed; --base-profile without --base-meta.
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
fx=$src/tests/fixtures/models
rm -rf "$tmp"; mkdir -p "$tmp"
fail() { echo "not ok - $*" >&2; exit 1; }
pass=0
py=/usr/bin/python3
[[ -x $py ]] || { echo "skip: $py missing" >&2; exit 77; }

tv=4.30.1; tt=2.1; right="transformers $tv, torch-$tt"
"$bin/wk-convert" "$fx/tiny" "$tmp/base" -q --transformers-version "$tv" --torch-version "$tt"
"$bin/wk-convert" "$fx/tiny-ft" "$tmp/ft" -q --transformers-version "$tv" --torch-version "$tt"
"$bin/wk-xor" encode "$tmp/payload" "$tmp/ft" "$tmp/base" -q --manifest-out "$tmp/ft.sha256" >/dev/null

same_as_ft() {  # DIR LABEL: every file of ft, byte for byte, and nothing else
  for f in "$tmp"/ft/*; do cmp -s "$f" "$1/$(basename "$f")" || fail "$2: $(basename "$f") differs"; done
  [[ $(ls -A "$1" | wc -l) -eq $(ls -A "$tmp/ft" | wc -l) ]] || fail "$2: stray files: $(ls -A "$1")"
}
# passes REPORT CHECK: run python CHECK over {name: base_profile} of the report
passes() {
  $py - "$1" "$2" "$right" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r['ok'] is True, r
f = {x['name']: x['base_profile'] for x in r['files'] if x.get('base_profile')}
right = sys.argv[3]
for n, b in f.items():
    assert b['profile'] == right and b['verified'] is True, (n, b)
exec(sys.argv[2])
PY
}

# 1. automatic: one pass per file, the tied candidates hashed alongside
for mode in pipeline no-pipeline; do
  extra=(); [[ $mode == no-pipeline ]] && extra=(--no-pipeline)
  "$bin/wk-xor" decode "$tmp/auto-$mode" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" \
    --json -j 2 "${extra[@]}" >"$tmp/auto-$mode.json" || fail "automatic ($mode): $(cat "$tmp/auto-$mode.json")"
  same_as_ft "$tmp/auto-$mode" "automatic ($mode)"
  passes "$tmp/auto-$mode.json" '
for n, b in f.items():
    assert b["full_passes"] == 1, (n, b)
for n in ("config.json", "generation_config.json"):
    assert f[n]["candidates"] > 2 and f[n]["hashed_alongside"] >= 2, (n, f[n])
' || fail "automatic ($mode): passes: $(cat "$tmp/auto-$mode.json")"
  echo "ok - automatic ($mode): byte-exact, one full pass per file, tied config candidates hashed alongside"
  pass=$((pass+1))
done
"$bin/wk-xor" decode "$tmp/txt" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" \
  --no-progress -j 1 >"$tmp/txt.out" 2>&1 || fail "text run: $(cat "$tmp/txt.out")"
grep -q "verified by hash (1 full pass; [0-9]* other candidates hashed in the same pass)" "$tmp/txt.out" \
  || fail "text report does not say the candidates shared the pass: $(cat "$tmp/txt.out")"
echo "ok - the text report says how many candidates were hashed in the same pass"; pass=$((pass+1))

# 2. the cap fallback: one pass per candidate, same bytes, more passes
WK_XORMETA_PATCH_CAP=1 "$bin/wk-xor" decode "$tmp/solo" "$tmp/payload" --base-meta "$fx/tiny" \
  --manifest "$tmp/ft.sha256" --json -j 2 >"$tmp/solo.json" || fail "cap fallback: $(cat "$tmp/solo.json")"
same_as_ft "$tmp/solo" "cap fallback"
passes "$tmp/solo.json" '
assert f["config.json"]["full_passes"] > 1, f["config.json"]
for n, b in f.items():
    assert b["hashed_alongside"] == 0, (n, b)
' || fail "cap fallback: passes: $(cat "$tmp/solo.json")"
echo "ok - patch cap passed: the candidates fall back to passes of their own (config.json: several), same bytes"
pass=$((pass+1))

# 3. --base-profile, right name
"$bin/wk-xor" decode "$tmp/given" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" \
  --base-profile "$right" --json >"$tmp/given.json" || fail "--base-profile: $(cat "$tmp/given.json")"
same_as_ft "$tmp/given" "--base-profile"
passes "$tmp/given.json" '
for n, b in f.items():
    assert b["full_passes"] == 1 and b["candidates"] == 1 and b["hashed_alongside"] == 0, (n, b)
' || fail "--base-profile: passes: $(cat "$tmp/given.json")"
echo "ok - --base-profile '$right': same bytes, one candidate and one pass per file"; pass=$((pass+1))

# 4. --base-profile, wrong version string: config.json fails its hash, is not left
rc=0; "$bin/wk-xor" decode "$tmp/wrongv" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" \
  --base-profile "transformers 4.30.0, torch-$tt" --no-progress >"$tmp/wrongv.out" 2>"$tmp/wrongv.err" || rc=$?
[[ $rc -ne 0 ]] || fail "wrong version string: exit 0"
grep -q "config.json: no converter profile reproduces the base of this payload" "$tmp/wrongv.err" \
  || fail "wrong version string: no mismatch for config.json: $(cat "$tmp/wrongv.err")"
[[ ! -e $tmp/wrongv/config.json && ! -e $tmp/wrongv/generation_config.json ]] \
  || fail "wrong version string: mismatched config files left"
ls -A "$tmp/wrongv" | grep -q '^\.' && fail "wrong version string: temporaries left: $(ls -A "$tmp/wrongv")"
echo "ok - --base-profile with a wrong version string: config files fail their hash and are not left"
pass=$((pass+1))

# 5. --base-profile, wrong torch layout: the weights match nothing, nothing is left
rc=0; "$bin/wk-xor" decode "$tmp/wrongt" "$tmp/payload" --base-meta "$fx/tiny" --manifest "$tmp/ft.sha256" \
  --base-profile "transformers $tv, torch-1.13" --no-progress >"$tmp/wrongt.out" 2>"$tmp/wrongt.err" || rc=$?
[[ $rc -eq 3 ]] || fail "wrong torch layout: exit $rc, want 3: $(cat "$tmp/wrongt.err")"
grep -q "pytorch_model.bin: no converter profile reproduces the base" "$tmp/wrongt.err" \
  || fail "wrong torch layout: no mismatch report: $(cat "$tmp/wrongt.err")"
[[ -z $(ls -A "$tmp/wrongt" 2>/dev/null) ]] || fail "wrong torch layout: files left: $(ls -A "$tmp/wrongt")"
echo "ok - --base-profile with a wrong torch layout: mismatch, exit 3, no output file"; pass=$((pass+1))

# 6. usage
rc=0; "$bin/wk-xor" decode "$tmp/u" "$tmp/payload" --base-meta "$fx/tiny" --base-profile "transformers 9" \
  -q 2>"$tmp/u.err" || rc=$?
[[ $rc -eq 2 ]] || fail "unknown profile: exit $rc, want 2"
grep -q "no converter profile of that name" "$tmp/u.err" && grep -q "4.30.1" "$tmp/u.err" \
  && grep -q "torch-2.1" "$tmp/u.err" || fail "unknown profile: valid names not listed: $(cat "$tmp/u.err")"
[[ ! -e $tmp/u ]] || fail "unknown profile: output created"
rc=0; "$bin/wk-xor" decode "$tmp/u" "$tmp/payload" "$tmp/base" --base-profile "$right" -q 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || fail "--base-profile without --base-meta: exit $rc, want 2"
"$bin/wk-xor" --help >"$tmp/help.txt"
grep -q -- "--base-profile NAME" "$tmp/help.txt" || fail "--help lacks --base-profile"
echo "ok - unknown --base-profile refused (exit 2) listing the valid names; needs --base-meta; in --help"
pass=$((pass+1))
echo "$pass passed, 0 failed"
