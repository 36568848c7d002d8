#!/usr/bin/env bash
# pack_bpe_errors.sh — hostile and unknown byte-level BPE tokenizer.json files given to wk-pack:
# each is refused with one error line that names the file and the field, and nothing is
# written (no output, no temporary).  Each case is the committed llama3-style fixture
# (tests/fixtures/tokenizers/bpe-llama3, made by `tokenizers`) with one thing changed; a tiny
# random LLaMA (tests/peer/bpe_tiny_model.py) carries it.  Also: an unknown pattern packs with
# --pre, ignore_merges false gives smaug-bpe.  Exit 77 without Debian's python3-numpy.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-bpeerr.XXXXXX")}/pack_bpe_errors
PY=/usr/bin/python3
FX=$SRC/tests/fixtures/tokenizers/bpe-llama3
rm -rf "$TMP"
mkdir -p "$TMP"
fail=0 n=0
ok() { n=$((n + 1)); echo "ok - $*"; }
bad() { echo "not ok - $*"; fail=1; }

[ -x "$BIN/wk-pack" ] || { echo "pack_bpe_errors: wk-pack not built" >&2; exit 77; }
$PY -c "import numpy" 2>/dev/null || { echo "pack_bpe_errors: SKIP: python3-numpy needed" >&2; exit 77; }
ROWS=$(cat "$FX/rows")
$PY "$SRC/tests/peer/bpe_tiny_model.py" "$TMP/base" "$ROWS" || { echo "tiny model failed"; exit 1; }
cp "$FX"/*.json "$TMP/base/"
"$BIN/wk-pack" -q "$TMP/base" "$TMP/base.gguf" && ok "the unchanged fixture packs" || bad "the unchanged fixture"

# case NAME WANT [wk-pack args...]: the python on stdin edits tj (the tokenizer.json, a dict);
# it may also set rows (embedding rows) or raw (bytes written instead of the JSON).
case_() {
    local name=$1 want=$2
    shift 2
    local d=$TMP/$name
    cp -r "$TMP/base" "$d"
    rm -f "$d.gguf"
    $PY -c '
import json, sys
d = sys.argv[1]
p = d + "/tokenizer.json"
tj = json.load(open(p, encoding="utf-8"))
rows, raw = None, None
exec(sys.stdin.read())
if raw is not None:
    open(p, "wb").write(raw)
else:
    json.dump(tj, open(p, "w", encoding="utf-8"), ensure_ascii=False)
if rows is not None:
    import subprocess
    subprocess.check_call(["/usr/bin/python3", sys.argv[2], d, str(rows)])
' "$d" "$SRC/tests/peer/bpe_tiny_model.py" || { bad "$name: could not build the case"; return; }
    local rc=0
    "$BIN/wk-pack" -q "$d" "$d.gguf" "$@" 2>"$d.err" || rc=$?
    local msg
    msg=$(cat "$d.err")
    local left
    left=$(find "$TMP" -maxdepth 1 -name ".$name.gguf.wk-tmp*" | wc -l)
    if [ $rc -ne 0 ] && [ "$(wc -l <"$d.err")" -eq 1 -o "$name" = unknown_pre ] && grep -qF -- "$want" "$d.err" &&
       { [ "$name" = pre_bogus ] || grep -qF "$d/tokenizer.json" "$d.err"; } &&
       [ ! -e "$d.gguf" ] && [ "$left" -eq 0 ]; then
        ok "$name: exit $rc: $(head -c 300 "$d.err" | tr '\n' ' ')"
    else
        bad "$name: exit $rc, output $([ -e "$d.gguf" ] && echo written || echo absent), $left temporaries: $msg"
    fi
}

case_ unknown_pre 'not those of any llama.cpp pre-tokenizer' <<'E'
tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\p{L}+|\\p{N}+"
E
grep -qF 'step 1: \p{L}+|\p{N}+' "$TMP/unknown_pre.err" && grep -qF 'known: llama-bpe, smaug-bpe, qwen2' "$TMP/unknown_pre.err" &&
    ok "unknown_pre: the message prints the pattern and the names known" || bad "unknown_pre: $(cat "$TMP/unknown_pre.err")"
case_ merge_missing '"model.merges": entry 3 is not two tokens' <<'E'
tj["model"]["merges"][3] = ["\u0120", "nonexistent"]
E
case_ merge_result '"model.merges": entry 0 ("q" + "z"): the merged token is not in model.vocab' <<'E'
tj["model"]["merges"][0] = ["q", "z"]
E
case_ merge_shape '"model.merges": entry 1 is not two tokens' <<'E'
tj["model"]["merges"][1] = "a b c"
E
case_ dup_token '"added_tokens": token "the" appears twice' <<'E'
tj["added_tokens"][2]["content"] = "the"
E
case_ dup_id '"model.vocab": id 5 given twice' <<'E'
v = tj["model"]["vocab"]; k = [t for t, i in v.items() if i == 6][0]; v[k] = 5
E
case_ id_range '"model.vocab": "' <<'E'
v = tj["model"]["vocab"]; k = [t for t, i in v.items() if i == 7][0]; v[k] = 99999
E
case_ id_negative 'has no id in 0..' <<'E'
v = tj["model"]["vocab"]; k = [t for t, i in v.items() if i == 7][0]; v[k] = -1
E
case_ added_gap 'leave a gap after model.vocab' <<'E'
tj["added_tokens"][-1]["id"] += 5
E
case_ added_mismatch 'is "' <<'E'
tj["added_tokens"].append(dict(tj["added_tokens"][0], id=300, content="<|x|>"))
E
case_ rows_small 'tokens, but the embedding has only' <<'E'
rows = 900
E
case_ notjson 'does not parse' <<'E'
raw = b'{"model": {"type": "BPE", "vocab": {'
E
case_ notobject 'not a JSON object' <<'E'
raw = b'[1, 2]'
E
case_ unigram '"model.type" is "Unigram"' <<'E'
tj["model"] = {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]}
E
case_ wordpiece '"model.type" is "WordPiece"' <<'E'
tj["model"] = {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0}}
E
case_ no_bytelevel 'has no ByteLevel step' <<'E'
tj["pre_tokenizer"] = {"type": "Whitespace"}
E
case_ normalizer '"normalizer": "Lowercase"' <<'E'
tj["normalizer"] = {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Lowercase"}]}
E
case_ decoder '"decoder": missing' <<'E'
tj["decoder"] = None
E
case_ post_roberta '"post_processor": "RobertaProcessing"' <<'E'
tj["post_processor"] = {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0]}
E
case_ lstrip '"added_tokens[1].lstrip" is true' <<'E'
tj["added_tokens"][1]["lstrip"] = True
E
case_ alphabet 'outside the byte-level alphabet' <<'E'
v = tj["model"]["vocab"]; k = [t for t, i in v.items() if i == 300][0]; del v[k]; v[" x"] = 300
E
case_ dropout '"model.dropout" is set' <<'E'
tj["model"]["dropout"] = 0.1
E
case_ prefix_space 'add_prefix_space is true' <<'E'
tj["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = True
E
case_ string_split 'String pattern is not implemented' <<'E'
tj["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {"String": " "}
E
case_ split_merged 'not behavior "Isolated"' <<'E'
tj["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithPrevious"
E
case_ after_bytelevel 'comes after ByteLevel' <<'E'
tj["pre_tokenizer"]["pretokenizers"].append({"type": "Digits", "individual_digits": True})
E
case_ subword_prefix '"model.continuing_subword_prefix" is set' <<'E'
tj["model"]["continuing_subword_prefix"] = "##"
E
case_ pre_bogus '--pre: "qwen9" is not a known pre-tokenizer' --pre qwen9 <<'E'
pass
E

# tokenizer_config.json "add_prefix_space": true (transformers then rebuilds the ByteLevel step
# with it; llama.cpp's gpt2 vocabulary adds no space): refused by name; false packs
for aps in true false; do
    cp -r "$TMP/base" "$TMP/aps_$aps"
    $PY -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["add_prefix_space"]=(sys.argv[2]=="true"); json.dump(j, open(p,"w"))' \
        "$TMP/aps_$aps/tokenizer_config.json" $aps
    rc=0
    "$BIN/wk-pack" -q "$TMP/aps_$aps" "$TMP/aps_$aps.gguf" 2>"$TMP/aps_$aps.err" || rc=$?
done
[ "$rc" -eq 0 ] && [ -e "$TMP/aps_false.gguf" ] && ok "tokenizer_config.json add_prefix_space false packs" || bad "add_prefix_space false: $(cat "$TMP/aps_false.err")"
[ ! -e "$TMP/aps_true.gguf" ] && [ "$(wc -l <"$TMP/aps_true.err")" -eq 1 ] &&
    grep -qF "$TMP/aps_true/tokenizer_config.json: field \"add_prefix_space\" is true" "$TMP/aps_true.err" &&
    [ "$(find "$TMP" -maxdepth 1 -name '.aps_true.gguf.wk-tmp*' | wc -l)" -eq 0 ] &&
    ok "tokenizer_config.json add_prefix_space true: $(cat "$TMP/aps_true.err")" || bad "add_prefix_space true: $(cat "$TMP/aps_true.err")"

# not errors: --pre names a pattern we do not know; ignore_merges false is smaug-bpe
pre_of() { $PY - "$1" "$SRC/tests/peer/safetensors_read.py" <<'P'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[2]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
print(r.read_gguf(sys.argv[1])[0]["tokenizer.ggml.pre"][1])
P
}
"$BIN/wk-pack" -q "$TMP/unknown_pre" "$TMP/override.gguf" --pre qwen2 && [ "$(pre_of "$TMP/override.gguf")" = qwen2 ] &&
    ok "--pre qwen2 packs the unknown pattern as qwen2" || bad "--pre qwen2 on the unknown pattern"
cp -r "$TMP/base" "$TMP/smaug"
$PY -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["model"]["ignore_merges"]=False; json.dump(j, open(p,"w"))' "$TMP/smaug/tokenizer.json"
"$BIN/wk-pack" -q "$TMP/smaug" "$TMP/smaug.gguf" && [ "$(pre_of "$TMP/smaug.gguf")" = smaug-bpe ] &&
    ok "llama3 regex with ignore_merges false -> smaug-bpe" || bad "ignore_merges false"
[ "$(pre_of "$TMP/base.gguf")" = llama-bpe ] && ok "llama3 regex with ignore_merges true -> llama-bpe" || bad "llama-bpe"

# chat_template.jinja is the template when tokenizer_config.json has none
cp -r "$TMP/base" "$TMP/jinja"
$PY -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); del j["chat_template"]; json.dump(j, open(p,"w"))' "$TMP/jinja/tokenizer_config.json"
printf '{{ messages[0]["content"] }}\n' >"$TMP/jinja/chat_template.jinja"
"$BIN/wk-pack" -q "$TMP/jinja" "$TMP/jinja.gguf" && [ "$($PY - "$TMP/jinja.gguf" "$SRC/tests/peer/safetensors_read.py" <<'P'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[2]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
print(repr(r.read_gguf(sys.argv[1])[0]["tokenizer.chat_template"][1]))
P
)" = "'{{ messages[0][\"content\"] }}\\n'" ] && ok "chat_template.jinja -> tokenizer.chat_template" || bad "chat_template.jinja"

# --help lists the names the table knows (the error message prints the table's own list)
names=$(sed -n 's/.*(known: \(.*\))$/\1/p' "$TMP/pre_bogus.err")
help=$("$BIN/wk-pack" --help | tr -s ' \n' ' ')
miss=""
for nm in ${names//,/ }; do [[ $help == *"$nm"* ]] || miss="$miss $nm"; done
[ -n "$names" ] && [ -z "$miss" ] && ok "--help lists every known pre-tokenizer ($names)" || bad "--help misses:$miss"

[ $fail -eq 0 ] && echo "$n passed, 0 failed"
exit $fail
