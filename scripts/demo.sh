#!/usr/bin/env bash
# The main job from a fresh clone: install what is missing (scripts/setup.sh, Debian 12,
# as root), build the release preset, then run `chatforge demo` with the arguments given
# (default: OUT=demo, a 13-minute budget, English and Chinese). Example:
#   scripts/demo.sh                      # build + demo into ./demo
#   scripts/demo.sh --out runs/demo --serve --port 8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target chatforge
exec build/release/chatforge demo "$@"
