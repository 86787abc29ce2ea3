#!/usr/bin/env bash
# Every numeric flag of every command declares its accepted range (shown in --help) and
# rejects NaN, Inf and values just outside the range with a usage error (exit 2) that
# names the flag and the range; --config files get the same checks (see
# numeric_flags_check.py). A new INT/UINT/FLOAT flag without a range fails this test.
set -euo pipefail
work="$CF_BINARY_DIR/test-tmp/numeric_flags"
rm -rf "$work" && mkdir -p "$work"
"${CF_TORCH_PYTHON:-/usr/bin/python3}" "$CF_SOURCE_DIR/tests/scripts/numeric_flags_check.py" "$CHATFORGE" "$work"
