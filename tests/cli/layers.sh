#!/usr/bin/env bash
# The build enforces the layers of docs/CONTRIBUTING.md ("Layers").  For one source file of
# every layer target, this takes its real compile command from the build's
# compile_commands.json and preprocesses a probe that includes each header of the tree in
# turn.  A header must be reachable exactly when the layer rule allows it:
#   - its own folders (public and private: internal/, x86/),
#   - the public folders of every lower layer (common < formats/<container> < formats/quant
#     < formats/llama < tools/<engine>),
#   - another engine's public folder only if CMakeLists.txt lists it in the engine's DEPS.
# Anything else (an upward include, another layer's private header, an undeclared engine)
# must fail to compile; the mains' own headers (tools/wk_<name>_print.h) are visible to no layer.
set -euo pipefail
bin=${WK_BIN_DIR:?}; src=${WK_SOURCE_DIR:?}; tmp=${WK_TMP:?}
build=$(dirname "$bin")
rm -rf "$tmp"; mkdir -p "$tmp"
[[ -f $build/compile_commands.json ]] || { echo "FAIL: no $build/compile_commands.json" >&2; exit 1; }
exec python3 - "$src" "$build/compile_commands.json" "$tmp" <<'PY'
import glob, json, os, re, shlex, subprocess, sys
src, ccj, tmp = sys.argv[1:4]

def rank(folder):
    """Layer of a folder relative to src: (rank, engine name or None)."""
    parts = folder.split("/")
    if parts[0] == "common": return 0, None
    if parts[0] == "formats":
        if parts[1] == "quant": return 2, None
        if parts[1] == "llama": return 3, None
        return 1, None
    if parts[0] == "tools" and len(parts) > 1: return 4, parts[1]
    if folder == "tools": return 5, None          # the mains and their print helpers
    raise SystemExit(f"FAIL: folder {folder} belongs to no layer (add it to tests/cli/layers.sh)")

def owner(folder):
    """The layer folder a header folder belongs to (x86/ and internal/ belong to their parent)."""
    parts = folder.split("/")
    private = parts[-1] in ("x86", "internal")
    base = "/".join(parts[:-1]) if private else folder
    return base, private

# Engine DEPS as declared in CMakeLists.txt: wk_layer(wk_eng_<a> DEPS wk_eng_<b> ...)
deps = {}
cm = open(os.path.join(src, "CMakeLists.txt")).read()
for m in re.finditer(r"wk_layer\(wk_eng_(\w+)([^)]*)\)", cm):
    deps[m.group(1)] = set(re.findall(r"wk_eng_(\w+)", m.group(2)))

def allowed(user, header_folder):
    ub, _ = owner(user)
    hb, hpriv = owner(header_folder)
    if hb == ub: return True                      # own folders, private ones included
    if hpriv: return False                        # another layer's private header
    ur, ue = rank(ub); hr, he = rank(hb)
    if ue and he:                                 # engine -> engine: declared DEPS only (transitively)
        seen, todo = set(), [ue]
        while todo:
            e = todo.pop()
            for d in deps.get(e, ()):
                if d not in seen: seen.add(d); todo.append(d)
        return he in seen
    if ur == 1 and hr == 1: return True           # containers share layer 1
    return hr < ur

headers = sorted(os.path.relpath(h, src) for d in ("common", "formats", "tools")
                 for h in glob.glob(os.path.join(src, d, "**", "*.h"), recursive=True))
cmds = json.load(open(ccj))
reps = {}                                         # one compile command per layer folder
for c in cmds:
    f = os.path.relpath(c["file"], src)
    folder = os.path.dirname(f)
    if not (f.startswith("common/") or f.startswith("formats/") or f.startswith("tools/")): continue
    if folder == "tools": continue                # the mains (L5) may include anything
    base, _ = owner(folder)
    reps.setdefault(base, c)
if len(reps) < 6: raise SystemExit(f"FAIL: only {len(reps)} layer folders in compile_commands.json")

fails = checks = 0
probe = os.path.join(tmp, "probe.c")
for base, c in sorted(reps.items()):
    args = c["arguments"] if "arguments" in c else shlex.split(c["command"])
    flags = [a for a in args if a.startswith(("-I", "-D", "-std", "-isystem"))]
    cc = args[0]
    for h in headers:
        hf = os.path.dirname(h)
        want = allowed(base, hf)
        with open(probe, "w") as p: p.write(f'#include "{os.path.basename(h)}"\n')
        r = subprocess.run([cc, "-E", "-o", os.devnull] + flags + [probe],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp, text=True)
        found = r.returncode == 0 or "No such file" not in r.stderr
        checks += 1
        if found != want:
            fails += 1
            print(f"not ok - {base}: #include \"{os.path.basename(h)}\" ({hf}) "
                  f"{'compiles' if found else 'fails'}, layer rule says {'allowed' if want else 'forbidden'}")
print(f"{'ok' if not fails else 'FAIL'} - {checks} include probes over {len(reps)} layer folders, "
      f"{fails} violations")
sys.exit(1 if fails else 0)
PY
