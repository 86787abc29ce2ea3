#!/usr/bin/env bash
# Every command's --help follows the conventions of docs/architecture.md ("Command-line
# conventions"): one name per idea (old spellings kept as listed aliases that still work),
# defaults shown, FILE/DIR/PATH for paths (FILE for --config), every --pattern name listed,
# --threads worded the same everywhere, each --seed saying what it seeds. The commands are
# discovered from `chatforge --help` and each command's --help (help_consistency_check.py).
set -euo pipefail
work="$CF_BINARY_DIR/test-tmp/help_consistency"
rm -rf "$work" && mkdir -p "$work"
"${CF_TORCH_PYTHON:-/usr/bin/python3}" "$CF_SOURCE_DIR/tests/scripts/help_consistency_check.py" "$CHATFORGE" "$work"
