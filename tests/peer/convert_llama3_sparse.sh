#!/usr/bin/env bash
# wk-convert --dry-run on a shape-exact Llama 3.1 8B Meta checkpoint whose weights are holes
# (tests/peer/sparse_meta.c, compiled here against build/libweightkit.a; 16 GB apparent, ~1 MB
# on disk): the real checkpoint is opened and validated (zip, pickle, every tensor's shape,
# params.json with use_scaled_rope) and the planned files must have the sizes of Meta's
# published meta-llama/Llama-3.1-8B conversion (4 shards 4,976,698,672 / 4,999,802,720 /
# 4,915,916,176 / 1,168,138,808 bytes, index 23,950 bytes); config.json must hold the published
# values (826 bytes, sha256 54acfad3…, written by transformers 4.43.0.dev0 and edited by hand:
# rebuilt here from ours without head_dim, with that version string and Meta's key order).
# The streamed run itself (16 GB written) is bench/convert_llama3_sparse.sh, not run here.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}/wk-convert
LIB=${WK_BIN_DIR:-$SRC/build/bin}/../libweightkit.a
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-l3sparse.XXXXXX")}
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x "$BIN" ] && [ -f "$LIB" ] || { echo "convert_llama3_sparse.sh: build weightkit first" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"
wk_src_includes "$SRC"
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi
CC=${CC:-cc}
"$CC" -std=c11 -O2 -Wall -Wextra -fopenmp "${san[@]}" "${WK_INC[@]}" "$SRC/tests/peer/sparse_meta.c" \
    "$LIB" $(pkg-config --libs libzip libxxhash) -lcrypto -lz -lm -o "$TMP/sparse_meta" \
    || { echo "not ok - cannot compile sparse_meta.c"; exit 1; }
mkdir -p "$TMP/m"
"$TMP/sparse_meta" "$TMP/m" 4096 32 32 8 14336 1 scaled || { echo "not ok - sparse_meta"; exit 1; }

fail=0
"$BIN" "$TMP/m" --dry-run --no-tokenizer --llama_version 3.1 >"$TMP/plan" 2>"$TMP/err" \
    || { echo "not ok - dry run: $(cat "$TMP/err")"; exit 1; }
want() { # FILE SIZE
    if grep -Eq "^ +$2  $1\$" "$TMP/plan"; then echo "ok - $1: $2 bytes (published)"
    else echo "not ok - $1: not $2 bytes: $(grep " $1\$" "$TMP/plan")"; fail=1; fi
}
want model-00001-of-00004.safetensors 4976698672
want model-00002-of-00004.safetensors 4999802720
want model-00003-of-00004.safetensors 4915916176
want model-00004-of-00004.safetensors 1168138808
want model.safetensors.index.json 23950

"$BIN" "$TMP/m" --dry-run --no-tokenizer --llama_version 3.1 --json >"$TMP/plan.json" &&
    /usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["llama_version"]=="3.1" and r["transformers_version"]=="4.45.0.dev0" and r["total_bytes"]==16060581297' "$TMP/plan.json" \
    && echo "ok - --json plan: Llama 3.1, transformers 4.45.0.dev0, 16,060,581,297 bytes" || { echo "not ok - --json plan"; fail=1; }
"$BIN" "$TMP/m" --dry-run --no-tokenizer --llama_version 3.2 2>"$TMP/err32" >/dev/null
grep -q "output.weight differs from tok_embeddings.weight\|ties the embeddings" "$TMP/err32" \
    && echo "not ok - 3.2 on an all-zero checkpoint should pass the tie check" && fail=1 \
    || echo "ok - 3.2 tie check passes on equal (all-zero) embeddings"
exit $fail
