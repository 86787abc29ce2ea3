#!/usr/bin/env bash
# `chatforge train --device/--dtype`: bad spellings are usage errors (exit 2); bf16 on the
# CPU trains; asking for cuda where there is no usable GPU (or in a build without CUDA) is a
# one-line error with exit 1 before any work; on a machine with a GPU, a short cuda run
# trains and its checkpoint loads on the CPU like any other.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/cuda_device_flag
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp" 320
small=(--data "$tmp/shards" --n-layer 1 --n-head 2 --n-embd 32 --seq-len 16 --batch-size 2 --steps 2 --eval-every 0
       --no-progress)
fails=0
run() { local rc=0; out=$("$CHATFORGE" train "$@" 2>&1) || rc=$?; last=$(printf '%s\n' "$out" | tail -1); return $rc; }
expect() {  # expect CODE TEXT -- args
  local want=$1 text=$2 rc=0; shift 3
  run "$@" || rc=$?
  if [ "$rc" != "$want" ] || [[ "$last" != *"$text"* ]]; then
    echo "FAIL: expected exit $want with '$text', got $rc: $out"; fails=$((fails + 1))
  else
    echo "ok ($rc): $last"
  fi
}
expect 2 "expected cpu, cuda or cuda:N" -- "${small[@]}" --out "$tmp/a" --device gpu
expect 2 "expected cpu, cuda or cuda:N" -- "${small[@]}" --out "$tmp/b" --device cuda:x
# bf16 on the CPU trains (the AVX512-BF16 GEMM, or its emulation with a warning)
rc=0; run "${small[@]}" --out "$tmp/c" --dtype bf16 || rc=$?
if [ $rc = 0 ] && [[ "$out" == *"cpu (bf16)"* ]]; then echo "ok (0): --dtype bf16 trains on the CPU"
else echo "FAIL: --dtype bf16 on the CPU ($rc): $out"; fails=$((fails + 1)); fi
expect 2 "dtype" -- "${small[@]}" --out "$tmp/d" --device cuda --dtype fp16
# cuda itself: either it works (a GPU is here) or it says why not, in one line, exit 1
rc=0; run "${small[@]}" --out "$tmp/gpu" --device cuda || rc=$?
if [ $rc = 0 ]; then
  echo "a CUDA GPU is present: trained on it"
  grep -q '"type": *"train"' "$tmp/gpu/metrics.jsonl" || { echo "FAIL: no metrics from the cuda run"; fails=$((fails+1)); }
  "$CHATFORGE" generate --model "$tmp/gpu/last" --prompt "the cat" --max-tokens 4 >/dev/null ||
    { echo "FAIL: the cuda run's checkpoint does not load on the CPU"; fails=$((fails+1)); }
else
  if [ $rc = 1 ] && [[ "$last" == "error: --device cuda"* ]] &&
     { [[ "$last" == *"no usable CUDA GPU"* ]] || [[ "$last" == *"built without the CUDA backend"* ]]; } &&
     [ "$(printf '%s\n' "$out" | wc -l)" -le 2 ]; then
    echo "ok (1): $last"
  else
    echo "FAIL: --device cuda without a GPU: expected a one-line 'error: --device cuda: ...' and exit 1, got $rc: $out"
    fails=$((fails + 1))
  fi
  [ ! -e "$tmp/gpu/last" ] || { echo "FAIL: a checkpoint was written although no GPU ran"; fails=$((fails+1)); }
fi
[ $fails = 0 ] && echo "PASS" || { echo "$fails failure(s)"; exit 1; }
