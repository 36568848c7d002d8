#!/usr/bin/env bash
# pack_errors.sh — wk-pack on malformed GGUF and safetensors inputs, and on bad arguments:
# every case must exit non-zero with one "wk-pack: error: ..." line that names the input file,
# and leave no output (not even a temporary file) behind.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*
cd "$TMP"
fails=0

"$PY" - <<'EOF'
import json, struct

def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b

def gguf(tensors, kvs=b"", n_kv=0, version=3, n_t=None, data=None, magic=b"GGUF"):
    h = magic + struct.pack("<IQQ", version, len(tensors) if n_t is None else n_t, n_kv) + kvs
    for name, ne, typ, off in tensors:
        h += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", d) for d in ne)
        h += struct.pack("<iQ", typ, off)
    h += b"\0" * (-len(h) % 32)
    return h + (data if data is not None else b"\0" * 64)

one = [("t", [4], 0, 0)]
files = {
    "bad-magic.gguf": gguf(one, magic=b"GGUX"),
    "version1.gguf": gguf(one, version=1),
    "truncated.gguf": gguf(one)[:40],
    "dup-names.gguf": gguf([("t", [4], 0, 0), ("t", [4], 0, 32)]),
    "overlap.gguf": gguf([("a", [8], 0, 0), ("b", [4], 0, 16)]),
    "misaligned.gguf": gguf([("a", [4], 0, 4)]),
    "overflow-shape.gguf": gguf([("a", [1 << 40, 1 << 40, 1 << 40], 0, 0)]),
    "huge-count.gguf": gguf(one, n_t=1 << 60),
    "huge-kv.gguf": gguf(one, n_kv=1 << 60),
    "huge-array.gguf": gguf(one, s("k") + struct.pack("<iiQ", 9, 4, 1 << 29), 1),
    "nested-array.gguf": gguf(one, s("k") + struct.pack("<iiQ", 9, 9, 0), 1),
    "data-past-eof.gguf": gguf([("a", [1024], 0, 0)], data=b"\0" * 16),
}

def st(header, data, n=None):
    h = json.dumps(header, separators=(",", ":")).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h) if n is None else n) + h + data

T = lambda dt, shape, off: {"dtype": dt, "shape": shape, "data_offsets": off}
files.update({
    "bad-json.safetensors": st(b'{"a":{"dtype":', b""),
    "header-too-large.safetensors": st(b"{}", b"", n=200_000_000),
    "header-past-eof.safetensors": st(b"{}", b"", n=4096),
    "truncated.safetensors": st({"a": T("F32", [4], [0, 16])}, b"\0" * 8),
    "trailing.safetensors": st({"a": T("F32", [4], [0, 16])}, b"\0" * 17),
    "overlap.safetensors": st({"a": T("F32", [4], [0, 16]), "b": T("F32", [4], [8, 24])}, b"\0" * 24),
    "gap.safetensors": st({"a": T("F32", [4], [16, 32])}, b"\0" * 32),
    "size-mismatch.safetensors": st({"a": T("F32", [5], [0, 16])}, b"\0" * 16),
    "overflow-shape.safetensors": st({"a": T("F32", [1 << 40, 1 << 40], [0, 16])}, b"\0" * 16),
    "unknown-dtype.safetensors": st({"a": T("F33", [4], [0, 16])}, b"\0" * 16),
    "dup-names.safetensors": st(b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                b'"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"\0" * 8),
    "tiny.safetensors": b"\x01\0\0",
})
for name, b in files.items():
    open(name, "wb").write(b)
EOF

check() {  # check EXPECT_IN_MESSAGE -- wk-pack args...
    local want=$1
    shift 2
    local out rc
    set +e
    out=$("$BIN/wk-pack" "$@" 2>&1 >/dev/null)
    rc=$?
    set -e
    local leftovers
    leftovers=$(ls -A | grep -E '^out|\.wk-tmp\.' || true)
    if [[ $rc -eq 0 || $rc -ge 128 ]]; then
        echo "FAIL: wk-pack $* exited $rc"; fails=$((fails + 1))
    elif [[ $(printf '%s\n' "$out" | wc -l) -ne 1 || $out != "wk-pack: error: "*"$want"* ]]; then
        echo "FAIL: wk-pack $*: message '$out' (want one line with '$want')"; fails=$((fails + 1))
    elif [[ -n $leftovers ]]; then
        echo "FAIL: wk-pack $*: left $leftovers"; fails=$((fails + 1))
    else
        echo "ok  ($rc) $out"
    fi
    rm -rf out* .*.wk-tmp.* 2>/dev/null || true
}

for f in *.gguf; do check "$f" -- "$f" out.safetensors; done
for f in *.safetensors; do check "$f" -- "$f" out.gguf; done
for f in dup-names.gguf overlap.safetensors; do check "$f" -- "$f" outdir --shard-size 1MB; done

# arguments and environment
check "unknown option" -- --frobnicate in out.gguf
check "outtype" -- --outtype q4 in out.gguf
check "INPUT and OUTPUT" -- only-one-arg
check "cannot tell the format" -- bad-magic.gguf out.bin
check "no such file" -- missing-dir out.gguf
mkdir empty-model
check "no model found" -- empty-model out.gguf
check "GGUF output only" -- empty-model out.safetensors --vocab x
check "alignment" -- empty-model out.gguf --alignment 48

# a valid safetensors file that is not a LLaMA model cannot become a GGUF
"$PY" -c "
import json, struct
h = json.dumps({'x': {'dtype': 'F32', 'shape': [2], 'data_offsets': [0, 8]}}, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
open('plain.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + bytes(8))"
check "not a LLaMA model" -- plain.safetensors out.gguf
# refusing to overwrite the input
cp plain.safetensors same.safetensors
check "same" -- same.safetensors same.safetensors
cmp -s plain.safetensors same.safetensors || { echo "FAIL: input was modified"; fails=$((fails + 1)); }

# malformed added tokens in an HF directory (made from the committed tiny model by wk-convert)
if [[ -x $BIN/wk-convert && -f $SRC/tests/fixtures/models/tiny/consolidated.00.pth ]] &&
    "$BIN/wk-convert" "$SRC/tests/fixtures/models/tiny" hf >/dev/null 2>&1; then
    cp hf/tokenizer_config.json tc.json
    "$PY" -c "
import json; t = json.load(open('tc.json')); t['added_tokens_decoder'] = {'12x': {'content': 'a'}}
json.dump(t, open('hf/tokenizer_config.json', 'w'))"
    check "tokenizer_config.json: added_tokens_decoder: key \"12x\" is not a token id" -- hf out.gguf
    "$PY" -c "
import json; t = json.load(open('tc.json')); t['added_tokens_decoder'] = {'7': {'special': True}}
json.dump(t, open('hf/tokenizer_config.json', 'w'))"
    check "added_tokens_decoder[\"7\"]: no \"content\" string" -- hf out.gguf
    cp tc.json hf/tokenizer_config.json
    echo '{"<x>": "13"}' >hf/added_tokens.json
    check "added_tokens.json" -- hf out.gguf
    rm hf/added_tokens.json
    # the vocabulary must match the embedding: config.json's vocab_size
    cp hf/config.json cfg.json
    "$PY" -c "
import json; c = json.load(open('cfg.json')); c['vocab_size'] = 600
json.dump(c, open('hf/config.json', 'w'))"
    check "hf/config.json: vocab_size 600, but the embedding has 512 rows" -- hf out.gguf
    cp cfg.json hf/config.json
else
    echo "(wk-convert not available: added-token cases skipped)"
fi

if [[ $fails -ne 0 ]]; then
    echo "pack_errors: $fails failure(s)"
    exit 1
fi
echo "pack_errors: OK"
