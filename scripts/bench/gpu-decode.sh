#!/usr/bin/env bash
# GPU: greedy decode tok/s with the KV cache at GPT-2 124M shape, batch 1 and 32
# Needs a CUDA build (CF_BUILD with bench_gpu_decode); exits 77 without a GPU.
set -euo pipefail
rc=0
out=$("$CF_BUILD/bench/bench_gpu_decode" 12 12 768 50257 1024 --batches 1,32 --tokens "${TOKENS:-256}" 2>&1) || rc=$?
echo "$out" | grep -v '^RESULT'
[ $rc = 0 ] || exit $rc
b1=$(echo "$out" | sed -n 's/^RESULT decode_batch=1 tok_s=\([0-9.]*\).*/\1/p')
b32=$(echo "$out" | sed -n 's/^RESULT decode_batch=32 tok_s=\([0-9.]*\).*/\1/p')
echo "RESULT batch1_tok_s=$b1 batch32_tok_s=$b32"
