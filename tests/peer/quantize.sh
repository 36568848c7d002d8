#!/usr/bin/env bash
# quantize.sh — wk-quantize against the real llama.cpp quantizer, whole files byte for byte,
# and the quality of the quantized models in the real llama.cpp.
#
#   1. tests/peer/setup_llama_cpp.sh installs node-llama-cpp's prebuilt libllama (npm) and the
#      matching llama.h; tests/peer/llama_quantize_peer.c is compiled against them.
#   2. wk-pack the committed tiny model (fp16, Meta layout) to an F16 GGUF and tiny-gqa to a
#      BF16 GGUF (no weightkit digests: llama-quantize would copy them unchanged).
#   3. For every TYPE (the 2-4-bit presets are in tests/peer/quantize_imatrix.sh; here also on
#      the BF16 GQA model): llama_model_quantize (what llama-quantize runs, 2 threads) and
#      wk-quantize -j1 and -j2 on the same input: the three files must be identical; also
#      --pure, the tensor-type overrides (--output-tensor-type, --token-embedding-type, against
#      llama_model_quantize's output_tensor_type / token_embedding_type), and a Meta directory
#      given directly to wk-quantize (pack + quantize).
#   4. llama.cpp loads F16, Q8_0, Q4_0, Q4_K_M (and the --search variants) and evaluates the
#      held-out text (n_ctx 128): perplexity of each, and the logits' max relative difference
#      from the F16 file's over the first window.  Limits: Q8_0 within 0.5% of F16's
#      perplexity, Q4_0/Q4_K_M within 3%.
# Exit 77 (skipped) if npm / the registry is unavailable or the fixtures are missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (npm cache).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=$SRC/tests/fixtures/models
PY=/usr/bin/python3
skip() { echo "quantize.sh: SKIP: $*" >&2; exit 77; }
die() { echo "quantize.sh: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -f $MODELS/tiny/consolidated.00.pth && -f $MODELS/heldout.txt ]] ||
    skip "fixture models not present in $MODELS (tests/fixtures/gen/make_models.sh)"
[[ -x $PY ]] && $PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
[[ -x $BIN/wk-quantize && -x $BIN/wk-pack ]] || die "build wk-quantize and wk-pack first ($BIN)"
rm -rf "$TMP" && mkdir -p "$TMP"

wk_llama_peer quantize.sh   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 77 / 1
export WK_LLAMA_LIBDIR=$LIBDIR
PEER=$TMP/llama_quantize_peer
cc -std=c11 -O2 -Wall -o "$PEER" "$SRC/tests/peer/llama_quantize_peer.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" -lm ||
    die "cannot compile the harness against $INCDIR"

cd "$TMP"
"$BIN/wk-pack" "$MODELS/tiny" tiny-f16.gguf --outtype f16 --no-digest -q || die "wk-pack tiny"
"$BIN/wk-pack" "$MODELS/tiny-gqa" gqa-bf16.gguf --outtype bf16 --no-digest -q || die "wk-pack tiny-gqa"

# ---- byte-identical files ---------------------------------------------------------
same=0
check_same() {  # check_same INPUT TYPE FTYPE [extra wk-quantize args] (pure: --pure)
    local in=$1 t=$2 ft=$3; shift 3
    local tag=${in%.gguf}-$t${1:+$1}
    "$PEER" quantize "$in" "ref-$tag.gguf" "$ft" 2 ${1:+pure} || die "llama_model_quantize $tag"
    for j in 1 2; do
        "$BIN/wk-quantize" "$in" "wk-$tag-j$j.gguf" "$t" -j$j -q "$@" || die "wk-quantize $tag -j$j"
        cmp -s "ref-$tag.gguf" "wk-$tag-j$j.gguf" ||
            die "$tag: wk-quantize -j$j differs from llama.cpp ($(cmp "ref-$tag.gguf" "wk-$tag-j$j.gguf" | head -1))"
    done
    same=$((same + 1))
    echo "ok - $tag: identical to llama_model_quantize ($(stat -c %s "ref-$tag.gguf") bytes; -j1 and -j2)"
}
for tf in q4_0:2 q4_1:3 q5_0:8 q5_1:9 q8_0:7 q4_k_s:14 q4_k_m:15 q5_k_s:16 q5_k_m:17 q6_k:18; do
    check_same tiny-f16.gguf "${tf%:*}" "${tf#*:}"
done
for tf in q4_0:2 q8_0:7 q4_k_m:15 q6_k:18 q2_k:10 q3_k_m:12 iq4_xs:30 iq4_nl:25; do
    check_same gqa-bf16.gguf "${tf%:*}" "${tf#*:}"
done
check_same tiny-f16.gguf q4_0 2 --pure
# Tensor-type overrides: llama_model_quantize with output_tensor_type / token_embedding_type set
# (llama-quantize's --output-tensor-type / --token-embedding-type) against wk-quantize's options.
cat > ovr_peer.c <<'EOF2'
/* ovr_peer IN OUT FTYPE OUTPUT_TYPE EMBD_TYPE PURE: llama_model_quantize with the two
 * tensor-type overrides (ggml type ids; -1 leaves one unset), 2 threads. */
#include <stdio.h>
#include <stdlib.h>
#include "ggml.h"
#include "llama.h"
static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)u; if (l >= GGML_LOG_LEVEL_ERROR) fputs(t, stderr); }
int main(int argc, char **argv)
{
    if (argc != 7) return 2;
    llama_log_set(quiet, NULL);
    llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[3]);
    p.nthread = 2;
    if (atoi(argv[4]) >= 0) p.output_tensor_type = (enum ggml_type)atoi(argv[4]);
    if (atoi(argv[5]) >= 0) p.token_embedding_type = (enum ggml_type)atoi(argv[5]);
    p.pure = atoi(argv[6]) != 0;
    return llama_model_quantize(argv[1], argv[2], &p) ? 1 : 0;
}
EOF2
cc -std=c11 -O2 -Wall -o ovr_peer ovr_peer.c -I"$INCDIR" -I"$GGML_INCDIR" "${WK_LLAMA_LINK[@]}" ||
    die "cannot compile ovr_peer.c"
check_ovr() {  # check_ovr TYPE FTYPE OUT_ID EMBD_ID PURE wk-quantize-args...
    local t=$1 ft=$2 oid=$3 eid=$4 pure=$5; shift 5
    local tag="ovr-$t-$oid-$eid-$pure"
    ./ovr_peer tiny-f16.gguf "ref-$tag.gguf" "$ft" "$oid" "$eid" "$pure" || die "llama_model_quantize $tag"
    "$BIN/wk-quantize" tiny-f16.gguf "wk-$tag.gguf" "$t" -q "$@" || die "wk-quantize $tag"
    cmp -s "ref-$tag.gguf" "wk-$tag.gguf" || die "$tag ($*): differs from llama.cpp ($(cmp "ref-$tag.gguf" "wk-$tag.gguf" | head -1))"
    same=$((same + 1))
    echo "ok - $t $*: identical to llama_model_quantize with the same overrides"
}
check_ovr q4_k_m 15 8 1 0 --output-tensor-type q8_0 --token-embedding-type f16
check_ovr q4_0 2 13 14 0 --output-tensor-type q5_k --token-embedding-type q6_k
check_ovr q5_0 8 30 -1 0 --output-tensor-type bf16
check_ovr q4_0 2 14 -1 1 --output-tensor-type q6_k --pure
check_ovr q8_0 7 -1 2 0 --token-embedding-type q4_0
"$BIN/wk-quantize" "$MODELS/tiny" dir-q4_k_m.gguf q4_k_m -q || die "wk-quantize of the Meta directory"
cmp -s dir-q4_k_m.gguf ref-tiny-f16-q4_k_m.gguf || die "Meta directory input differs from pack + llama_model_quantize"
ls ./*.wk-pack.gguf >/dev/null 2>&1 && die "temporary pack file left behind"
echo "ok - Meta directory input = wk-pack + llama_model_quantize (q4_k_m)"

# ---- quality in llama.cpp ----------------------------------------------------------
"$BIN/wk-quantize" tiny-f16.gguf s-q4_0.gguf q4_0 --search -q || die "--search q4_0"
"$BIN/wk-quantize" tiny-f16.gguf s-q4_k_m.gguf q4_k_m --search -q || die "--search q4_k_m"
report=$TMP/quality.txt
: >"$report"
for m in tiny-f16 wk-tiny-f16-q8_0-j1 wk-tiny-f16-q4_0-j1 s-q4_0 wk-tiny-f16-q4_k_m-j1 s-q4_k_m wk-ovr-q4_0-13-14-0; do
    out=$("$PEER" ppl "$m.gguf" "$MODELS/heldout.txt" 128 "$m.logits") || die "llama.cpp failed on $m.gguf"
    echo "$m $out" >>"$report"
done
$PY - "$report" <<'EOF' || die "quality limits"
import sys
import numpy as np
rows = [l.split() for l in open(sys.argv[1])]
ppl = {r[0]: float(r[2]) for r in rows}
base = np.fromfile("tiny-f16.logits", dtype="<f4")
names = {"tiny-f16": "F16", "wk-tiny-f16-q8_0-j1": "Q8_0", "wk-tiny-f16-q4_0-j1": "Q4_0",
         "s-q4_0": "Q4_0 --search", "wk-tiny-f16-q4_k_m-j1": "Q4_K_M", "s-q4_k_m": "Q4_K_M --search",
         "wk-ovr-q4_0-13-14-0": "Q4_0, output Q5_K, token_embd Q6_K"}
limit = {"Q8_0": 0.005, "Q4_0": 0.03, "Q4_K_M": 0.03, "Q4_0, output Q5_K, token_embd Q6_K": 0.03}
bad = 0
print("| model | perplexity (held-out, n_ctx 128, %s tokens) | vs F16 | logits max rel. diff vs F16 |" % rows[0][4])
print("|---|---|---|---|")
for k, label in names.items():
    got = np.fromfile(k + ".logits", dtype="<f4")
    rel = float(np.abs(got - base).max() / np.abs(base).max())
    d = ppl[k] / ppl["tiny-f16"] - 1
    print("| %s | %.4f | %+.2f%% | %.3e |" % (label, ppl[k], 100 * d, rel))
    if label in limit and not abs(d) <= limit[label]:
        print("  %s: perplexity %.2f%% from F16's exceeds %.1f%%" % (label, 100 * d, 100 * limit[label]))
        bad = 1
sys.exit(bad)
EOF
echo "quantize.sh: ok: $same files byte-identical to llama.cpp's quantizer; quality table above"
