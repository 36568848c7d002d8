# _peer_lib.sh — sourced, never run, by the scripts that use the real llama.cpp peer
# (tests/peer/*.sh and bench/*.sh): finds it through setup_llama_cpp.sh in one place.
# Not a test: tests/CMakeLists.txt skips tests/peer/_*.sh.
#
#   . "$SRC/tests/peer/_peer_lib.sh"
#   wk_llama_peer NAME        peer tests.  Sets the variables below, or exits the script:
#                             77 with "NAME: skipped: the llama.cpp npm package cannot be
#                             installed (see above)" when setup_llama_cpp.sh skips (no npm,
#                             registry unreachable), 1 with "NAME: FAIL: setup_llama_cpp.sh
#                             failed (exit N)" on any other failure.
#   wk_llama_peer_try NAME    the same, but returns 77 instead of exiting on a skip (for a
#                             test that still has work to do without the peer).
#   wk_llama_peer_bench NAME  benches: any failure exits 1 with "NAME: llama.cpp peer unavailable".
#   wk_peer_start, wk_need_models, wk_need_gxx, wk_llama_harness: the common steps of a test,
#                             below.
#   wk_is_asan LIB            true if the static library LIB was built with ASan (its harness
#                             then needs -fsanitize too, and its timings mean nothing).
#
# On success: LIBDIR (the npm package's prebuilt libllama / libggml*.so), INCDIR (llama.h),
# GGML_INCDIR (ggml*.h, from the same llama.cpp release), and two arrays of link flags with an
# rpath to LIBDIR: WK_LLAMA_LINK (libllama + libggml + libggml-base) and WK_GGML_BASE_LINK
# (libggml-base only).  Nothing is exported.  setup_llama_cpp.sh installs the package on first
# use (under WK_PEERS_DIR, default /opt/weightkit-peers) and writes its messages to stderr.
# Works under set -e, -u and pipefail; sets no shell options.

_wk_peer_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Runs setup_llama_cpp.sh; sets the variables and returns 0, or returns the setup's exit status.
_wk_llama_peer_setup() {
    local out rc=0
    out=$(bash "$_wk_peer_dir/setup_llama_cpp.sh") || rc=$?
    [ "$rc" -eq 0 ] || return "$rc"
    LIBDIR=$(sed -n 's/^LIBDIR=//p' <<<"$out")
    INCDIR=$(sed -n 's/^INCDIR=//p' <<<"$out")
    GGML_INCDIR=$(sed -n 's/^GGML_INCDIR=//p' <<<"$out")
    WK_LLAMA_LINK=(-L"$LIBDIR" -l:libllama.v0.5.0.so -l:libggml.v0.5.0.so -l:libggml-base.so
                   -Wl,-rpath,"$LIBDIR")
    WK_GGML_BASE_LINK=(-L"$LIBDIR" -lggml-base -Wl,-rpath,"$LIBDIR")
}

wk_llama_peer_try() {
    local rc=0
    _wk_llama_peer_setup || rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        echo "$1: FAIL: setup_llama_cpp.sh failed (exit $rc)" >&2
        exit 1
    fi
    return "$rc"
}

wk_llama_peer() {
    wk_llama_peer_try "$1" && return 0
    echo "$1: skipped: the llama.cpp npm package cannot be installed (see above)" >&2
    exit 77
}

wk_llama_peer_bench() {
    _wk_llama_peer_setup && return 0
    echo "$1: llama.cpp peer unavailable" >&2
    exit 1
}

wk_is_asan() {
    # grep reads all of nm's output (no -q): under pipefail an early exit would be a SIGPIPE.
    nm -A "$1" 2>/dev/null | grep '__asan_' >/dev/null
}

# wk_src_includes SRC: sets the array WK_INC to -I flags for every public header folder of the
# source tree at SRC (the layer folders of docs/CONTRIBUTING.md; never internal/ or x86/), for
# harnesses and benches compiled outside CMake against build/libweightkit.a.
wk_src_includes() {
    local d
    WK_INC=()
    while IFS= read -r d; do WK_INC+=(-I"$d"); done < <(
        find "$1/common" "$1/formats" "$1/tools" -type f -name '*.h' \
             ! -path '*/internal/*' ! -path '*/x86/*' -printf '%h\n' | LC_ALL=C sort -u)
}

# wk_bench_lib NAME BUILD: for benches compiled against BUILD/libweightkit.a — sets LIB and WK_INC
# (wk_src_includes of this source tree), or exits 1 when the library is missing or is a
# sanitizer build (its timings would mean nothing).
wk_bench_lib() {
    LIB=$2/libweightkit.a
    [ -f "$LIB" ] || { echo "$1: no $LIB (build weightkit first)" >&2; exit 1; }
    wk_src_includes "$(cd "$_wk_peer_dir/../.." && pwd)"
    if wk_is_asan "$LIB"; then
        echo "$1: $LIB is a sanitizer build; timings would be meaningless" >&2; exit 1
    fi
}

# wk_peer_start NAME: the start of a peer test named NAME (after SRC is set and this file sourced):
# BIN (WK_BIN_DIR, default SRC/build/bin), PY (Debian's python3), TMP (WK_TMP/NAME, or a new
# temporary folder/NAME; emptied), and the functions skip MSG (exit 77, "NAME: SKIP: MSG") and
# die MSG (exit 1, "not ok - NAME: MSG").
wk_peer_start() {
    _wk_test_name=$1
    BIN=${WK_BIN_DIR:-$SRC/build/bin}
    TMP=${WK_TMP:-$(mktemp -d)}/$1
    PY=/usr/bin/python3
    rm -rf "$TMP"
    mkdir -p "$TMP"
    skip() { echo "$_wk_test_name: SKIP: $*" >&2; exit 77; }
    die() { echo "not ok - $_wk_test_name: $*" >&2; exit 1; }
}

# wk_need_models MODELS: skip (the caller's skip function) unless the committed tiny fixture model
# and heldout.txt are in MODELS and PY (Debian's python3) has numpy.
wk_need_models() {
    [[ -f $1/tiny/consolidated.00.pth && -f $1/heldout.txt ]] ||
        skip "fixture models not present in $1 (tests/fixtures/gen/make_models.sh)"
    [[ -x $PY ]] && $PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
}

# wk_need_gxx TOOL: skip (the caller's skip function) unless g++ is there to build llama.cpp's TOOL.
wk_need_gxx() {
    command -v g++ >/dev/null || skip "g++ needed to build llama.cpp's $1 (apt-get install g++)"
}

# wk_llama_harness OUT: compiles tests/peer/llama_harness.c against the peer (after wk_llama_peer)
# into OUT and exports WK_LLAMA_LIBDIR; returns non-zero (cc's messages on stderr) when it does
# not compile.
wk_llama_harness() {
    cc -std=c11 -O1 -Wall -o "$1" "$_wk_peer_dir/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
        "${WK_LLAMA_LINK[@]}" || return
    export WK_LLAMA_LIBDIR=$LIBDIR
}

# wk_peer_tools NAME DIR: compiles tests/peer/llama_harness.c and llama_quantize_peer.c against
# the peer (after wk_llama_peer) into DIR/harness and DIR/qpeer and exports WK_LLAMA_LIBDIR;
# exits 1 with "NAME: FAIL: ..." when either does not compile.
wk_peer_tools() {
    wk_llama_harness "$2/harness" ||
        { echo "$1: FAIL: cannot compile llama_harness.c against $INCDIR" >&2; exit 1; }
    cc -std=c11 -O2 -Wall -o "$2/qpeer" "$_wk_peer_dir/llama_quantize_peer.c" -I"$INCDIR" -I"$GGML_INCDIR" \
        "${WK_LLAMA_LINK[@]}" -lm || { echo "$1: FAIL: cannot compile llama_quantize_peer.c against $INCDIR" >&2; exit 1; }
    export WK_LLAMA_LIBDIR=$LIBDIR
}

# wk_rel A.bin B.bin: prints max |a - b| / max |b| of two float32 files (Debian python3-numpy);
# wk_le X Y: true if X <= Y (floats).
wk_rel() { /usr/bin/python3 -c "
import numpy as np, sys
a = np.fromfile(sys.argv[1], '<f4'); b = np.fromfile(sys.argv[2], '<f4')
assert a.size == b.size and a.size > 0, (a.size, b.size)
print('%.3e' % (np.abs(a - b).max() / np.abs(b).max()))" "$1" "$2"; }
wk_le() { /usr/bin/python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }

# wk_llama_tools NAME DIR [perplexity] [imatrix]: compiles llama.cpp's own llama-perplexity and
# llama-imatrix (tools/perplexity, tools/imatrix of the bundled source, the exact release of the
# prebuilt libraries) against the npm package's libllama + libllama-common into DIR (after
# wk_llama_peer), and links the CPU backends beside them (ggml loads backends from the
# executable's directory).  Exits 1 with "NAME: FAIL: ..." when one does not compile.
wk_llama_tools() {
    local name=$1 dir=$2 t src
    local llsrc; llsrc=$(dirname "$INCDIR")
    shift 2
    for t in "$@"; do
        case $t in
            perplexity) src=("$llsrc/tools/perplexity/main.cpp" "$llsrc/tools/perplexity/perplexity.cpp") ;;
            imatrix) src=("$llsrc/tools/imatrix/imatrix.cpp") ;;
            *) echo "$name: FAIL: wk_llama_tools: unknown tool $t" >&2; exit 1 ;;
        esac
        g++ -std=c++17 -O2 -o "$dir/llama-$t" "${src[@]}" -I"$INCDIR" -I"$GGML_INCDIR" -I"$llsrc/common" \
            -I"$llsrc/vendor" -L"$LIBDIR" -l:libllama-common.so "${WK_LLAMA_LINK[@]}" -lpthread ||
            { echo "$name: FAIL: cannot compile llama.cpp's llama-$t against $LIBDIR" >&2; exit 1; }
    done
    ln -sf "$LIBDIR"/libggml-cpu-*.so "$dir/"
}
