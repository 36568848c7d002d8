#!/usr/bin/env bash
# llama_cpp_split.sh — the real llama.cpp (npm prebuilt libllama, tests/peer/llama_harness.c) and
# weightkit's GGUF split sets and metadata edits (issue #22):
#   1. a set written by wk-pack --split-max-tensors / --split-max-size, loaded by llama.cpp from
#      its first file, gives logits bit-identical to the unsplit file (same tokens, same context
#      settings); so does the set wk-quantize --keep-split writes, against the unsplit Q8_0;
#   2. after wk-pack --special-token eos=ID (new file and --in-place), llama.cpp's vocabulary
#      reports the new eos and stops generation (llama_vocab_is_eog) at it, where it did not
#      before (the old eos "</s>" stays end-of-generation: llama.cpp adds any token with that
#      text to its EOG set by name, llama-vocab.cpp);
#   3. after --chat-template FILE, llama.cpp reports exactly that template
#      (llama_model_chat_template), and a --set string is read back by llama_model_meta_val_str;
#   4. llama.cpp refuses a set with a part missing (as wk-pack does).
# Exit 77 (skipped) without npm / the registry or the fixtures.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=${WK_PACK_MODELS:-$SRC/tests/fixtures/models}
mkdir -p "$TMP"

skip() { echo "llama_cpp_split: SKIP: $*" >&2; exit 77; }
die() { echo "not ok - $*"; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -f $MODELS/tiny/ref_logits.json ]] || skip "fixture models not present in $MODELS"
wk_llama_peer llama_cpp_split   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK, or exit 77 / 1

HARNESS=$TMP/llama_harness
cc -std=c11 -O1 -Wall -o "$HARNESS" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" || die "cannot compile the harness against $INCDIR"
export WK_LLAMA_LIBDIR=$LIBDIR
cd "$TMP"
rm -rf sp && mkdir sp && cd sp

TOKS=$(/usr/bin/python3 -c "import json,sys; print(' '.join(map(str, json.load(open(sys.argv[1]))['tokens'])))" \
    "$MODELS/tiny/ref_logits.json")
logits() {  # logits GGUF OUT
    # shellcheck disable=SC2086
    "$HARNESS" logits "$1" "$2" $TOKS >/dev/null || die "llama.cpp failed to load/run $1"
}

"$BIN/wk-pack" -q "$MODELS/tiny" tiny.gguf --outtype f32
"$BIN/wk-pack" -q tiny.gguf st.gguf --split-max-tensors 4
"$BIN/wk-pack" -q tiny.gguf sz.gguf --split-max-size 1M
n_st=$(ls st-*-of-*.gguf | wc -l) n_sz=$(ls sz-*-of-*.gguf | wc -l)
first_st=$(ls st-00001-of-*.gguf) first_sz=$(ls sz-00001-of-*.gguf)

logits tiny.gguf ref.bin
logits "$first_st" st.bin
logits "$first_sz" sz.bin
cmp -s ref.bin st.bin || die "logits of the $n_st-part set (--split-max-tensors 4) differ from the unsplit file"
echo "ok - llama.cpp loads the $n_st-part set ($first_st) with logits identical to the unsplit file"
cmp -s ref.bin sz.bin || die "logits of the $n_sz-part set (--split-max-size 1M) differ"
echo "ok - llama.cpp loads the $n_sz-part set (--split-max-size 1M) with identical logits"

"$BIN/wk-quantize" -q tiny.gguf q.gguf q8_0
"$BIN/wk-quantize" -q "$first_st" qk.gguf q8_0 --keep-split
logits q.gguf q.bin
logits "$(ls qk-00001-of-*.gguf)" qk.bin
cmp -s q.bin qk.bin || die "wk-quantize --keep-split set: logits differ from the unsplit Q8_0"
echo "ok - wk-quantize --keep-split: llama.cpp's logits on the $(ls qk-*.gguf | wc -l)-part Q8_0 set == the unsplit Q8_0"

mkdir -p miss && cp st-*.gguf miss/ && rm "miss/$(ls st-*.gguf | sed -n 2p)"
if "$HARNESS" logits "miss/$first_st" x.bin $TOKS >/dev/null 2>&1; then die "llama.cpp loaded a set with a part missing"; fi
echo "ok - llama.cpp too refuses the set with part 2 missing"

# ---- metadata edits -------------------------------------------------------------------------------
NEW=5
read -r _ eos0 _ bos0 before <<<"$("$HARNESS" eog tiny.gguf $NEW)"
[[ $before == "$NEW:0" ]] || die "token $NEW is already end-of-generation before the edit ($before)"
printf '{%% for m in messages %%}[{{ m.role }}]{{ m.content }}{%% endfor %%}' >tmpl.jinja
"$BIN/wk-pack" -q tiny.gguf e.gguf --special-token eos=$NEW --chat-template tmpl.jinja --set general.name=str:edited-by-wk
out=$("$HARNESS" eog e.gguf $NEW "$eos0")
[[ $out == "eos $NEW bos $bos0 $NEW:1 $eos0:"[01] ]] || die "after eos=$NEW llama.cpp says: $out (was eos $eos0)"
echo "ok - --special-token eos=$NEW: llama.cpp's eos is $NEW (was $eos0) and generation now stops at $NEW"
"$HARNESS" template e.gguf >t.txt
[[ "$(cat t.txt)" == "$(cat tmpl.jinja)" ]] || die "chat template read back: $(cat t.txt)"
echo "ok - --chat-template FILE: llama.cpp reports exactly the file's template"
[[ "$("$HARNESS" meta e.gguf general.name)" == edited-by-wk ]] || die "general.name not read back"
echo "ok - --set general.name=str:...: llama_model_meta_val_str reads the new value"
logits e.gguf e.bin
cmp -s ref.bin e.bin || die "logits changed by a metadata edit"
echo "ok - logits unchanged by the metadata edit"

cp tiny.gguf ip.gguf
"$BIN/wk-pack" -q ip.gguf --in-place --special-token eos=$NEW
out=$("$HARNESS" eog ip.gguf $NEW "$eos0")
[[ $out == "eos $NEW bos $bos0 $NEW:1 $eos0:"[01] ]] || die "after --in-place eos=$NEW llama.cpp says: $out"
echo "ok - --in-place eos=$NEW: llama.cpp reads the new eos"
"$BIN/wk-pack" -q "$first_st" --in-place --special-token eos=$NEW
out=$("$HARNESS" eog "$first_st" $NEW "$eos0")
[[ $out == "eos $NEW bos $bos0 $NEW:1 $eos0:"[01] ]] || die "after --in-place on the set llama.cpp says: $out"
logits "$first_st" st2.bin
cmp -s ref.bin st2.bin || die "logits of the set changed by an in-place eos edit"
echo "ok - --in-place on a split set: llama.cpp reads the new eos from the first part, logits unchanged"
