#!/usr/bin/env bash
# GPU: GPT-2 124M training at T=1024 (largest batch), chatforge bf16 vs PyTorch (torch.compile + SDPA), tok/s and MFU
# Needs a CUDA build (CF_BUILD with bench_gpu_train) and PYTHON (default python3) with torch+CUDA;
# exits 77 without a GPU. scripts/gpu-check.sh runs the same comparison as its step 5.
set -euo pipefail
PYTHON=${PYTHON:-python3}
rc=0
cf=$("$CF_BUILD/bench/bench_gpu_train" 12 12 768 50257 1024 --steps "${STEPS:-10}" 2>&1) || rc=$?
echo "$cf" | grep -v '^RESULT'
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || exit $rc
peak=$(echo "$cf" | sed -n 's/.*peak_tflops=\([0-9.]*\).*/\1/p')
pt=$("$PYTHON" "$(dirname "$0")/../../bench/gpu_train.py" --steps "${STEPS:-10}" --peak-tflops "$peak")
echo "$pt" | grep -v '^RESULT'
field() { echo "$1" | sed -n "s/^RESULT.*$2=\([0-9.e+-]*\).*/\1/p"; }
awk -v a="$(field "$cf" tok_s)" -v b="$(field "$pt" tok_s)" -v m="$(field "$cf" mfu)" -v tm="$(field "$pt" mfu)" \
    -v bs="$(field "$cf" batch)" 'BEGIN {
  printf "RESULT chatforge_tok_s=%.0f torch_tok_s=%.0f ratio=%.3f chatforge_mfu=%.3f torch_mfu=%.3f batch=%d\n", a, b, a/b, m, tm, bs }'
