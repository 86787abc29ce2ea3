#!/usr/bin/env python3
"""Names local to a file that a unity build would let another file see.

The build compiles each target's .cpp files in batches, one translation unit per batch
(CHATFORGE_UNITY_BUILD, CMakeLists.txt). A function local to a file (in an anonymous
namespace, or `static`) is then visible to the files after it in the batch. Two with the
same name and different parameters are overloads, and a call meant for one can silently
take the other (a `trim(std::string)` in one file bound a `trim(std::string_view)` call of
another to a temporary). Equal signatures fail to compile, but only while both files share
a batch: adding a file moves the batch boundaries.

So: within a target, a file-local function's name must not be the name of another function
that the target's files define locally, or of a free function the project's headers declare;
and no two files may define a class or struct of the same name in an anonymous namespace.
Class members, lambdas and local variables are not affected. Reads the definitions with
universal-ctags; prints each clash as `NAME: FILE:LINE, FILE:LINE` and exits 1 if any.
Usage: scripts/check_unity_names.py [REPO_ROOT]
"""
import collections
import glob
import json
import os
import subprocess
import sys

root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
os.chdir(root)


def targets():
    """The unity targets as lists of source files (cf_ops and cf_cuda compile file by file)."""
    out = {}
    for layer in sorted(os.listdir("src")):
        if layer in ("ops", "cli") or not os.path.isdir(f"src/{layer}"):
            continue
        files = sorted(glob.glob(f"src/{layer}/**/*.cpp", recursive=True))
        if files:
            out[f"cf_{layer}"] = files
    out["chatforge"] = sorted(glob.glob("src/cli/*.cpp"))
    for suite in ("unit", "grad", "golden", "e2e", "interop", "cuda"):
        files = sorted(glob.glob(f"tests/{suite}/test_*.cpp"))
        if files:
            out[f"test_{suite}"] = files
    out["fuzz_replay"] = sorted(glob.glob("tests/fuzz/fuzz_*.cpp")) + ["tests/fuzz/replay_main.cpp"]
    return out


def tags(paths, kinds):
    cmd = ["ctags", "--languages=C++", "--language-force=C++", f"--kinds-C++={kinds}", "--fields=+sZKEefn",
           "--extras=-q", "--output-format=json", "-f", "-"] + paths
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    for line in res.stdout.splitlines():
        t = json.loads(line)
        if t.get("_type") == "tag":
            yield t


def is_file_local(t):
    if t.get("kind") in ("class", "struct"):
        # two equal ones fail to compile, once they share a batch
        return t.get("scopeKind") == "namespace" and "__anon" in t.get("scope", "")
    if t.get("scopeKind") not in (None, "namespace"):
        return False  # a member, or something inside a function
    return t.get("file") is True or "__anon" in t.get("scope", "")


# Free functions the headers declare (prototypes and inline definitions at namespace scope).
headers = sorted(glob.glob("src/**/*.h", recursive=True))
public = {t["name"] for t in tags(headers, "fp") if t.get("scopeKind") in (None, "namespace")}

clashes = []
for target, files in targets().items():
    local = collections.defaultdict(list)
    for t in tags(files, "fcs"):
        # (TEST, TEST_F and TEST_P bodies read as functions: GoogleTest names them apart)
        if is_file_local(t) and not t["name"].startswith(("__anon", "TEST")):
            local[t["name"]].append((t["path"], t.get("line", 0)))
    for name, where in sorted(local.items()):
        files_with = {p for p, _ in where}
        if len(files_with) > 1 or name in public:
            places = ", ".join(f"{p}:{n}" for p, n in where)
            why = " (also a function the headers declare)" if name in public else ""
            clashes.append(f"{target}: {name}{why}: {places}")

for c in clashes:
    print(c)
if clashes:
    print(f"{len(clashes)} file-local names clash within a unity target: rename them (scripts/check_unity_names.py)")
    sys.exit(1)
print("file-local names: no clashes within any unity target")
