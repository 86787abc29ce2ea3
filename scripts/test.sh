#!/usr/bin/env bash
# The one test command: installs what is missing, configures, builds, and runs every
# suite (GoogleTest binaries and script suites, all through ctest). Exits non-zero on
# any failure; the last line is ctest's summary.
# Then, when no ctest arguments narrow the run: a short fuzz run (docs/fuzzing.md: the asan
# preset's libFuzzer targets, 10 s each; CHATFORGE_NO_FUZZ=1 skips it) and the sanitizer pass
# (scripts/sanitize.sh: the asan preset's unit, grad, fuzz-replay and bad-input script
# suites under ASan + UBSan; CHATFORGE_NO_ASAN=1 skips it).
# Usage: scripts/test.sh [PRESET] [extra ctest args]     PRESET: release (default), debug, asan
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-release}
shift || true
scripts/setup.sh
scripts/fetch_testdeps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
# Tests run side by side, one per core. Every test runs the program with two OpenMP
# threads that sleep when idle (OMP_WAIT_POLICY=PASSIVE, tests/CMakeLists.txt): spinning
# threads of two tests at once held each other's parallel regions up (e2e.Learns 2.5 s alone,
# 68 s beside the other). Scripts that keep both cores busy, check timeouts or measure time
# say `# ctest: alone` and run with nothing beside them.
ctest --preset "$preset" -j "$(nproc)" --timeout 900 --no-label-summary "$@"
# Fuzzing, briefly: every parser's libFuzzer target for 10 s, two at a time (about 1 minute,
# plus the clang build of the libraries, which the sanitizer pass below then reuses: the
# asan preset is also the fuzz build). A finding fails the run.
# A fixed seed: on a fresh clone (the generated seeds only) every run tries the same inputs, so
# a finding reproduces with the same command and the gate does not depend on luck; open-ended
# fuzzing with new seeds is scripts/fuzz.sh on its own.
if [[ $# -eq 0 && -z "${CHATFORGE_NO_FUZZ:-}" ]]; then
  FUZZ_SEED=${FUZZ_SEED:-1} scripts/fuzz.sh 10
fi
# Sanitizers: the asan build and the suites that fit CI's time under it (scripts/sanitize.sh
# names them).
if [[ $# -eq 0 && -z "${CHATFORGE_NO_ASAN:-}" ]]; then
  scripts/sanitize.sh
fi
