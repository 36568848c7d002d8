#!/usr/bin/env bash
# quantize_imatrix.sh — wk-quantize --imatrix against llama.cpp, whole files byte for byte.
#
#   1. tests/peer/llama_imatrix_peer.cpp is built against the npm package's prebuilt libllama
#      and libllama-common (llama.cpp's own imatrix loader, common_imatrix_load) and against
#      libweightkit.a.
#   2. wk-pack the committed tiny model to an F16 GGUF; tests/peer/imatrix_gen.py writes an
#      importance matrix for it in both llama.cpp formats (GGUF and legacy .dat; log-normal
#      sums, hot and never-seen columns) with llama.cpp's gguf-py.
#   3. Our reader's weights = llama-quantize's (load_imatrix) bit for bit, for both files.
#   4. For every preset: llama_model_quantize with those weights (what `llama-quantize
#      --imatrix` runs) and wk-quantize --imatrix -j1 / -j2: identical files; the legacy
#      file for a few; --include-weights / --exclude-weights.
#   5. --allow-requantize: q8_0 and q4_k_m files requantized to q4_0 / q3_k_m / iq4_xs, with and
#      without the imatrix = llama_model_quantize with allow_requantize, warning printed.
#   6. llama.cpp evaluates every preset's imatrix file and the new presets' files without one
#      (a finite held-out perplexity; Q4_0,
#      Q4_K_M, IQ4 within 3% of F16's, Q3_K_M 10%, Q2_K 40%).
# Exit 77 (skipped) if npm / the registry / g++ is unavailable or the fixtures are missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (npm cache).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=$SRC/tests/fixtures/models
PY=/usr/bin/python3
skip() { echo "quantize_imatrix.sh: SKIP: $*" >&2; exit 77; }
die() { echo "quantize_imatrix.sh: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"
wk_src_includes "$SRC"

[[ -f $MODELS/tiny/consolidated.00.pth && -f $MODELS/heldout.txt ]] ||
    skip "fixture models not present in $MODELS (tests/fixtures/gen/make_models.sh)"
[[ -x $PY ]] && $PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
command -v g++ >/dev/null || skip "g++ needed for llama.cpp's C++ imatrix loader (apt-get install g++)"
[[ -x $BIN/wk-quantize && -x $BIN/wk-pack ]] || die "build wk-quantize and wk-pack first ($BIN)"
LIB="$BIN/../libweightkit.a"
[[ -f $LIB ]] || die "no $LIB (build weightkit first)"
rm -rf "$TMP" && mkdir -p "$TMP"

wk_llama_peer quantize_imatrix.sh   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 77 / 1
LLAMA_SRC=$(dirname "$INCDIR")
[[ -f $LLAMA_SRC/common/imatrix-loader.h && -f $LIBDIR/libllama-common.so ]] ||
    die "no common/imatrix-loader.h or libllama-common.so in the llama.cpp package"
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi
PEER=$TMP/llama_imatrix_peer
g++ -std=c++17 -O2 -Wall "${san[@]}" -o "$PEER" "$SRC/tests/peer/llama_imatrix_peer.cpp" \
    -I"$INCDIR" -I"$GGML_INCDIR" -I"$LLAMA_SRC/common" "${WK_INC[@]}" "$LIB" \
    -l:libllama-common.so "${WK_LLAMA_LINK[@]}" -fopenmp -lz -lcrypto -lzip -lxxhash -lm ||
    die "cannot compile the harness against $LIBDIR"
export WK_LLAMA_LIBDIR=$LIBDIR

cd "$TMP"
"$BIN/wk-pack" "$MODELS/tiny" tiny-f16.gguf --outtype f16 --no-digest -q || die "wk-pack tiny"
$PY "$SRC/tests/peer/imatrix_gen.py" "$LLAMA_SRC" tiny-f16.gguf im 20 >/dev/null || die "imatrix_gen.py"

# ---- the reader ---------------------------------------------------------------------
for f in im.gguf im.dat; do
    "$PEER" weights "$f" || die "$f: our importance weights differ from llama-quantize's"
    echo "ok - $f: weights identical to llama-quantize's load_imatrix"
done

# ---- byte-identical files -------------------------------------------------------------
same=0
check_same() {  # check_same TYPE FTYPE IMATRIX [include|exclude NAME]
    local t=$1 ft=$2 im=$3; shift 3
    local tag=$t-${im/./-}${1:+-$1-$2} extra=()
    [[ $# -eq 2 ]] && extra=("--$1-weights" "$2")
    "$PEER" quantize tiny-f16.gguf "ref-$tag.gguf" "$ft" 2 "$im" "$@" || die "llama_model_quantize $tag"
    for j in 1 2; do
        "$BIN/wk-quantize" tiny-f16.gguf "wk-$tag-j$j.gguf" "$t" -j$j -q --imatrix "$im" "${extra[@]}" ||
            die "wk-quantize $tag -j$j"
        cmp -s "ref-$tag.gguf" "wk-$tag-j$j.gguf" ||
            die "$tag: wk-quantize --imatrix -j$j differs from llama.cpp ($(cmp "ref-$tag.gguf" "wk-$tag-j$j.gguf" | head -1))"
    done
    same=$((same + 1))
    echo "ok - $tag: identical to llama_model_quantize with the imatrix ($(stat -c %s "ref-$tag.gguf") bytes; -j1 and -j2)"
}
PRESETS="q4_0:2 q4_1:3 q5_0:8 q5_1:9 q8_0:7 q2_k:10 q2_k_s:21 q3_k_s:11 q3_k_m:12 q3_k_l:13
         q4_k_s:14 q4_k_m:15 q5_k_s:16 q5_k_m:17 q6_k:18 iq4_nl:25 iq4_xs:30"
for tf in $PRESETS; do
    check_same "${tf%:*}" "${tf#*:}" im.gguf
done
for tf in q4_0:2 q4_k_m:15 q5_1:9 q3_k_m:12 iq4_xs:30; do
    check_same "${tf%:*}" "${tf#*:}" im.dat
done
# The new presets without an imatrix too (q2_k_s needs one: refused by both).
for tf in q2_k:10 q3_k_s:11 q3_k_m:12 q3_k_l:13 iq4_nl:25 iq4_xs:30; do
    t=${tf%:*} ft=${tf#*:}
    "$PEER" quantize tiny-f16.gguf "ref-$t-none.gguf" "$ft" 2 none || die "llama_model_quantize $t"
    for j in 1 2; do
        "$BIN/wk-quantize" tiny-f16.gguf "wk-$t-none-j$j.gguf" "$t" -j$j -q || die "wk-quantize $t -j$j"
        cmp -s "ref-$t-none.gguf" "wk-$t-none-j$j.gguf" ||
            die "$t: wk-quantize -j$j differs from llama.cpp ($(cmp "ref-$t-none.gguf" "wk-$t-none-j$j.gguf" | head -1))"
    done
    same=$((same + 1))
    echo "ok - $t (no imatrix): identical to llama_model_quantize ($(stat -c %s "ref-$t-none.gguf") bytes; -j1 and -j2)"
done
if "$PEER" quantize tiny-f16.gguf ref-q2_k_s-none.gguf 21 2 none 2>/dev/null; then
    die "llama.cpp quantized q2_k_s without an imatrix: the rule changed"
fi
"$BIN/wk-quantize" tiny-f16.gguf wk-q2_k_s-none.gguf q2_k_s -q 2>err.txt &&
    die "wk-quantize q2_k_s without an imatrix succeeded"
grep -q "requires an importance matrix" err.txt || die "q2_k_s without an imatrix: wrong error ($(cat err.txt))"
echo "ok - q2_k_s without an imatrix: refused by both (\"$(head -c 120 err.txt)\")"
check_same q4_k_m 15 im.gguf include attn
check_same q4_k_m 15 im.gguf exclude ffn_down
# The test can tell: the imatrix, and each selection, changes the bytes.
"$BIN/wk-quantize" tiny-f16.gguf plain-q4_k_m.gguf q4_k_m -q || die "wk-quantize q4_k_m"
for f in ref-q4_k_m-im-gguf ref-q4_k_m-im-gguf-include-attn ref-q4_k_m-im-gguf-exclude-ffn_down; do
    cmp -s plain-q4_k_m.gguf "$f.gguf" && die "$f.gguf equals the file without an imatrix"
done
cmp -s ref-q4_k_m-im-gguf.gguf ref-q4_k_m-im-gguf-exclude-ffn_down.gguf &&
    die "--exclude-weights ffn_down changed nothing"
cmp -s ref-q4_k_m-im-gguf.gguf ref-q4_k_m-im-gguf-include-attn.gguf &&
    die "--include-weights attn changed nothing"
echo "ok - the imatrix and --include-weights / --exclude-weights change the output"

# ---- --tensor-type, --override-kv (llama-quantize's tt_overrides / kv_overrides) ------------
check_flags() {  # check_flags TAG TYPE FTYPE IMATRIX "peer args" wk-quantize args...
    local tag=$1 t=$2 ft=$3 im=$4 pargs=$5; shift 5
    # shellcheck disable=SC2086
    "$PEER" quantize tiny-f16.gguf "ref-$tag.gguf" "$ft" 2 "$im" $pargs || die "llama_model_quantize $tag"
    for j in 1 2; do
        "$BIN/wk-quantize" tiny-f16.gguf "wk-$tag-j$j.gguf" "$t" -j$j -q "$@" || die "wk-quantize $tag -j$j"
        cmp -s "ref-$tag.gguf" "wk-$tag-j$j.gguf" ||
            die "$tag ($*): differs from llama.cpp ($(cmp "ref-$tag.gguf" "wk-$tag-j$j.gguf" | head -1))"
    done
    same=$((same + 1))
    echo "ok - $tag ($*): identical to llama_model_quantize"
}
# ggml ids: q8_0 8, q3_K 11, q5_K 13, iq4_xs 23
check_flags tt1 q4_k_m 15 none "tt attn_v=8 tt blk\.1\.ffn_(up|gate)=11" \
    --tensor-type attn_v=q8_0 --tensor-type 'blk\.1\.ffn_(up|gate)=q3_k'
check_flags tt2 q3_k_m 12 im.gguf "tt FFN_DOWN=23 tt output=13" \
    --imatrix im.gguf --tensor-type FFN_DOWN=iq4_xs --tensor-type output=q5_k
check_flags kv1 q4_0 2 none "kv general.name=str:renamed kv x.n=int:-7 kv x.f=float:0.25 kv x.b=bool:true kv general.file_type=int:99" \
    --override-kv general.name=str:renamed --override-kv x.n=int:-7 --override-kv x.f=float:0.25 \
    --override-kv x.b=bool:true --override-kv general.file_type=int:99
check_flags kv2 q4_k_m 15 im.gguf "kv quantize.imatrix.file=str:other kv a.b=str:x" \
    --imatrix im.gguf --override-kv quantize.imatrix.file=str:other --override-kv a.b=str:x
check_flags pure1 iq4_xs 30 im.gguf "pure 1" --imatrix im.gguf --pure
# --dry-run: the plan's sizes are the real file's
"$BIN/wk-quantize" tiny-f16.gguf q3_k_m --dry-run --json > dry.json || die "--dry-run"
$PY - dry.json ref-q3_k_m-none.gguf <<'PY' || die "--dry-run sizes"
import json, os, sys
r = json.load(open(sys.argv[1]))
assert r["total"]["file_size"] == os.path.getsize(sys.argv[2]), (r["total"]["file_size"], os.path.getsize(sys.argv[2]))
assert len(r["tensors"]) == r["total"]["tensors"] > 0
PY
[[ -e q3_k_m ]] && die "--dry-run wrote a file"
echo "ok - --dry-run: plan of $(grep -c '"name"' dry.json) tensors, file size = the real q3_k_m file's"
"$BIN/wk-quantize" tiny-f16.gguf q2_k_s --dry-run -q 2>dry-err.txt || die "--dry-run q2_k_s without an imatrix failed"
grep -q "will require an imatrix" dry-err.txt || die "--dry-run q2_k_s: no imatrix warning"
echo "ok - --dry-run q2_k_s without an imatrix: llama-quantize's warning"

# ---- --allow-requantize: quantized inputs dequantized and quantized again ----------------
# llama.cpp (allow_requantize) dequantizes with ggml's to_float and quantizes the floats;
# a tensor already of its target type is copied.  Inputs: our (= llama.cpp's) q8_0 and
# q4_k_m files; outputs with and without the imatrix must be the same bytes.
for src in q8_0 q4_k_m; do
    "$BIN/wk-quantize" tiny-f16.gguf "in-$src.gguf" "$src" -q || die "wk-quantize $src"
    "$BIN/wk-quantize" "in-$src.gguf" "rq-refused.gguf" q4_0 -q 2>rq-err.txt &&
        die "$src input quantized without --allow-requantize"
    grep -q "allow-requantize" rq-err.txt || die "$src input: wrong refusal ($(cat rq-err.txt))"
    for tf in q4_0:2 q3_k_m:12 iq4_xs:30; do
        t=${tf%:*} ft=${tf#*:}
        for im in none im.gguf; do
            tag=rq-$src-$t-${im/./-}
            "$PEER" quantize "in-$src.gguf" "ref-$tag.gguf" "$ft" 2 "$im" requant 1 ||
                die "llama_model_quantize $tag"
            imarg=()
            [[ $im == none ]] || imarg=(--imatrix "$im")
            "$BIN/wk-quantize" "in-$src.gguf" "wk-$tag.gguf" "$t" -j2 --allow-requantize "${imarg[@]}" \
                >/dev/null 2>rq-warn.txt || die "wk-quantize $tag: $(cat rq-warn.txt)"
            grep -q "severely reduce quality compared to quantizing from 16bit or 32bit" rq-warn.txt ||
                die "$tag: no requantize warning ($(cat rq-warn.txt))"
            cmp -s "ref-$tag.gguf" "wk-$tag.gguf" ||
                die "$tag: differs from llama.cpp with allow_requantize ($(cmp "ref-$tag.gguf" "wk-$tag.gguf" | head -1))"
            same=$((same + 1))
            echo "ok - $tag: --allow-requantize identical to llama_model_quantize (allow_requantize), warning given"
        done
    done
done

# ---- quality in llama.cpp ------------------------------------------------------------------
cc -std=c11 -O2 -Wall -o ppl_peer "$SRC/tests/peer/llama_quantize_peer.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" -lm || die "cannot compile llama_quantize_peer.c"
# every preset's imatrix file and the new presets without one are evaluated; limits below for some
runs="tiny-f16 wk-rq-q4_k_m-q3_k_m-im-gguf"
for tf in $PRESETS; do runs="$runs wk-${tf%:*}-im-gguf-j1"; done
for t in q2_k q3_k_s q3_k_m q3_k_l iq4_nl iq4_xs; do runs="$runs wk-$t-none-j1"; done
for m in $runs; do
    out=$(./ppl_peer ppl "$m.gguf" "$MODELS/heldout.txt" 128 "$m.logits") || die "llama.cpp failed on $m.gguf"
    echo "$m $out"
    echo "$m $out" >>quality.txt
done
$PY - <<'PY' || die "quality limits"
import sys
rows = {l.split()[0]: float(l.split()[2]) for l in open("quality.txt")}
bad = 0
limit = {"wk-q4_0-im-gguf-j1": 0.03, "wk-q4_k_m-im-gguf-j1": 0.03, "wk-iq4_xs-im-gguf-j1": 0.03,
         "wk-iq4_nl-im-gguf-j1": 0.03, "wk-q3_k_m-im-gguf-j1": 0.10, "wk-q3_k_m-none-j1": 0.10,
         "wk-q2_k-im-gguf-j1": 0.40}
for k, v in rows.items():   # every file llama.cpp ran: a finite perplexity
    if not (v == v and 1 < v < 1e4):
        print("%s: perplexity %r" % (k, v)); bad = 1
for k, lim in limit.items():
    d = rows[k] / rows["tiny-f16"] - 1
    print("%s: perplexity %.4f (%+.2f%% vs F16; limit %.0f%%)" % (k, rows[k], 100 * d, 100 * lim))
    bad |= not abs(d) <= lim
sys.exit(bad)
PY
echo "quantize_imatrix.sh: ok: $same files byte-identical to llama.cpp's quantizer with an imatrix"
