#!/usr/bin/env bash
# `chatforge data clean` end to end on a generated corpus with planted cases (see
# data_clean_check.py for what is asserted).
set -euo pipefail
work="$CF_BINARY_DIR/test-tmp/data_clean"
rm -rf "$work" && mkdir -p "$work"
"${CF_TORCH_PYTHON:-/usr/bin/python3}" "$CF_SOURCE_DIR/tests/scripts/data_clean_check.py" "$CHATFORGE" "$work"
