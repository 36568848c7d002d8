#!/usr/bin/env bash
# eval_kld.sh — wk-eval kld against llama.cpp's own llama-perplexity --kl-divergence.
#
#   1. llama-perplexity (tools/perplexity of the bundled llama.cpp source, the release of the
#      npm package's prebuilt libraries) is compiled against libllama + libllama-common.
#   2. wk-pack the committed tiny model to F16 GGUF; wk-quantize q4_0, q4_k_m and q8_0.
#   3. llama.cpp: --kl-divergence-base on F16 (its base-logits file), then --kl-divergence for
#      each quant: llama.cpp's statistics from its own logits.
#   3b. The statistics alone: tests/peer/kld_stats_peer.c computes wk_kld's statistics from
#      llama.cpp's own logits of the quants (llama_harness logits, the same windows) against
#      llama.cpp's base file: equal to what llama-perplexity prints, to its printed digits.
#   4. wk-eval kld F16 Q4_0 Q4_K_M Q8_0 --tokens (llama.cpp's ids of TEXT) --save-base: same windows, our forward pass and
#      statistics.  KLD mean / median / p90 / p95 / p99, top-1 agreement, PPL(Q), PPL(base)
#      within 5 % relative of llama.cpp's (max KLD reported).
#   5. The files are interchangeable: the header and tokens of our base file are llama.cpp's
#      byte for byte (the same tokenizer and layout); our rows decode to llama.cpp's
#      log-probabilities (reported); wk-eval kld --base-logits reads llama.cpp's file and
#      llama-perplexity --kl-divergence reads ours, each within 5 % of the statistics above.
# Exit 77 (skipped) if npm / the registry / g++ is unavailable or the fixtures are missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (npm cache).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=$SRC/tests/fixtures/models
PY=/usr/bin/python3
CTX=128
CHUNKS=16
skip() { echo "eval_kld.sh: SKIP: $*" >&2; exit 77; }
die() { echo "eval_kld.sh: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

wk_need_models "$MODELS"
wk_need_gxx llama-perplexity
[[ -x $BIN/wk-eval && -x $BIN/wk-pack && -x $BIN/wk-quantize ]] || die "build wk-eval, wk-pack, wk-quantize first ($BIN)"
rm -rf "$TMP" && mkdir -p "$TMP"
wk_llama_peer eval_kld.sh
wk_llama_tools eval_kld.sh "$TMP" perplexity
wk_peer_tools eval_kld.sh "$TMP"
wk_src_includes "$SRC"
LIB="$BIN/../libweightkit.a"
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi
cc -std=c11 -O2 -Wall "${san[@]}" -o "$TMP/kld_stats_peer" "$SRC/tests/peer/kld_stats_peer.c" "${WK_INC[@]}" "$LIB" \
    -fopenmp -lz -lcrypto -lzip -lxxhash -lm || die "cannot compile kld_stats_peer.c"
cd "$TMP"

"$BIN/wk-pack" -q "$MODELS/tiny" f16.gguf --outtype f16 --no-digest || die "wk-pack"
QUANTS="q4_0 q4_k_m q8_0"
for q in $QUANTS; do "$BIN/wk-quantize" -q f16.gguf "$q.gguf" "$q" || die "wk-quantize $q"; done

# ---- llama.cpp's own statistics ------------------------------------------------------------
# flash attention off and an F32 KV cache, as llama_harness (and as wk-eval computes)
LP=(./llama-perplexity -c "$CTX" --chunks "$CHUNKS" -t 2 -fa off -ctk f32 -ctv f32)
"${LP[@]}" -m f16.gguf -f "$MODELS/heldout.txt" --kl-divergence-base ll-base.logits >ll-base.txt 2>&1 ||
    { tail -5 ll-base.txt >&2; die "llama-perplexity --kl-divergence-base"; }
for q in $QUANTS; do
    "${LP[@]}" -m "$q.gguf" --kl-divergence --kl-divergence-base ll-base.logits >"ll-$q.txt" 2>&1 ||
        { tail -5 "ll-$q.txt" >&2; die "llama-perplexity --kl-divergence $q"; }
done

# ---- the statistics alone, from llama.cpp's logits -----------------------------------------
$PY - "$QUANTS" <<'PY' || die "wk_kld's statistics from llama.cpp's logits differ from llama-perplexity's"
import re, struct, subprocess, sys
b = open("ll-base.logits", "rb").read()
n_ctx, nv, nc = struct.unpack_from("<Iii", b, 8)
toks = struct.unpack_from("<%di" % (n_ctx * nc), b, 20)
bos = toks[0]
bad = 0
for q in sys.argv[1].split():
    for c in range(nc):
        w = list(toks[c * n_ctx:(c + 1) * n_ctx]); w[0] = bos
        subprocess.run(["./harness", "logits", q + ".gguf", "%s.%d.bin" % (q, c)] + [str(t) for t in w],
                       check=True, stdout=subprocess.DEVNULL)
    ours = dict(l.split() for l in subprocess.run(["./kld_stats_peer", "ll-base.logits", q], check=True,
                capture_output=True, text=True).stdout.splitlines())
    t = open("ll-%s.txt" % q).read()
    num = r"(-?[0-9.]+)"
    ref = {"kld_mean": r"Mean\s+KLD:\s*", "kld_max": r"Maximum KLD:\s*", "kld_p99": r"99\.0%\s+KLD:\s*",
           "kld_median": r"Median\s+KLD:\s*", "ppl": r"Mean PPL\(Q\)\s*:\s*", "ppl_base": r"Mean PPL\(base\)\s*:\s*",
           "top1_agreement": r"Same top p:\s*"}
    worst = 0
    for k, p in ref.items():
        r = float(re.search(p + num, t).group(1)) / (100 if k == "top1_agreement" else 1)
        o = float(ours[k])
        d = abs(o - r) / abs(r)
        worst = max(worst, d)
        if not abs(o - r) <= 1.5e-6 + 1e-4 * abs(r):
            print("not ok - %s %s: ours from llama.cpp's logits %.9g, llama-perplexity %.9g" % (q, k, o, r)); bad = 1
    print("ok - %s: wk_kld from llama.cpp's logits = llama-perplexity's statistics (worst %.1e relative, "
          "at its printed precision)" % (q, worst))
sys.exit(bad)
PY

# ---- ours ------------------------------------------------------------------------------------
# The text's tokens as llama.cpp tokenizes it (llama_tokenize, BOS first): wk-eval's own
# tokenizer is tested elsewhere; here the same ids make the windows comparable.
./harness tokenize f16.gguf "$MODELS/heldout.txt" >ids.txt || die "llama_harness tokenize"
"$BIN/wk-eval" kld f16.gguf q4_0.gguf q4_k_m.gguf q8_0.gguf --tokens ids.txt --ctx "$CTX" \
    --chunks "$CHUNKS" --save-base wk-base.logits --svg kld.svg --json -q >wk.json || die "wk-eval kld"
for q in $QUANTS; do
    "$BIN/wk-eval" kld --base-logits ll-base.logits "$q.gguf" --json -q >"wk-llbase-$q.json" ||
        die "wk-eval kld --base-logits (llama.cpp's file) $q"
    "${LP[@]}" -m "$q.gguf" --kl-divergence --kl-divergence-base wk-base.logits >"ll-wkbase-$q.txt" 2>&1 ||
        { tail -5 "ll-wkbase-$q.txt" >&2; die "llama-perplexity --kl-divergence with our base file ($q)"; }
done
grep -q "<svg" kld.svg || die "no SVG"
# The floor: how far our forward pass is from llama.cpp's for the same model, as KLD
# statistics (our logits against llama.cpp's base file of that same model).
"$BIN/wk-eval" kld --base-logits ll-base.logits f16.gguf --json -q >wk-floor-f16.json || die "wk-eval kld floor f16"
for q in $QUANTS; do
    "${LP[@]}" -m "$q.gguf" -f "$MODELS/heldout.txt" --kl-divergence-base "ll-self-$q.logits" >/dev/null 2>&1 ||
        die "llama-perplexity --kl-divergence-base $q"
    "$BIN/wk-eval" kld --base-logits "ll-self-$q.logits" "$q.gguf" --json -q >"wk-floor-$q.json" || die "wk-eval kld floor $q"
done

ntok=$((20 + 4 * CTX * CHUNKS))
cmp -n "$ntok" ll-base.logits wk-base.logits ||
    die "header or tokens of our base file differ from llama-perplexity's"
[[ $(stat -c %s ll-base.logits) == "$(stat -c %s wk-base.logits)" ]] || die "base file sizes differ"
echo "ok - base file: header and $((CTX * CHUNKS)) tokens identical to llama-perplexity's, same size"

$PY - "$QUANTS" <<'PY' || die "statistics differ from llama.cpp's"
import json, re, sys
import numpy as np

def llama(path):
    t = open(path, encoding="utf-8", errors="replace").read()
    num = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?)"
    pats = {"ppl": r"Mean PPL\(Q\)\s*:\s*" + num, "ppl_base": r"Mean PPL\(base\)\s*:\s*" + num,
            "kld_mean": r"Mean\s+KLD:\s*" + num, "kld_max": r"Maximum KLD:\s*" + num,
            "kld_p99_9": r"99\.9%\s+KLD:\s*" + num, "kld_p99": r"99\.0%\s+KLD:\s*" + num,
            "kld_p95": r"95\.0%\s+KLD:\s*" + num, "kld_p90": r"90\.0%\s+KLD:\s*" + num,
            "kld_median": r"Median\s+KLD:\s*" + num, "top1_agreement": r"Same top p:\s*" + num}
    out = {}
    for k, p in pats.items():
        m = re.search(p, t)
        if not m: sys.exit("%s: no %s in llama-perplexity's output" % (path, k))
        out[k] = float(m.group(1)) / (100 if k == "top1_agreement" else 1)
    return out

CHECK = ["kld_mean", "kld_median", "kld_p90", "kld_p95", "kld_p99", "top1_agreement", "ppl", "ppl_base"]
# The floor (reported): the KLD statistics of our forward pass against llama.cpp's for the
# same model.  Every statistic must agree within 5 %, except the median (below).
# The median KLD of q8_0 (~5e-5) sits in the rounding noise of the base file's 16-bit
# log-probabilities (the floor percentiles, ~1e-5 to 3e-5, are that noise, F16 included):
# llama.cpp's own q8_0 logits scored against our F16 base file instead of its own move its
# median by ~6 %, though the two F16 passes agree to a mean KLD of ~1e-8.  So the median may
# also differ by that shift, measured from llama.cpp's outputs alone (ll-wkbase vs ll) --
# only where the two sides read different base files: with llama.cpp's own base file read by
# wk-eval (same base, only the model passes differ) every statistic gets plain 5 %.
floors = {m: json.load(open("wk-floor-%s.json" % m)) for m in ["f16"] + sys.argv[1].split()}
for m, f in floors.items():
    print("info - floor %s (our forward vs llama.cpp's, same model): mean KLD %.2e, p90 %.2e, p95 %.2e, "
          "p99 %.2e, top-1 %.4f" % (m, f["kld_mean"], f["kld_p90"], f["kld_p95"], f["kld_p99"], f["top1_agreement"]))
def compare(label, ours, ref, bad, same_base=False):
    q = label.split()[0].rstrip(",")
    base_noise = 0 if same_base else abs(llama("ll-wkbase-%s.txt" % q)["kld_median"] - ref["kld_median"])
    worst = 0
    for k in CHECK:
        d = abs(ours[k] - ref[k]) / abs(ref[k])
        worst = max(worst, d)
        extra = base_noise if k == "kld_median" else 0
        if d > 0.05 and abs(ours[k] - ref[k]) <= 0.05 * abs(ref[k]) + extra:
            print("info - %s %s: %.6g vs llama.cpp %.6g (%.1f%%) is within 5%% + the base file's shift %.2e"
                  % (label, k, ours[k], ref[k], 100 * d, extra))
        elif not d <= 0.05:
            print("not ok - %s %s: %.6g vs llama.cpp %.6g (%.1f%%)" % (label, k, ours[k], ref[k], 100 * d))
            bad.append(label)
    print("%s - %s: mean KLD %.6f (llama.cpp %.6f), p99 %.5f (%.5f), top-1 %.4f (%.4f), max %.4f (%.4f); "
          "worst relative difference %.2f%%" % ("not ok" if label in bad else "ok", label, ours["kld_mean"],
          ref["kld_mean"], ours["kld_p99"], ref["kld_p99"], ours["top1_agreement"], ref["top1_agreement"],
          ours["kld_max"], ref["kld_max"], 100 * worst))

bad = []
wk = json.load(open("wk.json"))
models = {m["model"].replace(".gguf", ""): m for m in wk["models"]}
for q in sys.argv[1].split():
    ref = llama("ll-%s.txt" % q)
    compare("%s vs f16" % q, models[q], ref, bad)
    compare("%s, llama.cpp's base file read by wk-eval" % q, json.load(open("wk-llbase-%s.json" % q)), ref, bad,
            same_base=True)
    compare("%s, our base file read by llama-perplexity" % q, llama("ll-wkbase-%s.txt" % q), ref, bad)

# our rows against llama.cpp's: the decoded base log-probabilities
def rows(path):
    b = open(path, "rb").read()
    n_ctx, n_vocab, n_chunk = np.frombuffer(b[8:20], "<i4")
    s = 2 * ((n_vocab + 1) // 2) + 4
    r = np.frombuffer(b[20 + 4 * n_ctx * n_chunk:], "<u2").reshape(-1, s)
    sc = r[:, 0:2].copy().view("<f4")[:, 0]; mn = r[:, 2:4].copy().view("<f4")[:, 0]
    return sc[:, None] * r[:, 4:4 + n_vocab] + mn[:, None]
a, b = rows("wk-base.logits"), rows("ll-base.logits")
keep = b > -16
print("ok - base rows: max |log p (ours) - log p (llama.cpp)| = %.3e over %d log-probabilities > -16"
      % (np.abs(a - b)[keep].max(), keep.sum()))
sys.exit(1 if bad else 0)
PY
echo "eval_kld.sh: ok"
