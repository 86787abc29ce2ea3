#!/usr/bin/env bash
# docs/eval.md must stay true: run every ```sh block of the page in order in an empty
# directory (with this build's chatforge first on PATH) and check that each output block
# shown right after a command block appears verbatim in what the commands printed.
set -euo pipefail
CHATFORGE=${CHATFORGE:?path to the chatforge binary}
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
SRC=${CF_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=${CF_BINARY_DIR:-/tmp}/test-tmp/metrics_docs
rm -rf "$TMP" && mkdir -p "$TMP/bin"
ln -s "$(realpath "$CHATFORGE")" "$TMP/bin/chatforge"
cd "$TMP"
"$PY" - "$SRC/docs/eval.md" > run.sh <<'PYEOF'
import re, sys
for block in re.findall(r"```sh\n(.*?)```", open(sys.argv[1], encoding="utf-8").read(), re.S):
    print(block)
PYEOF
PATH="$TMP/bin:$PATH" bash -e run.sh > out.txt 2>&1 || { echo "FAIL a documented command failed:"; tail -5 out.txt; exit 1; }
"$PY" - "$SRC/docs/eval.md" out.txt <<'PYEOF'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
out = open(sys.argv[2], encoding="utf-8").read()
shown = re.findall(r"```sh\n.*?```\n```\n(.*?)```", doc, re.S)
bad = [b for b in shown if b not in out]
for b in shown:
    print(("ok   " if b not in bad else "FAIL ") + "documented output: " + b.splitlines()[0][:70])
if not shown:
    print("FAIL no documented outputs found"); sys.exit(1)
sys.exit(1 if bad else 0)
PYEOF
