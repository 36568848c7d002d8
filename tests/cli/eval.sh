#!/usr/bin/env bash
# CLI tests for wk-eval: --help/--version, the refusals (text shorter than 2 x ctx, malformed or
# out-of-vocabulary ids, a tensor type, an architecture, a rope scaling type and an unknown
# hyper-parameter key the forward pass does not implement), the --json keys, and the same
# results for any -j (logits byte for byte, PPL digit for digit) for F16 and quantized GGUF files
# packed from the committed tiny fixture.  Agreement with torch and llama.cpp is tests/peer/eval_*.sh.
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
E="$WK_BIN_DIR/wk-eval"
PY=/usr/bin/python3
M=$WK_SOURCE_DIR/tests/fixtures/models
[ -x "$PY" ] || { echo "eval.sh: skipped: $PY needed" >&2; exit 77; }
[ -f "$M/tiny/params.json" ] || { echo "eval.sh: skipped: fixtures missing" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
# refuses NAME PATTERN CMD...: CMD fails (exit != 0) and its stderr matches PATTERN
refuses() {
    local name=$1 pat=$2; shift 2
    if "$@" >out.txt 2>err.txt; then bad "$name: accepted"; return; fi
    if grep -Eq -- "$pat" err.txt; then ok "$name"; else bad "$name: message '$(cat err.txt)' lacks /$pat/"; fi
}

check "--help" "$E" --help
check "ppl --help" "$E" ppl --help
check "--version" "$E" --version
refuses "unknown command" "unknown command 'perplexity'" "$E" perplexity x y

"$WK_BIN_DIR/wk-pack" -q "$M/tiny" f16.gguf --outtype f16 || { bad "wk-pack"; exit 1; }
"$WK_BIN_DIR/wk-quantize" -q f16.gguf q4_k.gguf q4_k || { bad "wk-quantize q4_k"; exit 1; }
"$WK_BIN_DIR/wk-quantize" -q f16.gguf q4_0.gguf q4_0 || { bad "wk-quantize q4_0"; exit 1; }
$PY -c "
import random; random.seed(3)
open('ids.txt', 'w').write(' '.join(str(random.randrange(0, 512)) for _ in range(700)))
open('short.txt', 'w').write(' '.join(str(random.randrange(0, 512)) for _ in range(100)))"

# --json keys
if "$E" ppl f16.gguf --tokens ids.txt --ctx 64 --chunks 3 --json -j 1 >j1.json; then
    check "--json has ppl, ppl_stderr, n_scored, n_ctx, n_chunks" $PY -c "
import json, sys
o = json.load(open('j1.json'))
for k in ('ppl', 'ppl_stderr', 'n_scored', 'n_ctx', 'n_chunks'): assert k in o, k
assert o['n_ctx'] == 64 and o['n_chunks'] == 3 and o['n_scored'] == 3 * 31, o
assert o['ppl'] > 1 and o['ppl_stderr'] > 0, o"
else bad "ppl --json"; fi

# determinism across -j
for m in f16 q4_k q4_0; do
    for j in 1 2 3; do
        "$E" ppl $m.gguf --tokens ids.txt --ctx 64 --chunks 3 --json -j $j -b 48 >$m-j$j.json 2>/dev/null
        head -c 300 ids.txt | tr ' ' '\n' | head -40 >seq.txt
        "$E" logits $m.gguf --tokens seq.txt -o $m-j$j.bin -j $j -q
    done
    check "$m: the same PPL for -j 1, 2, 3" $PY -c "
import json
v = [json.load(open('$m-j%d.json' % j))['ppl'] for j in (1, 2, 3)]
assert v[0] == v[1] == v[2], v"
    check "$m: the same logits bytes for -j 1, 2, 3" cmp -s $m-j1.bin $m-j2.bin
    check "$m: the same logits bytes for -j 1 and 3" cmp -s $m-j1.bin $m-j3.bin
done
check "-b does not change the PPL (f16)" $PY -c "
import json
a = json.load(open('f16-j1.json'))['ppl']; b = json.load(open('j1.json'))['ppl']
assert abs(a - b) <= 1e-9 * a, (a, b)"

# refusals
refuses "text shorter than 2 x ctx" "100 tokens: at least 2 x 64 = 128" "$E" ppl f16.gguf --tokens short.txt --ctx 64
printf '1 2 x3 4' >badids.txt
refuses "a malformed id" "badids.txt: token 2 .*not a token id" "$E" ppl f16.gguf --tokens badids.txt
$PY -c "open('big.txt','w').write(' '.join(['5'] * 200 + ['512'] + ['6'] * 200))"
refuses "an id beyond the vocabulary" "id 512 is outside the vocabulary \[0, 512\)" "$E" ppl f16.gguf --tokens big.txt --ctx 64
refuses "no model" "ppl needs MODEL" "$E" ppl
# a tensor stored as I32 (same size as F32): patch blk.0.attn_q.weight's type in an F32 GGUF
"$WK_BIN_DIR/wk-pack" -q "$M/tiny" f32.gguf --outtype f32
$PY - f32.gguf i32.gguf gemma.gguf <<'PYEOF'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
name = b"blk.0.attn_q.weight"
i = d.index(struct.pack("<Q", len(name)) + name) + 8 + len(name)
nd = struct.unpack_from("<I", d, i)[0]
t = i + 4 + 8 * nd
assert struct.unpack_from("<I", d, t)[0] == 0
e = bytearray(d)
struct.pack_into("<I", e, t, 26)          # GGML_TYPE_I32
open(sys.argv[2], "wb").write(e)
k = d.index(b"general.architecture") + len(b"general.architecture") + 4 + 8
assert d[k:k + 5] == b"llama"
d[k:k + 5] = b"gemma"
open(sys.argv[3], "wb").write(d)
PYEOF
refuses "an unsupported tensor type" 'blk.0.attn_q.weight": type i32 is not implemented' "$E" ppl i32.gguf --tokens ids.txt --ctx 64
refuses "an unsupported architecture" 'general.architecture "gemma" is not implemented' "$E" ppl gemma.gguf --tokens ids.txt --ctx 64
"$WK_BIN_DIR/wk-quantize" -q f16.gguf yarn.gguf q8_0 --override-kv llama.rope.scaling.type=str:yarn &&
    refuses "rope scaling yarn" 'rope.scaling.type" is "yarn": only none and linear' "$E" ppl yarn.gguf --tokens ids.txt --ctx 64
"$WK_BIN_DIR/wk-quantize" -q f16.gguf moe.gguf q8_0 --override-kv llama.expert_count=int:8 &&
    refuses "an unknown hyper-parameter key" 'key "llama.expert_count" is not implemented' "$E" ppl moe.gguf --tokens ids.txt --ctx 64

echo "eval.sh: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
