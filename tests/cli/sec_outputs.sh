#!/usr/bin/env bash
# sec_outputs.sh — issue #24, the output side: no tool writes over a file it reads (item 2),
# staging temporaries are unique (3), an input changed while read costs the output (5),
# outputs never inherit modes and never write through symlinks (8), wk-pack --sha256 and
# wk-bench --json/--svg commit all promised files or none (9), stale temporaries of dead runs
# are reclaimed (16), and the loser of two runs on one output directory is told so (18).
set -u
: "${WK_SOURCE_DIR:?}" "${WK_BIN_DIR:?}" "${WK_TMP:?}"
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "sec_outputs.sh: skipped: $PY needed" >&2; exit 77; }
rm -rf "$WK_TMP" && mkdir -p "$WK_TMP" && cd "$WK_TMP" || exit 1
P=$WK_BIN_DIR/wk-pack Q=$WK_BIN_DIR/wk-quantize B=$WK_BIN_DIR/wk-bench C=$WK_BIN_DIR/wk-convert
umask 022

pass=0 fail=0
ok()   { pass=$((pass + 1)); echo "ok - $1"; }
bad()  { fail=$((fail + 1)); echo "not ok - $1" >&2; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
sum() { sha256sum "$1" | cut -d' ' -f1; }

cp -r "$WK_SOURCE_DIR/tests/fixtures/models/tiny" META
cp -r "$WK_SOURCE_DIR/tests/fixtures/models/tiny-ft" META2
"$P" -q META X.safetensors || { echo "setup: wk-pack META X.safetensors failed" >&2; exit 1; }
"$P" -q META m.gguf || exit 1
"$P" -q META2 m2.gguf || exit 1
"$C" -q META HF >/dev/null || { echo "setup: wk-convert failed" >&2; exit 1; }

# refuses NAME FILE CMD...: CMD fails, says "refusing to write" and names FILE; FILE unchanged;
# no temporary left beside FILE.
refuses() {
    local name=$1 file=$2; shift 2
    local before; before=$(sum "$file")
    "$@" > out.txt 2> err.txt; local rc=$?
    if [ $rc -ne 0 ] && grep -q "refusing to write" err.txt && grep -qF "$file" err.txt &&
       [ "$(sum "$file")" = "$before" ] && ! ls -a "$(dirname "$file")" | grep -q 'wk-tmp'; then
        ok "$name"
    else
        bad "$name (rc $rc: $(cat err.txt))"
    fi
}

# ---- item 2: never write over an input ------------------------------------------------------
"$P" -q META META/X.safetensors || exit 1
refuses "quantize X.safetensors X.safetensors" META/X.safetensors "$Q" META/X.safetensors META/X.safetensors q8_0
refuses "quantize META META/consolidated.00.pth" META/consolidated.00.pth "$Q" META META/consolidated.00.pth q8_0
refuses "quantize m.gguf m.gguf" m.gguf "$Q" m.gguf m.gguf q8_0
refuses "pack META into META/params.json" META/params.json "$P" META META/params.json --format gguf
refuses "pack META into META/tokenizer.model" META/tokenizer.model "$P" META META/tokenizer.model --format gguf
refuses "pack HF into HF/config.json" HF/config.json "$P" HF HF/config.json --format gguf
refuses "pack HF into HF/tokenizer_config.json" HF/tokenizer_config.json "$P" HF HF/tokenizer_config.json --format gguf
refuses "pack HF into HF/tokenizer.model" HF/tokenizer.model "$P" HF HF/tokenizer.model --format gguf
cp m.gguf F.gguf
refuses "quantize --imatrix F with output F" F.gguf "$Q" m.gguf F.gguf q8_0 --search --imatrix F.gguf
ln -s META/params.json link.gguf
refuses "pack into a symlink to its params.json" META/params.json "$P" META link.gguf
rm -f link.gguf
npy() { "$PY" -c "import numpy as np; np.save('$1', np.ones((4, 64), np.float32))"; }
if npy acts.npy 2>/dev/null; then
    refuses "bench --json over its --activations" acts.npy "$B" --types q8_0 --activations acts.npy --json acts.npy --no-speed -q
    refuses "bench --svg over its --model" m.gguf "$B" --types q8_0 --model m.gguf --max-tensors 1 --svg m.gguf --no-speed -q
fi

# ---- item 8: modes and symlinks at the output path -----------------------------------------
mkdir -p outside && echo "secret" > outside/target && chmod 600 outside/target
mkdir -p d && ln -sf ../outside/target d/out.gguf
t0=$(sum outside/target)
"$P" -q META d/out.gguf; rc=$?
check "symlink at the output: replaced (exit 0, now a regular file)" [ $rc -eq 0 -a -f d/out.gguf -a ! -L d/out.gguf ]
check "symlink at the output: its target unchanged" [ "$(sum outside/target)" = "$t0" -a "$(stat -c %a outside/target)" = 600 ]
cp m.gguf suid.gguf && chmod 4755 suid.gguf
"$P" -q META suid.gguf; rc=$?
check "output over a 4755 file gets 0644 under umask 022" [ $rc -eq 0 -a "$(stat -c %a suid.gguf)" = 644 ]

# ---- item 9: --sha256 promises two files: both or neither ----------------------------------
mkdir -p s9 && mkdir s9/o.gguf.sha256
"$P" -q META s9/o.gguf --sha256 2> err.txt; rc=$?
check "pack --sha256, sidecar unwritable: exit non-zero, no output" [ $rc -ne 0 -a ! -e s9/o.gguf ]
check "pack --sha256, sidecar unwritable: names it" grep -q "o.gguf.sha256" err.txt
cp m.gguf s9/o.gguf; before=$(sum s9/o.gguf)
"$P" -q META2 s9/o.gguf --sha256 2>/dev/null; rc=$?
check "pack --sha256 failure keeps the earlier output" [ $rc -ne 0 -a "$(sum s9/o.gguf)" = "$before" ]
rmdir s9/o.gguf.sha256
"$P" -q META s9/o.gguf --sha256; rc=$?
check "pack --sha256: both written" bash -c "[ $rc -eq 0 ] && cd s9 && sha256sum -c --status o.gguf.sha256"
if [ -x "$B" ]; then
    "$B" --types q8_0 --no-speed -q --json b9.json --svg nodir/b9.svg 2> err.txt; rc=$?
    check "bench --json + --svg, svg unwritable: no json either" [ $rc -ne 0 -a ! -e b9.json ]
fi

# ---- items 3 and 16: unique, locked temporaries; stale ones reclaimed --------------------------
check "no fixed staging name left in the sources" \
    bash -c "! grep -rn 'wk-pack\.gguf' '$WK_SOURCE_DIR/tools' '$WK_SOURCE_DIR/formats' '$WK_SOURCE_DIR/common' '$WK_SOURCE_DIR/docs/quantize.md'"
echo "precious" > q3.gguf.wk-pack.gguf          # the old fixed name: must not be touched now
"$Q" -q META/X.safetensors q3.gguf q8_0 >/dev/null; rc=$?
check "quantize of a non-GGUF input: exit 0, old fixed-name file untouched" \
    [ $rc -eq 0 -a "$(cat q3.gguf.wk-pack.gguf)" = precious ]
check "quantize leaves no temporary" bash -c "! ls -a | grep -q 'q3.gguf.wk-tmp'"
# two runs, same output, different inputs, at once: each run's result is whole (one of the two)
"$Q" -q m.gguf r1.gguf q8_0 && "$Q" -q m2.gguf r2.gguf q8_0 || bad "serial quantize"
good=1
for i in 1 2 3 4 5 6; do
    "$Q" -q META race.gguf q8_0 2> e1.txt & a=$!
    "$Q" -q META2 race.gguf q8_0 2> e2.txt & b=$!
    wait $a; ra=$?; wait $b; rb=$?
    s=$(sum race.gguf)
    if [ $ra -ne 0 ] || [ $rb -ne 0 ] || { [ "$s" != "$(sum r1.gguf)" ] && [ "$s" != "$(sum r2.gguf)" ]; }; then
        good=0; cat e1.txt e2.txt >&2
    fi
done
check "concurrent quantize to one output: both exit 0, result is one whole run's" [ $good = 1 ]
check "concurrent quantize: no temporaries left" bash -c "! ls -a | grep -q 'race.gguf.wk-tmp'"

# a stale temporary of a dead process is removed (and said), a locked one is left
sh -c 'exit 0' & dead=$!; wait $dead
mkdir -p s16
echo stale > "s16/.o.gguf.wk-tmp.$dead.AbC123"
mkdir "s16/.o.gguf.wk-tmp.$dead.DeF456" && echo x > "s16/.o.gguf.wk-tmp.$dead.DeF456/f"
echo live > "s16/.o.gguf.wk-tmp.$dead.GhI789"
echo other > "s16/.p.gguf.wk-tmp.$dead.AbC123"
( exec 9< "s16/.o.gguf.wk-tmp.$dead.GhI789"; flock 9; exec sleep 60 ) & holder=$!   # util-linux flock
sleep 0.3
"$P" META s16/o.gguf 2> err.txt >/dev/null; rc=$?
check "stale temporaries (file, directory) of a dead run removed" \
    [ $rc -eq 0 -a ! -e "s16/.o.gguf.wk-tmp.$dead.AbC123" -a ! -e "s16/.o.gguf.wk-tmp.$dead.DeF456" ]
check "stale temporary removal is said on stderr" grep -q "removed stale temporary s16/.o.gguf.wk-tmp.$dead.AbC123" err.txt
check "a temporary locked by a live process is left" [ -e "s16/.o.gguf.wk-tmp.$dead.GhI789" ]
check "another output's temporary is left" [ -e "s16/.p.gguf.wk-tmp.$dead.AbC123" ]
kill $holder 2>/dev/null; wait $holder 2>/dev/null
"$P" -q META s16/o.gguf 2> err.txt; rc=$?
check "--quiet: the sweep says nothing" [ $rc -eq 0 -a ! -s err.txt -a ! -e "s16/.o.gguf.wk-tmp.$dead.GhI789" ]
# kill -9 in the middle of a real run: its temporary is named so, and the next run reclaims it
"$PY" -c "
import numpy as np, json, struct
a = np.random.default_rng(1).standard_normal((4096, 4096)).astype(np.float32)
h = json.dumps({'w': {'dtype': 'F32', 'shape': [4096, 4096], 'data_offsets': [0, a.nbytes]}}).encode()
h += b' ' * (-len(h) % 8)
open('big.safetensors', 'wb').write(struct.pack('<Q', len(h)) + h + a.tobytes())" || exit 1
# stop_in_window OUT CMD...: run CMD in the background, SIGSTOP it while its temporary of OUT
# exists and holds less than the final size minus 2 MiB (so it is still writing: the end
# checks have not run).  Sets $pid; returns 1 (and kills CMD) if the window was missed.
stop_in_window() {
    local out=$1 full=$2; shift 2
    local dir; dir=$(dirname "$out"); local base; base=$(basename "$out")
    "$@" 2> sw_err.txt & pid=$!
    local t n=0
    while [ $((n += 1)) -lt 2000000 ]; do
        for t in "$dir"/."$base".wk-tmp.*; do
            [ -e "$t" ] || continue
            kill -STOP $pid 2>/dev/null || return 1
            if [ "$(stat -c %s "$t" 2>/dev/null || echo "$full")" -lt $((full - 2097152)) ]; then return 0; fi
            kill -KILL $pid; kill -CONT $pid; wait $pid 2>/dev/null; return 1
        done
        kill -0 $pid 2>/dev/null || { wait $pid; return 1; }
    done
    kill -KILL $pid; wait $pid 2>/dev/null; return 1
}
"$P" -q big.safetensors ref.safetensors --outtype f16 --no-digest || exit 1
full=$(stat -c %s ref.safetensors)
got=0
mkdir -p k9
for _ in $(seq 1 30); do
    rm -rf k9/.o.safetensors.wk-tmp.*
    if stop_in_window k9/o.safetensors "$full" "$P" -q big.safetensors k9/o.safetensors --outtype f16 --no-digest; then
        got=1; break
    fi
done
if [ $got = 1 ]; then
    kill -KILL $pid; kill -CONT $pid 2>/dev/null; wait $pid 2>/dev/null
    check "kill -9 leaves a temporary named .NAME.wk-tmp.PID.XXXXXX" \
        bash -c "ls -a k9 | grep -qE '^\.o\.safetensors\.wk-tmp\.$pid\.[A-Za-z0-9]{6}$'"
    "$P" big.safetensors k9/o.safetensors --outtype f16 --no-digest 2> err.txt >/dev/null; rc=$?
    check "the next run removes the dead run's temporary and says so" \
        bash -c "[ $rc -eq 0 ] && grep -q 'removed stale temporary k9/.o.safetensors.wk-tmp.$pid' err.txt && ! ls -a k9 | grep -q wk-tmp"
else
    bad "kill -9 window never caught (30 tries)"
fi

# ---- item 5: an input changed while being read costs the output -------------------------------
got=0
for _ in $(seq 1 30); do
    rm -f c5.safetensors .c5.safetensors.wk-tmp.*
    if stop_in_window ./c5.safetensors "$full" "$P" -q big.safetensors c5.safetensors --outtype f16 --no-digest; then
        got=1; break
    fi
done
if [ $got = 1 ]; then
    touch big.safetensors                      # same bytes, a new mtime: the run cannot know
    kill -CONT $pid; wait $pid; rc=$?
    check "pack: input touched while read: exit non-zero" [ $rc -ne 0 ]
    check "pack: input touched while read: no output, no temporary" \
        bash -c "[ ! -e c5.safetensors ] && ! ls -a | grep -q 'c5.safetensors.wk-tmp'"
    check "pack: input touched while read: the message names it" \
        grep -q "big.safetensors: changed while being read" sw_err.txt
else
    bad "item 5 window never caught (30 tries)"
fi

# ---- item 18: two runs into one output directory: the loser is told -----------------------
got=0
for _ in $(seq 1 30); do
    rm -rf o18 .o18.wk-tmp.*
    if stop_in_window ./o18 1000000000 "$P" -q big.safetensors o18 --format safetensors --shard-size 8MB --outtype f16 --no-digest; then
        got=1; break
    fi
done
if [ $got = 1 ]; then
    "$P" -q big.safetensors o18 --format safetensors --shard-size 8MB --outtype f16 --no-digest; rb=$?
    kill -CONT $pid; wait $pid; ra=$?
    check "two runs, one output directory: the winner's output is whole" \
        bash -c "[ $rb -eq 0 ] && [ -f o18/model.safetensors ] && [ $(ls o18 | wc -l) -eq 1 ]"
    check "two runs, one output directory: the loser fails saying so" \
        bash -c "[ $ra -ne 0 ] && grep -q 'another run wrote the same output directory meanwhile' sw_err.txt && ! grep -q 'Directory not empty' sw_err.txt"
    check "two runs, one output directory: no temporary left" bash -c "! ls -a | grep -q 'o18.wk-tmp'"
else
    bad "item 18 window never caught (30 tries)"
fi

echo "sec_outputs: $pass passed, $fail failed"
[ $fail -eq 0 ]
