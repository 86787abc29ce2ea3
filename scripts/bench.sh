#!/usr/bin/env bash
# Runs one benchmark: scripts/bench.sh NAME [args], or --list. Each benchmark is
# scripts/bench/NAME.sh; it compares chatforge with a reference run in the same
# invocation and ends with one line "RESULT key=value ...".
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ] || [ "$1" = "--list" ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: scripts/bench.sh NAME [args]    benchmarks:"
  for f in scripts/bench/*.sh; do
    n=$(basename "$f" .sh)
    printf '  %-14s %s\n' "$n" "$(sed -n '2s/^# //p' "$f")"
  done
  exit 0
fi
name=$1
shift
script=scripts/bench/$name.sh
if [ ! -f "$script" ]; then
  echo "scripts/bench.sh: unknown benchmark '$name' (see --list)" >&2
  exit 2
fi
scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release >/dev/null
export CF_BUILD=build/release
# The BLAS kernels chatforge picks (see `chatforge version`) are used by every program in
# the benchmark, the references included, so they all run the same GEMMs.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$("$CF_BUILD/chatforge" version | sed -n 's/^blas core: \([A-Za-z0-9]*\).*/\1/p')
  [ -n "$core" ] && export OPENBLAS_CORETYPE=$core
fi
echo "bench: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(detected)}, OMP_NUM_THREADS=${OMP_NUM_THREADS:-all}"
exec bash "$script" "$@"
