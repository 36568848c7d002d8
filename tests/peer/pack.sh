#!/usr/bin/env bash
# pack.sh — wk-pack's outputs checked by independent readers and round trips.
#
#   - .pth -> safetensors: read back by tests/peer/safetensors_read.py (json + numpy, no
#     weightkit code) equals what torch.load gives, tensor by tensor, byte by byte; the stored
#     XXH3-64 digests equal the xxhsum CLI's.
#   - Meta dir (2 ranks) -> safetensors equals the ranks merged by torch.cat (fairscale's way).
#   - --outtype f16/bf16 safetensors equal torch's .to() of the source.
#   - Meta dir -> F32 GGUF: every tensor equals the source converted to float32 by torch.
#   - Round trips: pth -> GGUF -> safetensors -> GGUF, byte-stable (cmp); a GGUF -> GGUF repack
#     is byte-identical; 1 rank and 2 ranks of the same model give the same GGUF.
#   - HF input (made by wk-convert when it is built): pytorch_model.bin dir and a sharded
#     safetensors dir (--shard-size) give the same GGUF as the Meta original (q/k un-permuted).
#   - GGUF digests (weightkit.digest.tensors) equal xxhsum -H3 of the tensor bytes.
# Exit 77 if the fixtures or Debian's python3-torch / numpy / xxhash are missing.
set -euo pipefail

SRC=${WK_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BIN=${WK_BIN_DIR:-$SRC/build/bin}
TMP=${WK_TMP:-$(mktemp -d)}
MODELS=${WK_PACK_MODELS:-$SRC/tests/fixtures/models}
PY=/usr/bin/python3
READ="$PY $SRC/tests/peer/safetensors_read.py"
mkdir -p "$TMP"
rm -rf "${TMP:?}"/*

skip() { echo "pack: SKIP: $*" >&2; exit 77; }
die() { echo "pack: FAIL: $*" >&2; exit 1; }

[[ -f $MODELS/tiny/consolidated.00.pth ]] || skip "fixture models not present in $MODELS"
$PY -c "import torch, numpy" 2>/dev/null || skip "needs Debian's python3-torch and python3-numpy"
command -v xxhsum >/dev/null || skip "needs xxhsum (apt-get install xxhash)"

pack() { "$BIN/wk-pack" -q "$@" || die "wk-pack $*"; }
same() { cmp -s "$1" "$2" || die "$3: $1 and $2 differ"; echo "ok  $3"; }

T=$MODELS/tiny
echo "== independent reader vs torch.load"
pack "$T/consolidated.00.pth" "$TMP/pth.safetensors"
$READ st-equal "$TMP/pth.safetensors" "$T/consolidated.00.pth" || die "pth -> safetensors"
pack "$T" "$TMP/meta.safetensors"
$READ st-equal "$TMP/meta.safetensors" "$T" --drop rope.freqs || die "Meta dir -> safetensors"
if [[ -d $MODELS/tiny-mp2 ]]; then
    pack "$MODELS/tiny-mp2" "$TMP/mp2.safetensors"
    $READ st-equal "$TMP/mp2.safetensors" "$MODELS/tiny-mp2" --drop rope.freqs || die "2 ranks -> safetensors"
fi
pack "$T" "$TMP/f32.safetensors" --outtype f32
$READ st-equal "$TMP/f32.safetensors" "$T" --drop rope.freqs --as f32 || die "--outtype f32"
pack "$T" "$TMP/bf16.safetensors" --outtype bf16
$READ st-equal "$TMP/bf16.safetensors" "$T" --drop rope.freqs --as bf16 || die "--outtype bf16"
if [[ -d $MODELS/tiny-gqa ]]; then
    pack "$MODELS/tiny-gqa" "$TMP/gqa16.safetensors" --outtype f16
    $READ st-equal "$TMP/gqa16.safetensors" "$MODELS/tiny-gqa" --drop rope.freqs --as f16 || die "bf16 -> f16"
    pack "$MODELS/tiny-gqa" "$TMP/gqa32.gguf" --outtype f32
    $READ gguf-equal "$TMP/gqa32.gguf" "$MODELS/tiny-gqa" --meta || die "GQA -> F32 GGUF"
fi
pack "$T" "$TMP/t32.gguf" --outtype f32
$READ gguf-equal "$TMP/t32.gguf" "$T" --meta || die "Meta -> F32 GGUF"

echo "== round trips"
pack "$T/consolidated.00.pth" "$TMP/a.gguf" --name tiny
pack "$TMP/a.gguf" "$TMP/a.safetensors"
pack "$TMP/a.safetensors" "$TMP/b.gguf"
same "$TMP/a.gguf" "$TMP/b.gguf" "pth -> GGUF -> safetensors -> GGUF"
pack "$TMP/b.gguf" "$TMP/c.safetensors"
same "$TMP/a.safetensors" "$TMP/c.safetensors" "GGUF -> safetensors twice"
pack "$TMP/a.gguf" "$TMP/d.gguf"
same "$TMP/a.gguf" "$TMP/d.gguf" "GGUF -> GGUF"
pack "$T" "$TMP/e.gguf" --name tiny
same "$TMP/a.gguf" "$TMP/e.gguf" "single .pth file = Meta directory"
if [[ -d $MODELS/tiny-mp2 ]]; then
    pack "$MODELS/tiny-mp2" "$TMP/mp2.gguf" --name tiny
    same "$TMP/a.gguf" "$TMP/mp2.gguf" "1 rank = 2 ranks merged"
fi
pack "$TMP/a.gguf" "$TMP/a32.gguf" --outtype f32
pack "$T" "$TMP/t32n.gguf" --outtype f32 --name tiny
same "$TMP/a32.gguf" "$TMP/t32n.gguf" "GGUF f16 -> f32 = Meta -> f32"
pack "$TMP/a.gguf" "$TMP/a64.gguf" --alignment 64
pack "$TMP/a64.gguf" "$TMP/a64.safetensors"
pack "$TMP/a64.safetensors" "$TMP/a64b.gguf"
same "$TMP/a64.gguf" "$TMP/a64b.gguf" "alignment 64 carried through safetensors"

echo "== digests"
for f in a.gguf a32.gguf a64.gguf; do
    $READ gguf-digests "$TMP/$f" || die "digests of $f"
done
pack "$T" "$TMP/nod.gguf" --no-digest --name tiny
! grep -q weightkit.digest "$TMP/nod.gguf" || die "--no-digest still wrote digests"
pack "$T" "$TMP/sha.gguf" --sha256 --name tiny
(cd "$TMP" && sha256sum -c --quiet sha.gguf.sha256) || die "--sha256 sidecar"
echo "ok  --no-digest, --sha256"

echo "== HF input"
if [[ -x $BIN/wk-convert ]] && "$BIN/wk-convert" "$T" "$TMP/hf" >/dev/null 2>&1; then
    pack "$TMP/hf" "$TMP/hf.safetensors"
    $READ st-equal "$TMP/hf.safetensors" "$TMP/hf" || die "HF bin -> safetensors"
    pack "$TMP/hf" "$TMP/hfsh" --shard-size 1MB
    $READ st-equal "$TMP/hfsh" "$TMP/hf" || die "HF bin -> sharded safetensors"
    cp "$TMP/hf/config.json" "$TMP/hf/tokenizer.model" "$TMP/hf/tokenizer_config.json" "$TMP/hfsh/"
    pack "$TMP/hf" "$TMP/hf.gguf" --name tiny
    pack "$TMP/hfsh" "$TMP/hfsh.gguf" --name tiny
    same "$TMP/hf.gguf" "$TMP/hfsh.gguf" "HF .bin = HF sharded safetensors"
    # the HF checkpoint holds q/k permuted; un-permuted they must equal the Meta original's
    $PY - "$TMP/hf.gguf" "$TMP/a.gguf" "$SRC/tests/peer/safetensors_read.py" <<'EOF' || die "HF -> GGUF tensors"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[3]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
_, _, a = r.read_gguf(sys.argv[1]); _, _, b = r.read_gguf(sys.argv[2])
assert set(a) == set(b), (set(a) ^ set(b))
for k in a:
    assert a[k][0] == b[k][0] and a[k][1].tobytes() == b[k][1].tobytes(), k
print("ok  HF (permuted q/k) -> GGUF tensors = Meta -> GGUF tensors (%d)" % len(a))
sys.exit(1 if r.ERRORS else 0)
EOF
    # grouped-query attention: k_proj is permuted with n_kv_heads (transformers >= 4.31 layout)
    if [[ -d $MODELS/tiny-gqa ]] &&
        "$BIN/wk-convert" "$MODELS/tiny-gqa" "$TMP/hfgqa" --transformers-version 4.31.0 >/dev/null 2>&1; then
        pack "$TMP/hfgqa" "$TMP/hfgqa.gguf" --name g
        pack "$MODELS/tiny-gqa" "$TMP/gqa16.gguf" --name g --outtype f16
        $PY - "$TMP/hfgqa.gguf" "$TMP/gqa16.gguf" "$SRC/tests/peer/safetensors_read.py" <<'EOF' || die "HF GQA -> GGUF tensors"
import importlib.util, sys
spec = importlib.util.spec_from_file_location("r", sys.argv[3]); r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)
_, _, a = r.read_gguf(sys.argv[1]); _, _, b = r.read_gguf(sys.argv[2])
assert set(a) == set(b), (set(a) ^ set(b))
for k in a:
    assert a[k][0] == b[k][0] and a[k][1].tobytes() == b[k][1].tobytes(), k
print("ok  HF GQA (k permuted with n_kv_heads) -> GGUF tensors = Meta -> GGUF tensors (%d)" % len(a))
sys.exit(1 if r.ERRORS else 0)
EOF
    fi
else
    echo "(wk-convert not available: HF checks skipped)"
fi
echo "pack: OK"
