#!/usr/bin/env bash
# Install checks (issue #21), run by tests/run.sh after the normal build's ctest:
#   bash tests/install/check.sh BUILD_DIR
# 1. cmake --install into a temporary prefix; the installed tree holds the tools, libweightkit
#    (static, shared with its SONAME), only the public headers (each compiles on its own),
#    weightkit.pc, the CMake package, the manifests, a man page and a completion per tool;
# 2. the installed wk-xor finds the installed manifests; the installed tools run the main job
#    (tools/pipeline.sh with WK_PIPELINE_BIN) with outputs byte-identical to the stored list;
# 3. examples/ builds against the prefix via pkg-config (shared and --static) and via
#    find_package(weightkit) (shared and static) and lists a GGUF's and a .pth's tensors;
# 4. man -l renders every page, with every long option of the tool's --help;
# 5. bash completion offers a tool's options and wk-xor's subcommands;
# 6. cpack builds the .deb: dpkg-deb -c lists the tree, dpkg-deb -I's Depends names the package
#    of every library the binaries need (dpkg -S of their DT_NEEDED), apt-get -s resolves it,
#    dpkg unpacks it into an empty dpkg root and the tools run from there.
# Prints "ok - ..." / "not ok - ..."; exits 1 on any failure, 77 (skip) without help2man/man.
set -uo pipefail
build=$(cd "${1:?usage: check.sh BUILD_DIR}" && pwd) || exit 1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wk-install-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for p in help2man man dpkg-deb dpkg-shlibdeps cpack pkg-config readelf; do
  command -v "$p" >/dev/null || { echo "check.sh: $p missing (tools/install-deps.sh)" >&2; exit 77; }
done
pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
tools=(); for f in "$src"/tools/wk-*.c; do tools+=("$(basename "$f" .c)"); done
ver=$(sed -nE 's/^project\(weightkit VERSION ([0-9.]+).*/\1/p' "$src/CMakeLists.txt")

# ---- 1. the installed tree --------------------------------------------------------
pre=$tmp/prefix
cmake --install "$build" --prefix "$pre" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; bad "cmake --install"; exit 1; }
ok "cmake --install $build --prefix <tmp>"
rlib=$(sed -nE 's/^CMAKE_INSTALL_LIBDIR:PATH=(.*)/\1/p' "$build/CMakeCache.txt"); rlib=${rlib:-lib}; libdir=$pre/$rlib
for t in "${tools[@]}"; do
  check "bin/$t installed and runs" bash -c "'$pre/bin/$t' --help >/dev/null"
  check "man1/$t.1 installed" test -s "$pre/share/man/man1/$t.1"
  check "bash completion for $t" test -s "$pre/share/bash-completion/completions/$t"
done
check "lib: libweightkit.a" test -s "$libdir/libweightkit.a"
check "lib: libweightkit.so -> .so.$ver" test "$(readlink -f "$libdir/libweightkit.so")" = "$(readlink -f "$libdir/libweightkit.so.$ver")"
soname=$(readelf -d "$libdir/libweightkit.so.$ver" | sed -nE 's/.*SONAME.*\[(.*)\]/\1/p')
check "SONAME is libweightkit.so.${ver%.*} (0.x: major.minor), with its link" \
  bash -c "[[ '$soname' == libweightkit.so.${ver%.*} && -L '$libdir/$soname' ]]"
nm -D --defined-only "$libdir/libweightkit.so.$ver" | awk '{print $3}' >"$tmp/syms"
miss=""; for f in wk_err_set wk_gguf_alignment wk_quant_find_nonfinite wk_source_open wk_xor_apply; do
  grep -qx "$f" "$tmp/syms" || miss+=" $f"; done
check "libweightkit.so exports a function of each layer (L0 ... L4)${miss:+ missing:$miss}" test -z "$miss"
check "pkgconfig/weightkit.pc" test -s "$libdir/pkgconfig/weightkit.pc"
check "cmake/weightkit/weightkitConfig.cmake (+ version)" \
  test -s "$libdir/cmake/weightkit/weightkitConfig.cmake" -a -s "$libdir/cmake/weightkit/weightkitConfigVersion.cmake"
check "share/weightkit/checksums: every shipped manifest" bash -c \
  "cd '$src/checksums' && for m in *.sha256; do cmp -s \"\$m\" '$pre/share/weightkit/checksums/'\"\$m\" || exit 1; done"
# public headers: exactly the layer folders' public headers (docs/install.md)
(cd "$pre/include/weightkit" && ls) >"$tmp/hdr.got"
(cd "$src" && ls common/*.h formats/*/*.h | xargs -n1 basename | LC_ALL=C sort) >"$tmp/hdr.want"
check "include/weightkit: exactly common/*.h and formats/*/*.h (L0-L3 public folders)" \
  diff <(LC_ALL=C sort "$tmp/hdr.got") "$tmp/hdr.want"
priv=$(cd "$src" && ls formats/*/internal/*.h formats/*/x86/*.h tools/*/*.h 2>/dev/null | xargs -n1 basename)
leak=""; for h in $priv; do [[ -e $pre/include/weightkit/$h ]] && leak+=" $h"; done
check "no private (internal/, x86/) or engine header installed${leak:+:$leak}" test -z "$leak"
hfail=""
for h in "$pre"/include/weightkit/*.h; do
  echo "#include <weightkit/$(basename "$h")>" >"$tmp/h.c"
  cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$pre/include" "$tmp/h.c" 2>>"$tmp/h.err" || hfail+=" $(basename "$h")"
done
check "every installed header compiles on its own (-std=c11 -Wall -Wextra)${hfail:+:$hfail}" test -z "$hfail"
[[ -z $hfail ]] || cat "$tmp/h.err" >&2

# ---- 2. the installed tools ---------------------------------------------------------
"$pre/bin/wk-xor" --list-manifests >"$tmp/lm.out" 2>&1
check "installed wk-xor --list-manifests: <prefix>/share/weightkit/checksums (installed tree)" \
  grep -qF "$pre/bin/../share/weightkit/checksums (installed tree)" "$tmp/lm.out"
"$pre/bin/wk-xor" --version >"$tmp/v.out" 2>&1
check "installed wk-xor --version names its manifest directory" grep -qF "manifests: $pre/bin/../share/weightkit/checksums" "$tmp/v.out"
mkdir -p "$tmp/meth-pay" "$tmp/meth-base"
for n in $(awk '{print $2}' "$src/checksums/metharme-13b.sha256" | tr -d '*'); do
  echo x >"$tmp/meth-pay/$n"; echo y >"$tmp/meth-base/$n"
done
(cd "$tmp" && env -u WK_CHECKSUMS_DIR "$pre/bin/wk-xor" decode meth-out meth-pay meth-base >/dev/null 2>"$tmp/meth.err")
check "installed wk-xor picks the installed metharme-13b.sha256 by default" \
  grep -qF "$pre/share/weightkit/checksums/metharme-13b.sha256" "$tmp/meth.err"
WK_BIN_DIR=$pre/bin WK_SOURCE_DIR=$src WK_TMP=$tmp/pipe bash "$src/tests/cli/pipeline_outputs.sh" >"$tmp/pipe.log" 2>&1
check "installed tools run the main job (WK_PIPELINE_BIN=<prefix>/bin), outputs identical to the stored list" \
  grep -q "^ok - " "$tmp/pipe.log"
grep -q "^ok - " "$tmp/pipe.log" || tail -20 "$tmp/pipe.log" >&2
gguf=$tmp/pipe/out/tiny-ft-f16.gguf; pth=$src/tests/fixtures/models/tiny/consolidated.00.pth

# ---- 3. examples/ against the installed tree ------------------------------------------
# run_example NAME BINARY: lists the GGUF and the .pth, tensor counts as wk-inspect's
run_example() {
  local name=$1 exe=$2 f n want
  for f in "$gguf" "$pth"; do
    "$exe" "$f" >"$tmp/ex.out" 2>"$tmp/ex.err" || { cat "$tmp/ex.err" >&2; bad "$name: runs on $(basename "$f")"; continue; }
    n=$(sed -nE '1s/.*, ([0-9]+) tensors$/\1/p' "$tmp/ex.out")
    want=$("$pre/bin/wk-inspect" --json "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totals"]["tensors"])' 2>/dev/null)
    if [[ -n $n && $n -gt 0 && $n == "$want" && $(($(wc -l <"$tmp/ex.out") - 1)) == "$n" ]]; then
      ok "$name: lists the $n tensors of $(basename "$f")"
    else bad "$name: lists the tensors of $(basename "$f") (got '$n', wk-inspect '$want')"; fi
  done
}
export PKG_CONFIG_PATH=$libdir/pkgconfig
check "pkg-config --modversion weightkit = $ver" test "$(pkg-config --modversion weightkit)" = "$ver"
check "pkg-config --static --libs: Requires.private/Libs.private (-lz -lcrypto -lzip -lxxhash -lpcre2-8 -lgomp)" bash -c \
  "l=\$(pkg-config --static --libs weightkit); for x in -lweightkit -lz -lcrypto -lzip -lxxhash -lpcre2-8 -lgomp -lm; do [[ \" \$l \" == *\" \$x \"* ]] || exit 1; done"
# an ISA-L build (the default when libisal-dev is installed, issue #23): static links need libisal
isal=0; "$pre/bin/wk-xor" --version | grep -q 'isa-l' && isal=1
if [[ $isal == 1 ]]; then
  check "ISA-L build: weightkit.pc Requires.private names libisal; --static --libs gives -lisal" bash -c \
    "grep -qE '^Requires.private:.* libisal( |\$)' '$libdir/pkgconfig/weightkit.pc' && [[ \" \$(pkg-config --static --libs weightkit) \" == *' -lisal '* ]]"
fi
cp -r "$src/examples" "$tmp/exsrc"  # built in a copy: the source tree stays as it is
if make -s -C "$tmp/exsrc" wk_tensors CC=cc "LDFLAGS=-Wl,-rpath,$libdir" >/dev/null 2>"$tmp/mk.err" \
     && mv "$tmp/exsrc/wk_tensors" "$tmp/ex-pc"; then
  check "pkg-config example uses the installed libweightkit.so.${ver%.*}" bash -c "ldd '$tmp/ex-pc' | grep -qF '$libdir/$soname'"
  run_example "example via pkg-config (shared)" "$tmp/ex-pc"
else cat "$tmp/mk.err" >&2; bad "example builds via pkg-config (shared)"; fi
if make -s -C "$tmp/exsrc" wk_tensors CC=cc STATIC=1 >/dev/null 2>"$tmp/mk.err" \
     && mv "$tmp/exsrc/wk_tensors" "$tmp/ex-pcs"; then
  check "pkg-config --static example has no libweightkit.so" bash -c "! ldd '$tmp/ex-pcs' | grep -q libweightkit"
  run_example "example via pkg-config --static" "$tmp/ex-pcs"
else cat "$tmp/mk.err" >&2; bad "example builds via pkg-config --static"; fi
for kind in shared static; do
  st=OFF; [[ $kind == static ]] && st=ON
  if cmake -S "$src/examples" -B "$tmp/ex-$kind" -DCMAKE_PREFIX_PATH="$pre" -DWK_EXAMPLE_STATIC=$st \
       >"$tmp/exc.log" 2>&1 && cmake --build "$tmp/ex-$kind" >>"$tmp/exc.log" 2>&1; then
    run_example "example via find_package(weightkit) ($kind)" "$tmp/ex-$kind/wk_tensors"
  else cat "$tmp/exc.log" >&2; bad "example builds via find_package(weightkit) ($kind)"; fi
done

# ---- 4. man pages ----------------------------------------------------------------------
for t in "${tools[@]}"; do
  page=$pre/share/man/man1/$t.1
  LC_ALL=C MANWIDTH=250 man -l "$page" >"$tmp/man.txt" 2>"$tmp/man.err"
  miss=""
  for o in $("$pre/bin/$t" --help | grep -oE -- '(^|[ ,[|])--[a-z0-9][a-z0-9_-]*' | sed 's/^[ ,[|]*//' | sort -u); do
    grep -qF -- "$o" "$tmp/man.txt" || miss+=" $o"
  done
  check "man -l $t.1 renders (NAME, SYNOPSIS/DESCRIPTION, every --help option)${miss:+ missing:$miss}" \
    bash -c "grep -q '^NAME' '$tmp/man.txt' && grep -q '$t' '$tmp/man.txt' && [[ -z '$miss' ]]"
done

# ---- 5. bash completion ----------------------------------------------------------------
comp() {  # comp TOOL WORD: the completions bash offers for "TOOL WORD<TAB>"
  PATH=$pre/bin:$PATH bash -c 'source "$1"; COMP_WORDS=("$2" "$3"); COMP_CWORD=1; _weightkit; printf "%s\n" "${COMPREPLY[@]}"' \
    _ "$pre/share/bash-completion/completions/$1" "$1" "$2"
}
check "completion: wk-xor --mani -> --manifest, --manifest-out" bash -c \
  "[[ \$(cd '$tmp' && $(declare -f comp); pre='$pre' comp wk-xor --mani | sort | tr '\n' ' ') == '--manifest --manifest-out ' ]]"
check "completion: wk-xor de -> decode" bash -c "[[ \$(cd '$tmp' && $(declare -f comp); pre='$pre' comp wk-xor de) == decode ]]"
check "completion: wk-quantize --he -> --help" bash -c "[[ \$(cd '$tmp' && $(declare -f comp); pre='$pre' comp wk-quantize --he) == --help ]]"

# ---- 6. the .deb -------------------------------------------------------------------------
(cd "$build" && rm -f weightkit_*.deb && cpack -G DEB >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log" >&2; bad "cpack -G DEB"; }
deb=$(ls "$build"/weightkit_*.deb 2>/dev/null | head -1)
if [[ -n $deb ]]; then
  ok "cpack -G DEB: $(basename "$deb")"
  dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's#^\./#/#' >"$tmp/deb.files"
  dpkg-deb -I "$deb" >"$tmp/deb.info"
  miss=""
  for f in "${tools[@]/#//usr/bin/}" "${tools[@]/#//usr/share/man/man1/}" /usr/share/weightkit/checksums/metharme-13b.sha256 \
           /usr/include/weightkit/wk_source.h "/usr/$rlib/pkgconfig/weightkit.pc" "/usr/$rlib/libweightkit.a" \
           "/usr/$rlib/libweightkit.so.$ver" "/usr/$rlib/cmake/weightkit/weightkitConfig.cmake" \
           /usr/share/bash-completion/completions/wk-xor; do
    [[ $f == /usr/share/man/man1/* ]] && f=$f.1
    grep -qxF "$f" "$tmp/deb.files" || miss+=" $f"
  done
  check "dpkg-deb -c: tools, man pages, manifests, headers, libraries, .pc, CMake package, completions${miss:+ missing:$miss}" test -z "$miss"
  check "dpkg-deb -c: no private header" bash -c "! grep -qE '/include/weightkit/.*(internal|x86)' '$tmp/deb.files'"
  depends=$(sed -nE 's/^ Depends: //p' "$tmp/deb.info")
  echo "# Depends: $depends"
  # the package of every shared library the binaries need directly (their DT_NEEDED, as ldd
  # resolves them; what those need in turn is their own packages' business)
  need=""
  for b in "$pre"/bin/wk-* "$libdir/libweightkit.so.$ver"; do
    for so in $(readelf -d "$b" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
      l=$(ldd "$b" | awk -v so="$so" '$1 == so && $3 ~ /^\// {print $3}')
      [[ -n $l ]] || { bad "$(basename "$b"): $so not found by ldd"; continue; }
      pkg=$(dpkg -S "$(readlink -f "$l")" 2>/dev/null | head -1 | cut -d: -f1)
      [[ -z $pkg ]] && pkg=$(dpkg -S "$l" 2>/dev/null | head -1 | cut -d: -f1)
      [[ -n $pkg ]] || { bad "$(basename "$b"): $l belongs to no Debian package"; continue; }
      [[ " $need " != *" $pkg "* ]] && need+=" $pkg"
    done
  done
  miss=""; for p in $need; do [[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || miss+=" $p"; done
  check "Depends names the package of every needed library:$need${miss:+ (missing:$miss)}" test -z "$miss"
  isal_pkg=""; [[ $isal == 1 ]] && isal_pkg=libisal2
  for p in libzip4 libxxhash0 libssl3 zlib1g libgomp1 libpcre2-8-0 $isal_pkg; do
    check "Depends: $p" bash -c "[[ ', $depends,' == *', $p '* || ', $depends,' == *', $p,'* ]]"
  done
  # apt resolves the Depends against Debian's packages (simulation: nothing is installed)
  apt-get -s install "$deb" >"$tmp/apt.out" 2>&1
  check "apt-get -s install <deb>: the Depends resolve" grep -q '^Inst weightkit ' "$tmp/apt.out"
  # dpkg unpacks it into a fresh, empty dpkg root (no chroot: the dependencies are this system's)
  root=$tmp/debroot; mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates"
  : >"$root/var/lib/dpkg/status"; : >"$root/var/lib/dpkg/available"
  dpkg --root="$root" --force-depends --unpack "$deb" >"$tmp/dpkg.out" 2>&1
  check "dpkg --root=<empty root> --unpack: status 'install ok unpacked'" \
    bash -c "dpkg --root='$root' -s weightkit 2>/dev/null | grep -qx 'Status: install ok unpacked'"
  check "unpacked .deb: wk-xor --help runs" bash -c "'$root/usr/bin/wk-xor' --help | grep -q '^usage: wk-xor'"
  check "unpacked .deb: wk-xor finds its manifests in <root>/usr/share/weightkit/checksums" \
    bash -c "'$root/usr/bin/wk-xor' --list-manifests | grep -A1 -F '$root/usr/bin/../share/weightkit/checksums (installed tree)' | grep -q metharme-13b.sha256"
  check "unpacked .deb: wk-inspect lists the tiny .pth" bash -c "'$root/usr/bin/wk-inspect' '$pth' | grep -q tok_embeddings"
else bad "cpack -G DEB produced a .deb"; fi

echo "# install checks: $pass passed, $fail failed"
((fail == 0))
