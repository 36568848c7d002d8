#!/usr/bin/env bash
# eval_imatrix.sh — wk-eval imatrix against llama.cpp's own llama-imatrix.
#
#   1. llama-imatrix (tools/imatrix of the bundled llama.cpp source) is compiled against the npm
#      package's libllama + libllama-common; tests/peer/llama_imatrix_peer.cpp (llama.cpp's
#      imatrix loader and llama_model_quantize) and imatrix_rewrite.c against libweightkit.a.
#   2. wk-pack the tiny model to F32 GGUF (llama.cpp computes F32 matmuls in float: the
#      activations are comparable to 1e-4) and F16 GGUF.
#   3. llama-imatrix and wk-eval imatrix on the same text, ctx and chunks, both formats:
#      same entries, token counts, chunk_count / chunk_size / datasets; every sum of squared
#      activations within 1e-4 relative (of the entry's largest) of llama.cpp's (libllama's
#      eval callback); also with --process-output (output.weight).
#   4. Our writer: llama-imatrix's sums written again by wk_imatrix_write are its files byte
#      for byte (GGUF and legacy .dat).
#   5. llama.cpp's loader reads our files (common_imatrix_load; weights = wk_imatrix_weights);
#      llama_model_quantize with our imatrix, and wk-quantize --imatrix with it: identical
#      q4_k_m files, different from the one without an imatrix.
# Exit 77 (skipped) if npm / the registry / g++ is unavailable or the fixtures are missing.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (npm cache).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=$SRC/tests/fixtures/models
PY=/usr/bin/python3
CTX=128
CHUNKS=12
skip() { echo "eval_imatrix.sh: SKIP: $*" >&2; exit 77; }
die() { echo "eval_imatrix.sh: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"
wk_src_includes "$SRC"

wk_need_models "$MODELS"
wk_need_gxx llama-imatrix
[[ -x $BIN/wk-eval && -x $BIN/wk-pack && -x $BIN/wk-quantize ]] || die "build wk-eval, wk-pack, wk-quantize first ($BIN)"
LIB="$BIN/../libweightkit.a"
[[ -f $LIB ]] || die "no $LIB (build weightkit first)"
rm -rf "$TMP" && mkdir -p "$TMP"
wk_llama_peer eval_imatrix.sh
wk_llama_tools eval_imatrix.sh "$TMP" imatrix
LLAMA_SRC=$(dirname "$INCDIR")
san=()
if wk_is_asan "$LIB"; then san=(-fsanitize=address,undefined); fi
g++ -std=c++17 -O2 -Wall "${san[@]}" -o "$TMP/imatrix_peer" "$SRC/tests/peer/llama_imatrix_peer.cpp" \
    -I"$INCDIR" -I"$GGML_INCDIR" -I"$LLAMA_SRC/common" "${WK_INC[@]}" "$LIB" \
    -l:libllama-common.so "${WK_LLAMA_LINK[@]}" -fopenmp -lz -lcrypto -lzip -lxxhash -lm ||
    die "cannot compile llama_imatrix_peer.cpp"
cc -std=c11 -O1 -D_GNU_SOURCE -Wall "${san[@]}" -o "$TMP/imatrix_rewrite" "$SRC/tests/peer/imatrix_rewrite.c" \
    "${WK_INC[@]}" "$LIB" -fopenmp -lz -lcrypto -lzip -lxxhash -lm || die "cannot compile imatrix_rewrite.c"
export WK_LLAMA_LIBDIR=$LIBDIR
cd "$TMP"
TEXT=$MODELS/heldout.txt

"$BIN/wk-pack" -q "$MODELS/tiny" f32.gguf --outtype f32 --no-digest || die "wk-pack f32"
"$BIN/wk-pack" -q "$MODELS/tiny" f16.gguf --outtype f16 --no-digest || die "wk-pack f16"

# Flash attention off and an F32 KV cache, as wk-eval computes (llama-imatrix's defaults keep K
# and V in F16: the sums after attention then differ by ~3e-4 relative; reported below).
LI=(./llama-imatrix -m f32.gguf -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t 2 --no-ppl -fa off -ctk f32 -ctv f32)
"${LI[@]}" -o ll.gguf >ll.txt 2>&1 || { tail -5 ll.txt >&2; die "llama-imatrix"; }
"${LI[@]}" -o ll.dat --output-format dat >>ll.txt 2>&1 || { tail -5 ll.txt >&2; die "llama-imatrix dat"; }
"${LI[@]}" -o ll-out.gguf --process-output >>ll.txt 2>&1 || { tail -5 ll.txt >&2; die "llama-imatrix --process-output"; }
./llama-imatrix -m f32.gguf -f "$TEXT" -c "$CTX" --chunks "$CHUNKS" -t 2 --no-ppl -o ll-default.gguf >>ll.txt 2>&1 ||
    { tail -5 ll.txt >&2; die "llama-imatrix (default KV cache)"; }

# llama.cpp's tokens of the text (llama_tokenize, BOS first), so the windows are the same
wk_llama_harness harness || die "cannot compile llama_harness.c"
./harness tokenize f32.gguf "$TEXT" >ids.txt || die "llama_harness tokenize"
WE=("$BIN/wk-eval" imatrix f32.gguf --tokens ids.txt --ctx "$CTX" --chunks "$CHUNKS" -q)
"${WE[@]}" -o wk.gguf --json >wk.json || die "wk-eval imatrix"
"${WE[@]}" -o wk.dat || die "wk-eval imatrix .dat"
"${WE[@]}" -o wk-fmt.bin --output-format dat || die "wk-eval imatrix --output-format dat"
"${WE[@]}" -o wk-out.gguf --process-output || die "wk-eval imatrix --process-output"
cmp -s wk.dat wk-fmt.bin || die "--output-format dat differs from a .dat name"
$PY - wk.json "$CHUNKS" <<'PY' || die "--json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["output"] == "wk.gguf" and j["chunks"] == int(sys.argv[2]) and j["format"] == "gguf", j
PY
echo "ok - wk-eval imatrix: GGUF, .dat (by name and by --output-format), --process-output, --json"

$PY - "$LLAMA_SRC/gguf-py" <<'PY' || die "our importance matrices differ from llama-imatrix's"
import struct, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import gguf

def read_gguf(path):
    r = gguf.GGUFReader(path)
    kv = {}
    for k, f in r.fields.items():
        if k.startswith("imatrix."):
            kv[k] = [bytes(f.parts[i]).decode() for i in f.data] if k == "imatrix.datasets" else int(f.parts[-1][0])
    t = {x.name: np.array(x.data, dtype=np.float64).reshape(-1) for x in r.tensors}
    return kv, t

def read_dat(path):
    b = open(path, "rb").read(); o = 0
    def i32():
        nonlocal o; v = struct.unpack_from("<i", b, o)[0]; o += 4; return v
    out = {}
    for _ in range(i32()):
        n = i32(); name = b[o:o + n].decode(); o += n
        ncall = i32(); nval = i32()
        out[name] = (ncall, np.frombuffer(b, "<f4", nval, o).astype(np.float64)); o += 4 * nval
    chunks = i32(); n = i32(); ds = b[o:o + n].decode(); o += n
    assert o == len(b)
    return out, chunks, ds

bad = 0
for ours, ref in (("wk.gguf", "ll.gguf"), ("wk-out.gguf", "ll-out.gguf")):
    (kw, tw), (kl, tl) = read_gguf(ours), read_gguf(ref)
    # the dataset is the file the tokens came from: ours ids.txt, llama.cpp's the text
    if kw["imatrix.datasets"] != ["ids.txt"]: print("not ok - %s datasets %s" % (ours, kw["imatrix.datasets"])); bad = 1
    kw["imatrix.datasets"] = kl["imatrix.datasets"]
    if kw != kl: print("not ok - %s metadata %s, llama.cpp %s" % (ours, kw, kl)); bad = 1
    if sorted(tw) != sorted(tl):
        print("not ok - %s entries %s, llama.cpp %s" % (ours, sorted(tw), sorted(tl))); bad = 1; continue
    worst = 0
    for n in tl:
        if n.endswith(".counts"):
            if not np.array_equal(tw[n], tl[n]): print("not ok - %s: %s %s vs %s" % (ours, n, tw[n], tl[n])); bad = 1
        else:
            rel = np.abs(tw[n] - tl[n]).max() / np.abs(tl[n]).max()
            worst = max(worst, rel)
    if worst > 1e-4: print("not ok - %s: sums differ by %.3e relative" % (ours, worst)); bad = 1
    print("%s - %s: %d entries, counts identical, sums within %.2e relative of llama-imatrix's (limit 1e-4); %s"
          % ("not ok" if bad else "ok", ours, len(tl) // 2, worst, kw))
(_, td), (_, tw) = read_gguf("ll-default.gguf"), read_gguf("wk.gguf")
print("info - llama-imatrix with its default F16 KV cache: our sums within %.2e relative"
      % max(np.abs(tw[n] - td[n]).max() / np.abs(td[n]).max() for n in td if n.endswith(".in_sum2")))
(ew, cw, dw), (el, cl, dl) = read_dat("wk.dat"), read_dat("ll.dat")
worst = max(np.abs(ew[n][1] - el[n][1]).max() / np.abs(el[n][1]).max() for n in el)
if sorted(ew) != sorted(el) or cw != cl or dw != "ids.txt" or any(ew[n][0] != el[n][0] for n in el) or worst > 1e-4:
    print("not ok - wk.dat differs from ll.dat (chunks %d/%d, dataset %s/%s, worst %.3e)" % (cw, cl, dw, dl, worst)); bad = 1
else:
    print("ok - wk.dat: %d entries, ncall and trailer identical, values within %.2e relative" % (len(el), worst))
sys.exit(bad)
PY

# ---- the writer: llama-imatrix's own sums, written by wk_imatrix_write --------------------
./imatrix_rewrite ll.gguf re.gguf gguf >/dev/null || die "imatrix_rewrite gguf"
./imatrix_rewrite ll.gguf re.dat dat >/dev/null || die "imatrix_rewrite dat"
cmp re.gguf ll.gguf || die "wk_imatrix_write's GGUF differs from llama-imatrix's"
cmp re.dat ll.dat || die "wk_imatrix_write's .dat differs from llama-imatrix's"
echo "ok - wk_imatrix_write: llama-imatrix's sums give its GGUF and .dat byte for byte"

# ---- llama.cpp loads and quantizes with our files; wk-quantize consumes them ---------------
for f in wk.gguf wk.dat wk-out.gguf; do
    ./imatrix_peer weights "$f" >/dev/null || die "$f: llama.cpp's loader rejects it or reads other weights"
done
echo "ok - llama.cpp's common_imatrix_load reads wk.gguf, wk.dat, wk-out.gguf (weights = ours bit for bit)"
for f in wk.gguf wk.dat; do
    ./imatrix_peer quantize f16.gguf "ref-$f.q4km.gguf" 15 2 "$f" || die "llama_model_quantize --imatrix $f"
    "$BIN/wk-quantize" -q f16.gguf "wk-$f.q4km.gguf" q4_k_m --imatrix "$f" || die "wk-quantize --imatrix $f"
    cmp -s "ref-$f.q4km.gguf" "wk-$f.q4km.gguf" || die "wk-quantize --imatrix $f differs from llama_model_quantize"
done
"$BIN/wk-quantize" -q f16.gguf plain.gguf q4_k_m || die "wk-quantize"
cmp -s plain.gguf wk-wk.gguf.q4km.gguf && die "the imatrix changed nothing"
echo "ok - llama_model_quantize and wk-quantize --imatrix with our files: identical q4_k_m (not the plain one)"
echo "eval_imatrix.sh: ok"
