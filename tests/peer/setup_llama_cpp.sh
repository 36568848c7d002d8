#!/usr/bin/env bash
# setup_llama_cpp.sh — install the real llama.cpp (prebuilt, from npm) for peer tests.
#
#   bash tests/peer/setup_llama_cpp.sh        prints two lines:  LIBDIR=<dir>  INCDIR=<dir>
#
# Idempotent.  Installs node-llama-cpp@3.22.1 + @node-llama-cpp/linux-x64@3.22.1 with
# `npm install --ignore-scripts --omit=optional` into $WK_PEERS_DIR/llama.cpp-npm
# (default WK_PEERS_DIR=/opt/weightkit-peers, outside the repository), then clones the
# package's llama/gitRelease.bundle (the exact llama.cpp source the binaries were built
# from) to get the matching include/llama.h and ggml/include/*.h.
# Exit 77 (skip) when npm is missing or the registry cannot be reached; any other failure
# is fatal (exit 1) with a message on stderr.  Not sourced: call it and parse its output.
set -euo pipefail

VER=3.22.1
PEERS=${WK_PEERS_DIR:-/opt/weightkit-peers}
DIR=$PEERS/llama.cpp-npm
SRC=$PEERS/llama.cpp-src-$VER
STAMP=$DIR/.wk-installed-$VER

skip() { echo "setup_llama_cpp: SKIP: $*" >&2; exit 77; }
die() { echo "setup_llama_cpp: ERROR: $*" >&2; exit 1; }

mkdir -p "$PEERS" 2>/dev/null || die "cannot create $PEERS (set WK_PEERS_DIR to a writable directory)"
# one installer at a time (ctest runs peer tests in parallel)
if command -v flock >/dev/null 2>&1; then
    exec 9>"$PEERS/.setup.lock"
    flock 9
fi

if [[ ! -f $STAMP ]]; then
    command -v npm >/dev/null 2>&1 || skip "npm not installed (apt-get install npm)"
    mkdir -p "$DIR" || die "cannot create $DIR (set WK_PEERS_DIR to a writable directory)"
    # Is the registry reachable?  A failure here is an environment problem, not a test failure.
    if ! timeout 60 npm view "node-llama-cpp@$VER" version >/dev/null 2>&1; then
        skip "npm registry unreachable (npm view node-llama-cpp@$VER failed)"
    fi
    [[ -f $DIR/package.json ]] || echo '{"name":"wk-peers","private":true}' >"$DIR/package.json"
    echo "setup_llama_cpp: npm install node-llama-cpp@$VER (about 85 MB) into $DIR" >&2
    (cd "$DIR" && npm install --ignore-scripts --omit=optional --no-audit --no-fund \
        "node-llama-cpp@$VER" "@node-llama-cpp/linux-x64@$VER" >&2) \
        || die "npm install failed in $DIR"
    touch "$STAMP"
fi

LIBDIR=$DIR/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
[[ -d $LIBDIR ]] || die "no prebuilt libraries at $LIBDIR"
ls "$LIBDIR"/libllama*.so* >/dev/null 2>&1 || die "no libllama in $LIBDIR"

BUNDLE=$DIR/node_modules/node-llama-cpp/llama/gitRelease.bundle
if [[ ! -f $SRC/include/llama.h ]]; then
    [[ -f $BUNDLE ]] || die "missing $BUNDLE"
    command -v git >/dev/null 2>&1 || die "git not installed (apt-get install git)"
    rm -rf "$SRC.tmp"
    git -c advice.detachedHead=false clone -q "$BUNDLE" "$SRC.tmp" >&2 || die "git clone of $BUNDLE failed"
    [[ -f $SRC.tmp/include/llama.h ]] || die "bundle has no include/llama.h"
    rm -rf "$SRC"
    mv "$SRC.tmp" "$SRC"
fi

echo "LIBDIR=$LIBDIR"
echo "INCDIR=$SRC/include"
echo "GGML_INCDIR=$SRC/ggml/include"
