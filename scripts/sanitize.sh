#!/usr/bin/env bash
# The sanitizer pass of CI (docs/limits.md, "Sanitizers"): builds the `asan` preset (clang,
# AddressSanitizer + UBSan, -O1, no CUDA; also the fuzz build) and runs, under the
# sanitizers, the suites that fit CI's time: every unit and grad test, the fuzz regression
# replays, and the script suites that feed the program bad or unusual input (listed below).
# A sanitizer report fails the test that triggered it (UBSan does not recover;
# LeakSanitizer is on).
# Left out, for time (each takes minutes under ASan: numeric_flags' 300 program starts take
# 220 s) or because they measure speed or drive another runtime: golden, e2e, interop and
# the training/serving/MPI scripts not listed here. They run in the release pass of
# scripts/test.sh.
# Usage: scripts/sanitize.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# Script suites run under the sanitizers: bad input of every kind, the CLI's own paths,
# a short training run with resume, the server's bad requests and limits.
scripts=(bad_input_limits model_bad_files train_bad_input serve_bad_input serve_limits
  cli_basics tokenizer_cli data_tokenize data_clean chat_pack chat_jinja chat_augment_text chat_cli
  generate_cli metrics_human_kit metrics_groups train_checkpoint_marker train_resume)
regex="^(unit|grad|fuzz)\\.|^script\\.($(IFS='|'; echo "${scripts[*]}"))\$"

scripts/configure_asan.sh
cmake --build --preset asan -j "$(nproc)" --target chatforge test_unit test_grad fuzz_replay
# detect_leaks: LeakSanitizer on; abort_on_error keeps the report and exits non-zero.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Tells scripts the program is sanitized: serve_limits skips its RSS bound (ASan keeps freed
# memory in quarantine on purpose).
export CHATFORGE_SANITIZED=1
ctest --preset asan -j "$(nproc)" --timeout 900 --no-label-summary -R "$regex" "$@"
