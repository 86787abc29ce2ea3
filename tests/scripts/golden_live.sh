#!/usr/bin/env bash
# Live golden test: regenerates a PyTorch fixture with a fresh seed and runs the golden
# C++ test against it, so the committed fixture can never go stale unnoticed; then the same
# with packed rows.
# Skips (exit 77) only when Debian's python3-torch is not installed.
set -euo pipefail
py=${CF_TORCH_PYTHON:-/usr/bin/python3}
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "SKIP: PyTorch is not installed for $py"
  exit 77
fi
tmp=$CF_BINARY_DIR/test-tmp/golden_live
mkdir -p "$tmp"
seed=$(( $(date +%s) % 100000 ))
"$py" "$CF_SOURCE_DIR/scripts/make_golden.py" --seed "$seed" --out "$tmp/fixture.safetensors"
CF_GOLDEN_FIXTURE=$tmp/fixture.safetensors "$CF_BINARY_DIR/tests/test_golden"
# Packed rows (several documents per row, data chat --pack): PyTorch with a block-diagonal
# causal mask and per-document position ids must give the same logits, gradients and steps.
"$py" "$CF_SOURCE_DIR/scripts/make_golden.py" --seed "$seed" --packed --out "$tmp/packed.safetensors"
CF_GOLDEN_FIXTURE=$tmp/packed.safetensors "$CF_BINARY_DIR/tests/test_golden"
# The committed fixture must still be exactly what the generator writes for its seed.
"$py" "$CF_SOURCE_DIR/scripts/make_golden.py" --seed 1337 --out "$tmp/regen.safetensors" >/dev/null
if ! cmp -s "$tmp/regen.safetensors" "$CF_SOURCE_DIR/tests/golden/gpt2_tiny.safetensors"; then
  echo "FAIL: tests/golden/gpt2_tiny.safetensors differs from what scripts/make_golden.py writes; regenerate it"
  exit 1
fi
echo "live golden test passed (seed $seed)"
