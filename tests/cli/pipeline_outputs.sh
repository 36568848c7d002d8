#!/usr/bin/env bash
# No-behaviour-change guard: runs the main job (tools/pipeline.sh) with the built tools and
# compares the SHA-256 of every file it writes — converted, encoded, decoded, packed and
# quantized — with the stored list tests/fixtures/pipeline-outputs.sha256.  bench.json is
# compared on its fidelity numbers only (timings, machine facts and paths are dropped).
#   WK_UPDATE=1 ...   rewrite the stored list (only after a deliberate output change)
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
list=$src/tests/fixtures/pipeline-outputs.sha256
rm -rf "$tmp"; mkdir -p "$tmp"
WK_PIPELINE_BIN=$bin bash "$src/tools/pipeline.sh" "$tmp/out" >"$tmp/log" 2>&1 \
  || { cat "$tmp/log"; echo "FAIL: pipeline failed" >&2; exit 1; }
python3 - "$tmp/out/bench.json" >"$tmp/out/bench-fidelity.json" <<'PY'
import json, sys
DROP = {"speed", "machine", "threads", "model", "f32_baseline"}
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in DROP}
    if isinstance(o, list):
        return [strip(v) for v in o]
    return o
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True, indent=1))
PY
(cd "$tmp/out" && find . -type f ! -name bench.json ! -name bench.svg | LC_ALL=C sort \
   | xargs sha256sum) >"$tmp/got.sha256"
if [[ -n "${WK_UPDATE:-}" ]]; then cp "$tmp/got.sha256" "$list"; echo "updated $list"; exit 0; fi
if ! diff -u "$list" "$tmp/got.sha256"; then
  echo "FAIL: pipeline outputs differ from $list" >&2; exit 1
fi
echo "ok - $(wc -l <"$list") pipeline outputs SHA-256-identical to the stored list"
