#!/usr/bin/env bash
# Fuzzes chatforge's parsers (docs/fuzzing.md): builds the libFuzzer targets of the `asan`
# preset (clang, ASan + UBSan; the target `fuzzers`), generates the seed corpora, then runs
# every target for SECONDS seconds (default 60) and prints one line per target: runs, corpus
# size, and ok or the crash. Exits 1 when any target found something; the input that did it
# is kept in build/asan/libfuzzer/crashes/<target>/ (copy it to
# tests/fuzz/regressions/<target>/ once fixed, so the regular suite replays it).
# Usage: scripts/fuzz.sh [SECONDS]
# Environment: FUZZ_TARGETS="shard safetensors" (a subset), FUZZ_JOBS (targets run at once;
# default: the number of cores), FUZZ_NO_BUILD=1 (use the binaries already built),
# FUZZ_KEEP_GOING=1 (libFuzzer's fork mode: keep fuzzing after a finding, keep them all),
# FUZZ_SEED=N (libFuzzer's -seed: the same mutations on the same corpus, as scripts/test.sh
# uses so that a CI run's findings reproduce; default: a new seed per run).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
jobs=${FUZZ_JOBS:-$(nproc)}
bin_dir=build/asan/tests/fuzz
work=build/asan/libfuzzer  # corpus/, dict/, crashes/, logs/

if [[ -z "${FUZZ_NO_BUILD:-}" ]]; then
  scripts/configure_asan.sh
  cmake --build --preset asan -j "$(nproc)" --target fuzzers
fi
python=/usr/bin/python3
[[ -x $python ]] || python=python3
"$python" scripts/fuzz_seeds.py "$work" >/dev/null

targets=()
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  for src in tests/fuzz/fuzz_*.cpp; do
    name=$(basename "$src" .cpp)
    targets+=("${name#fuzz_}")
  done
fi

# Largest input per target: the seeds' size with room to grow (bigger inputs only slow the
# search down; the size limits of the formats have their own tests).
max_len() {
  case $1 in
    tokenizer_json | vocab_merges | gguf_export) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

mkdir -p "$work/logs"
touch "$work/logs/.start"  # findings newer than this are this run's
run_one() {
  local t=$1 bin=$bin_dir/fuzz_$1
  local crashes=$work/crashes/$t
  mkdir -p "$crashes" "$work/corpus/$t"
  local keep_going=()
  [[ -z "${FUZZ_KEEP_GOING:-}" ]] || keep_going=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  local seed=()
  [[ -z "${FUZZ_SEED:-}" ]] || seed=(-seed="$FUZZ_SEED")
  # -rss_limit_mb / -malloc_limit_mb: a run or a single allocation over these is a finding
  # (an input that makes the parser allocate gigabytes). -timeout: one input over 10 s is a hang.
  OMP_NUM_THREADS=1 ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$bin" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
    -max_len="$(max_len "$t")" -dict="$work/dict/$t.dict" -artifact_prefix="$crashes/" \
    -print_final_stats=1 "${seed[@]}" "${keep_going[@]}" "$work/corpus/$t" >"$work/logs/$t.log" 2>&1
}

summary() {
  local t=$1 rc=$2 log=$work/logs/$1.log
  local runs corpus artifact found
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  [[ -n $runs ]] || runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  corpus=$(find "$work/corpus/$t" -type f | wc -l)
  found=$(find "$work/crashes/$t" -type f -newer "$work/logs/.start" | wc -l)
  [[ $found -eq 0 ]] || rc=1  # fork mode exits 0 after findings it ignored
  if [[ $rc -eq 0 ]]; then
    printf 'fuzz %-15s %10s runs  %5s corpus  ok\n' "$t" "${runs:-0}" "$corpus"
  else
    artifact=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //' || true)
    printf 'fuzz %-15s %10s runs  %5s corpus  CRASH %s (%s new in %s; log %s)\n' "$t" "${runs:-0}" "$corpus" \
      "${artifact:-?}" "$found" "$work/crashes/$t/" "$log"
  fi
  return "$rc"
}

declare -A pid_of
failed=0
finish() {  # waits for the target whose job is pid $1
  local t=$2 rc=0
  wait "$1" || rc=$?
  summary "$t" "$rc" || failed=1
}
running=()
for t in "${targets[@]}"; do
  [[ -x $bin_dir/fuzz_$t ]] || { echo "fuzz: no target $t" >&2; exit 2; }
  if [[ ${#running[@]} -ge $jobs ]]; then
    finish "${pid_of[${running[0]}]}" "${running[0]}"
    running=("${running[@]:1}")
  fi
  run_one "$t" &
  pid_of[$t]=$!
  running+=("$t")
done
for t in "${running[@]}"; do finish "${pid_of[$t]}" "$t"; done
if [[ $failed -ne 0 ]]; then
  echo "fuzz: findings above; inputs kept in $work/crashes/" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no findings"
