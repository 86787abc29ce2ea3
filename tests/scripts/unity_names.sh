#!/usr/bin/env bash
# The unity build's rule (CMakeLists.txt, README "Build by hand"): within a target, no
# file-local function may share its name with another file's local function or a function
# the headers declare, and no two anonymous-namespace classes may share a name. Either can
# change which function a call binds to, or break the build once files move between batches.
set -euo pipefail
: "${CF_SOURCE_DIR:?}"
command -v ctags >/dev/null || { echo "universal-ctags missing (scripts/setup.sh installs it): skipped"; exit 77; }
/usr/bin/python3 "$CF_SOURCE_DIR/scripts/check_unity_names.py" "$CF_SOURCE_DIR"
