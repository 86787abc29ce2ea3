#!/usr/bin/env bash
# The layering of ARCHITECTURE.md, enforced: a layer's sources (src/<dir>) may include
# headers only from the layers its CMake target links (directly or through them), as
# declared by the cf_optional_layer(...) lines of CMakeLists.txt. A header from a layer
# above (or beside) is a failure naming the file, line and layer.
set -euo pipefail
: "${CF_SOURCE_DIR:?}"
/usr/bin/python3 - "$CF_SOURCE_DIR" <<'PY'
import os, re, sys
root = sys.argv[1]
cmake = open(os.path.join(root, "CMakeLists.txt")).read()
deps = {}  # directory -> directories of the cf_ targets it links
target_dir = {}
for name, d, rest in re.findall(r"cf_optional_layer\((cf_\w+)\s+(\w+)([^)]*)\)", cmake):
    target_dir[name] = d
    deps[d] = [t for t in rest.split() if t.startswith("cf_")]
for d in deps:
    deps[d] = [target_dir[t] for t in deps[d] if t in target_dir]
def closure(d, seen=None):
    seen = set() if seen is None else seen
    for x in deps.get(d, []):
        if x not in seen:
            seen.add(x)
            closure(x, seen)
    return seen
bad = 0
for d in deps:
    allowed = closure(d) | {d}
    for dirpath, _, files in os.walk(os.path.join(root, "src", d)):
        for f in files:
            if not f.endswith((".h", ".cpp", ".cc", ".cu", ".cuh")):
                continue
            path = os.path.join(dirpath, f)
            for i, line in enumerate(open(path, encoding="utf-8"), 1):
                m = re.match(r'\s*#include "(\w+)/', line)
                if m and m.group(1) in deps and m.group(1) not in allowed:
                    print(f"FAIL: {os.path.relpath(path, root)}:{i} includes the '{m.group(1)}' layer; "
                          f"'{d}' may use only {sorted(allowed)}")
                    bad += 1
if bad:
    sys.exit(1)
print(f"layering ok: {len(deps)} layers, each including only the layers its target links")
PY
