#!/usr/bin/env bash
# pack_added_tokens.sh — tokens added by a fine-tune (added_tokens.json, tokenizer_config.json's
# added_tokens_decoder) reach the GGUF vocabulary the way llama.cpp's convert_hf_to_gguf.py
# puts them there, and the real llama.cpp tokenizes each one as a single id.
#
#   1. wk-convert the committed tiny model to an HF directory, then (torch) grow its embedding
#      and lm_head from 512 to 518 rows, as a fine-tune that adds tokens does, and write
#      added_tokens.json + an added_tokens_decoder holding Metharme's role markers.
#   2. wk-pack it to GGUF; check ids 512..517: text, score -1000, type CONTROL for tokens marked
#      special or that look special (<|...|>), USER_DEFINED otherwise (U+2581 -> space), an id
#      beyond the embedding ignored, the unfilled row [PAD517] UNUSED; 518 tokens = 518 rows.
#      ids 0..2 listed as special in added_tokens_decoder become CONTROL, as in the converter.
#   3. If the llama.cpp peer is installed (tests/peer/setup_llama_cpp.sh), its tokenizer gives
#      <|user|> / <|model|> (control: matched with parse_special) and <bot> (user-defined:
#      always matched) as one id each.
# Exit 77 (skipped) without wk-convert or Debian's python3-torch; without npm / the registry
# only step 3 is skipped.
# Env: WK_SOURCE_DIR, WK_BIN_DIR, WK_TMP (ctest sets them); WK_PEERS_DIR (setup_llama_cpp.sh).
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}/pack_added_tokens
MODELS=$SRC/tests/fixtures/models
PY=/usr/bin/python3
rm -rf "$TMP"
mkdir -p "$TMP"

skip() { echo "pack_added_tokens: SKIP: $*" >&2; exit 77; }
die() { echo "pack_added_tokens: FAIL: $*" >&2; exit 1; }
. "$SRC/tests/peer/_peer_lib.sh"

[[ -x $BIN/wk-convert && -x $BIN/wk-pack ]] || skip "wk-convert / wk-pack not built in $BIN"
[[ -x $PY ]] && $PY -c "import torch, numpy" 2>/dev/null ||
    skip "Debian python3 with torch and numpy needed (apt-get install python3-torch python3-numpy)"
[[ -f $MODELS/tiny/consolidated.00.pth ]] || skip "fixture model $MODELS/tiny missing"

"$BIN/wk-convert" "$MODELS/tiny" "$TMP/hf" >/dev/null || die "wk-convert tiny"
$PY - "$TMP/hf" <<'EOF' || die "could not grow the HF checkpoint"
import json, os, sys, torch
d = sys.argv[1]
sd = torch.load(os.path.join(d, "pytorch_model.bin"), map_location="cpu")
torch.manual_seed(1)
for k in ("model.embed_tokens.weight", "lm_head.weight"):
    w = sd[k]
    sd[k] = torch.cat([w, (torch.randn(6, w.shape[1]) * 0.02).to(w.dtype)])
torch.save(sd, os.path.join(d, "pytorch_model.bin"))
cfg = json.load(open(os.path.join(d, "config.json")))
cfg["vocab_size"] = 518
json.dump(cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
# added_tokens.json: what tokenizer.save_pretrained writes for tokens added to a slow tokenizer
json.dump({"<|system|>": 512, "<|user|>": 513, "<|model|>": 514, "<bot>": 515, "<far>": 600},
          open(os.path.join(d, "added_tokens.json"), "w"))
tc = json.load(open(os.path.join(d, "tokenizer_config.json")))
def tok(content, special):
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": special}
tc["added_tokens_decoder"] = {
    "0": tok("<unk>", True), "1": tok("<s>", True), "2": tok("</s>", True),
    "512": tok("<|system|>", False),          # not marked special, but looks special -> CONTROL
    "513": tok("<|user|>", True), "514": tok("<|model|>", True),
    "515": tok("<bot>", False),               # USER_DEFINED
    "516": tok("\u2581wk\u2581tok", False),   # USER_DEFINED, U+2581 -> space
    "700": tok("<beyond>", True)}             # beyond the embedding: ignored
json.dump(tc, open(os.path.join(d, "tokenizer_config.json"), "w"), indent=2)
EOF

"$BIN/wk-pack" -q "$TMP/hf" "$TMP/added.gguf" --chat-template metharme || die "wk-pack with added tokens"
$PY - "$TMP/added.gguf" "$SRC/tests/peer/safetensors_read.py" <<'EOF' || die "GGUF vocabulary"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[2]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
kv, infos, tensors = r.read_gguf(sys.argv[1])
toks, scores, types = (kv["tokenizer.ggml." + k][1] for k in ("tokens", "scores", "token_type"))
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
emb = dict((n, ne) for n, ne, t, off in infos)["token_embd.weight"]
assert len(toks) == len(scores) == len(types) == emb[1] == 518, (len(toks), emb)
assert kv["llama.vocab_size"][1] == 518, kv["llama.vocab_size"]
want = {512: ("<|system|>", -1000.0, CONTROL), 513: ("<|user|>", -1000.0, CONTROL),
        514: ("<|model|>", -1000.0, CONTROL), 515: ("<bot>", -1000.0, USER_DEFINED),
        516: (" wk tok", -1000.0, USER_DEFINED), 517: ("[PAD517]", -10000.0, UNUSED),
        0: ("<unk>", -1000.0, CONTROL), 1: ("<s>", -1000.0, CONTROL), 2: ("</s>", -1000.0, CONTROL)}
for i, w in sorted(want.items()):
    got = (toks[i], scores[i], types[i])
    assert got == w, "id %d: got %r, want %r" % (i, got, w)
assert all(t in (NORMAL, BYTE) for t in types[3:512]), "sentencepiece pieces changed type"
print("ok  added tokens in the GGUF vocabulary (518 tokens = 518 embedding rows)")
sys.exit(1 if r.ERRORS else 0)
EOF

# the llama.cpp peer (setup_llama_cpp.sh installs it from npm once, as for llama_cpp_logits.sh)
if ! wk_llama_peer_try pack_added_tokens; then   # LIBDIR, INCDIR, GGML_INCDIR, WK_LLAMA_LINK
    echo "pack_added_tokens: llama.cpp peer not available: tokenizer check skipped" >&2
    echo "pack_added_tokens: OK (without llama.cpp)"
    exit 0
fi
HARNESS=$TMP/llama_harness
cc -std=c11 -O1 -Wall -o "$HARNESS" "$SRC/tests/peer/llama_harness.c" -I"$INCDIR" -I"$GGML_INCDIR" \
    "${WK_LLAMA_LINK[@]}" ||
    die "cannot compile the harness against $INCDIR"
export WK_LLAMA_LIBDIR=$LIBDIR
printf '<|system|>Be brief.<|user|>Hi there<|model|>' >"$TMP/chat.txt"
ids=$("$HARNESS" tokenize "$TMP/added.gguf" "$TMP/chat.txt" special) || die "llama.cpp tokenize"
echo "llama.cpp (parse_special): $ids"
[[ " $ids " == " 1 512 "*" 513 "*" 514 " ]] ||
    die "control tokens not single ids: [$ids] (want BOS, 512, ..., 513, ..., 514 last)"
printf 'x<bot>y wk tok' >"$TMP/user.txt"
ids=$("$HARNESS" tokenize "$TMP/added.gguf" "$TMP/user.txt") || die "llama.cpp tokenize"
echo "llama.cpp (no parse_special): $ids"
[[ " $ids " == *" 515 "* && " $ids " == *" 516 " ]] ||
    die "user-defined tokens not single ids: [$ids] (want 515 and 516)"
ids=$("$HARNESS" tokenize "$TMP/added.gguf" "$TMP/chat.txt") || die "llama.cpp tokenize"
[[ " $ids " != *" 513 "* ]] || die "a control token matched without parse_special: [$ids]"
echo "ok  llama.cpp: added tokens are single ids (control ones only with parse_special)"
echo "pack_added_tokens: OK"
