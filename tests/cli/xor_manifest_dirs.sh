#!/usr/bin/env bash
# wk-xor's default-manifest lookup in every layout (issue #21; tools/wk_xor_dirs.h):
# a build tree anywhere (the source checksums/), $WK_CHECKSUMS_DIR, an installed tree
# (<exe dir>/../share/weightkit/checksums) and the configured <prefix> as the last resort;
# --list-manifests and --version say where it looks.
set -uo pipefail
W=$WK_BIN_DIR/wk-xor
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1
unset WK_CHECKSUMS_DIR
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
src_ck=$(cd "$WK_SOURCE_DIR/checksums" && pwd)

# build tree (wherever the build directory is): the source tree's checksums/
"$W" --list-manifests >lm.out 2>&1; rc=$?
check "--list-manifests exits 0" test $rc -eq 0
check "build tree: the source checksums/ is searched" grep -qxF "  $src_ck (build tree)" lm.out
check "build tree: metharme-13b.sha256 listed" grep -qxF "    metharme-13b.sha256" lm.out
check "--list-manifests: \$WK_CHECKSUMS_DIR not set" grep -qF '$WK_CHECKSUMS_DIR (not set)' lm.out
"$W" --version >v.out 2>&1
check "--version names the manifest directory" grep -qxF "manifests: $src_ck (build tree)" v.out
mkdir -p env && : >env/mine.sha256
WK_CHECKSUMS_DIR=$PWD/env "$W" --list-manifests >lme.out 2>&1
check "\$WK_CHECKSUMS_DIR is searched first, the shipped directory still" bash -c \
  "grep -A1 -xF '  $PWD/env (\$WK_CHECKSUMS_DIR)' lme.out | grep -qxF '    mine.sha256' && grep -qxF '  $src_ck (build tree)' lme.out"
check "a directory without manifests says so" bash -c \
  "mkdir -p empty && WK_CHECKSUMS_DIR=$PWD/empty '$W' --list-manifests | grep -A1 -F '$PWD/empty' | grep -qF '(no *.sha256)'"

# an installed tree: the same binary copied to <prefix>/bin finds <prefix>/share/weightkit/checksums
mkdir -p inst/bin inst/share/weightkit/checksums && cp "$W" inst/bin/wk-xor
printf '%064d  a.bin\n' 0 >inst/share/weightkit/checksums/only-here.sha256
inst/bin/wk-xor --list-manifests >li.out 2>&1
check "installed tree: <exe dir>/../share/weightkit/checksums" \
  grep -qxF "  $PWD/inst/bin/../share/weightkit/checksums (installed tree)" li.out
check "installed tree: the source checksums/ is not searched" bash -c "! grep -qF '$src_ck' li.out"
mkdir -p pay base && echo x >pay/a.bin && echo y >base/a.bin
inst/bin/wk-xor decode out pay base >d.out 2>d.err; rc=$?
check "installed tree: its manifest is picked by default (and judges: exit 3)" \
  bash -c "[ $rc -eq 3 ] && grep -qF 'share/weightkit/checksums/only-here.sha256' d.err"

# neither: the configured install directory
mkdir -p lone && cp "$W" lone/wk-xor
lone/wk-xor --list-manifests >ll.out 2>&1
check "elsewhere: the <prefix>/share/weightkit/checksums fixed at configure time" \
  grep -qE '^  /.*/share/weightkit/checksums \(configured install directory\)$' ll.out

echo "# $pass passed, $fail failed"
((fail == 0))
