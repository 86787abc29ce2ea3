#!/usr/bin/env bash
# Configures the `asan` preset (build/asan: clang, ASan + UBSan, the libFuzzer targets), for
# scripts/sanitize.sh and scripts/fuzz.sh. A build/asan configured by another compiler (the
# preset used GCC before it became the fuzz build too) is removed first: CMake cannot switch
# the compiler of an existing build folder.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=build/asan/CMakeCache.txt
if [[ -f $cache ]] && ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' "$cache"; then
  echo "build/asan was configured with another compiler; removing it" >&2
  rm -rf build/asan
fi
cmake --preset asan >/dev/null
