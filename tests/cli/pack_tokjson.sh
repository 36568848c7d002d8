#!/usr/bin/env bash
# wk-pack on an HF directory that has tokenizer.json but no tokenizer.model: the GGUF vocabulary
# is read from tokenizer.json (formats/tokenizer/wk_tokjson_read.c) and must equal the one built
# from tokenizer.model — tokens, token types, bos/eos/unk/pad ids, add_bos/add_eos — with scores
# derived from the merge order (tokenizer.json keeps no scores): every merged piece keeps the
# order tokenizer.model's scores give it.  A tokenizer.json that does not parse, or holds a model
# type we do not read, is refused naming the file and the field, and nothing is written.
set -uo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d "${TMPDIR:-/tmp}/wk-packtj.XXXXXX")}
PY=$(command -v python3 || echo /usr/bin/python3)
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail=0 n=0
ok() { n=$((n + 1)); echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

"$BIN/wk-convert" "$SRC/tests/fixtures/models/tiny" "$TMP/hf" -q || { echo "wk-convert failed"; exit 1; }
cp -r "$TMP/hf" "$TMP/hfj"
rm "$TMP/hfj/tokenizer.model"
"$BIN/wk-pack" "$TMP/hf" "$TMP/a.gguf" -q || bad "wk-pack with tokenizer.model"
"$BIN/wk-pack" "$TMP/hfj" "$TMP/b.gguf" -q || bad "wk-pack with tokenizer.json only"

if [ -f "$TMP/a.gguf" ] && [ -f "$TMP/b.gguf" ]; then
"$PY" - "$TMP/a.gguf" "$TMP/b.gguf" "$TMP/hf/tokenizer.json" <<'PYEOF' && ok "tokenizer.json vocab = tokenizer.model vocab (tokens, types, ids; scores in merge order)" || fail=1
import json, struct, sys
T = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
def rd(f, fmt):
    return struct.unpack("<" + fmt, f.read(struct.calcsize("<" + fmt)))
def val(f, t):
    if t == 8:
        (n,) = rd(f, "Q"); return f.read(n).decode("utf-8", "surrogateescape")
    if t == 9:
        et, n = rd(f, "IQ"); return [val(f, et) for _ in range(n)]
    return rd(f, T[t])[0]
def kvs(path):
    with open(path, "rb") as f:
        assert f.read(4) == b"GGUF"
        _, _, nkv = rd(f, "IQQ")
        out = {}
        for _ in range(nkv):
            (kl,) = rd(f, "Q"); k = f.read(kl).decode(); (t,) = rd(f, "I"); out[k] = val(f, t)
        return {k: v for k, v in out.items() if k.startswith("tokenizer.")}
a, b = kvs(sys.argv[1]), kvs(sys.argv[2])
bad = [k for k in sorted(set(a) | set(b)) if k != "tokenizer.ggml.scores" and a.get(k) != b.get(k)]
for k in bad:
    print(f"FAIL {k} differs", file=sys.stderr)
# merged pieces, in merge order: tokenizer.model's scores never rise where the derived ones fall
tj = json.load(open(sys.argv[3], encoding="utf-8"))["model"]
vocab = tj["vocab"]
seen, order = set(), []
for m in tj["merges"]:
    l, r = m.split(" ", 1)
    i = vocab.get(l + r)
    if i is not None and i not in seen:
        seen.add(i); order.append(i)
sa, sb = a["tokenizer.ggml.scores"], b["tokenizer.ggml.scores"]
inv = sum(1 for x, y in zip(order, order[1:]) if not (sb[x] > sb[y] and sa[x] >= sa[y]))
if inv:
    print(f"FAIL {inv} merged pieces out of score order", file=sys.stderr)
if len(order) < 10:
    print("FAIL too few merged pieces to compare", file=sys.stderr); inv = 1
sys.exit(1 if bad or inv else 0)
PYEOF
fi

# refusals: the file and the field are named, no output
refuse() { # NAME JSON WANT
    mkdir -p "$TMP/$1"
    cp "$TMP/hfj"/* "$TMP/$1/"
    printf '%s' "$2" >"$TMP/$1/tokenizer.json"
    local rc=0
    "$BIN/wk-pack" "$TMP/$1" "$TMP/$1.gguf" -q 2>"$TMP/$1.err" || rc=$?
    if [ $rc -ne 0 ] && grep -qF "$TMP/$1/tokenizer.json" "$TMP/$1.err" && grep -qF -- "$3" "$TMP/$1.err" &&
       [ ! -e "$TMP/$1.gguf" ]; then ok "$1: exit $rc, $(cat "$TMP/$1.err")"
    else bad "$1: exit $rc, $(cat "$TMP/$1.err")"; fi
}
refuse notjson '{"model": {"type": "BPE",' "does not parse"
refuse unigram '{"model": {"type": "Unigram", "vocab": [["<unk>", 0.0]]}}' '"model.type" is "Unigram"'
refuse bytelevel '{"model": {"type": "BPE", "byte_fallback": false, "vocab": {}, "merges": []}}' '"model.byte_fallback"'
refuse nomodel '{"version": "1.0"}' '"model"'
# a normalizer / pre-tokenizer that would change the result (the SentencePiece-style reader reads
# Prepend / Replace of U+2581 and a Metaspace without split only)
variant() { "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); exec(sys.argv[2]); print(json.dumps(j))' \
    "$TMP/hf/tokenizer.json" "$1"; }
refuse lowercase "$(variant 'j["normalizer"]["normalizers"].append({"type": "Lowercase"})')" '"normalizer": "Lowercase"'
refuse metasplit "$(variant 'j["normalizer"] = None; j["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}')" '"pre_tokenizer": "Metaspace"'
refuse whitespace "$(variant 'j["pre_tokenizer"] = {"type": "Whitespace"}')" '"pre_tokenizer": "Whitespace"'

# tokenizer_config.json add_prefix_space (transformers' Llama tokenizers rebuild the tokenizer
# with it): the value the tokenizer itself has packs, the other is refused by name, nothing written
for aps in true false; do
    rm -rf "$TMP/aps"
    cp -r "$TMP/hfj" "$TMP/aps"
    "$PY" -c 'import json,sys; p=sys.argv[1]; j=json.load(open(p)); j["add_prefix_space"]=(sys.argv[2]=="true"); json.dump(j, open(p,"w"))' \
        "$TMP/aps/tokenizer_config.json" $aps
    rc=0
    "$BIN/wk-pack" -q "$TMP/aps" "$TMP/aps-$aps.gguf" 2>"$TMP/aps.err" || rc=$?
    if [ $aps = true ]; then
        [ $rc -eq 0 ] && [ -f "$TMP/aps-$aps.gguf" ] && ok "add_prefix_space true (as the tokenizer) packs" || bad "add_prefix_space true: $(cat "$TMP/aps.err")"
    else
        [ $rc -ne 0 ] && [ ! -e "$TMP/aps-$aps.gguf" ] &&
            grep -qF "$TMP/aps/tokenizer_config.json: field \"add_prefix_space\" is false, but" "$TMP/aps.err" &&
            [ -z "$(find "$TMP" -maxdepth 1 -name '.aps-false.gguf.wk-tmp*')" ] &&
            ok "add_prefix_space false refused: $(cat "$TMP/aps.err")" || bad "add_prefix_space false: rc $rc $(cat "$TMP/aps.err")"
    fi
done

[ $fail -eq 0 ] && echo "$n passed, 0 failed"
exit $fail
