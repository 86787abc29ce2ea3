#!/usr/bin/env bash
# scripts/gpu-check.sh --dry-run: without a GPU it checks the prerequisites, configures the
# CUDA build (nvcc, cuBLASLt, NCCL found) and prints the plan of the GPU validation (the
# backend op table, the model tests, training with --recompute and packed rows, bf16, the
# benchmarks), then says DRY-RUN OK; it rejects unknown flags. Skipped (77) where no CUDA toolkit is installed.
set -euo pipefail
tmp=$CF_BINARY_DIR/test-tmp/gpu_check_dry_run
rm -rf "$tmp"; mkdir -p "$tmp"
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$nvcc" ] || { echo "no CUDA toolkit: skipped"; exit 77; }
script=$CF_SOURCE_DIR/scripts/gpu-check.sh
rc=0; bash "$script" --bogus >"$tmp/bogus.log" 2>&1 || rc=$?
[ $rc = 2 ] || { echo "FAIL: unknown flag gave exit $rc"; cat "$tmp/bogus.log"; exit 1; }
bash "$script" --dry-run --out "$tmp/results.txt" --build "$tmp/build" > "$tmp/stdout.log" 2>&1 ||
  { echo "FAIL: dry run failed"; cat "$tmp/stdout.log"; exit 1; }
cat "$tmp/results.txt"
for want in "1. build" "2. ops" "3. fp32" "4. bf16" "5. bench" "6. decode" "CUDA configure ok" "CUDA backend: on" \
            "Table/BackendOps" "test_cuda" "--recompute" "packed SFT rows" "GPU-CHECK DRY-RUN OK"; do
  grep -qF -- "$want" "$tmp/results.txt" || { echo "FAIL: results file lacks '$want'"; exit 1; }
done
grep -q "CHATFORGE_CUDA:BOOL=ON" "$tmp/build/CMakeCache.txt" || { echo "FAIL: configure did not enable CUDA"; exit 1; }
echo PASS
