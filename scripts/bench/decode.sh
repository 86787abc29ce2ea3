#!/usr/bin/env bash
# decode + prefill tok/s at GPT-2 124M shape (random weights), batch 1 and 8, vs the memory-bandwidth bound
# The bound is measured in the same invocation (parallel sum over 1 GiB with the same
# threads): every fp32 weight is read once per decode step, so bound = bandwidth / bytes.
set -euo pipefail
threads=${THREADS:-2}
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=PASSIVE
peak=$($CF_BUILD/bench/bench_sgemm_peak 1024 3 | sed -n 's/.*sgemm_gflops=\([0-9.]*\).*/\1/p')
echo "sgemm peak ($threads threads): $peak GFLOP/s (prefill is compute-bound: compare with this)"
out=$($CF_BUILD/bench/bench_decode 12 12 768 50257 1024 256 32 8)
echo "$out" | grep -v '^RESULT'
echo "$out" | grep '^RESULT' | tail -1
