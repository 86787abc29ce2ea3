#!/usr/bin/env bash
# Live golden test of the Llama family (llama, qwen2, qwen3): regenerates PyTorch fixtures
# (scripts/make_golden.py --arch, the math of HF LlamaForCausalLM / Qwen2ForCausalLM /
# Qwen3ForCausalLM in scripts/torch_llama.py) with other seeds, packed rows and every
# rope_scaling type, and runs the golden C++ test on each; then the committed fixtures with
# the AVX2 kernels, and checks that the committed fixtures are still what the generator
# writes (within the last bits PyTorch computes differently on another CPU).
# Skips (exit 77) only when Debian's python3-torch is not installed.
set -euo pipefail
py=${CF_TORCH_PYTHON:-/usr/bin/python3}
if ! "$py" -c "import torch" 2>/dev/null; then
  echo "SKIP: PyTorch is not installed for $py"
  exit 77
fi
gen=$CF_SOURCE_DIR/scripts/make_golden.py
golden=$CF_BINARY_DIR/tests/test_golden
tmp=$CF_BINARY_DIR/test-tmp/golden_llama_live
mkdir -p "$tmp"
for arch in llama qwen2 qwen3; do
  for seed in 7 4242; do
    "$py" "$gen" --arch "$arch" --seed "$seed" --out "$tmp/$arch.safetensors"
    CF_GOLDEN_FIXTURE=$tmp/$arch.safetensors "$golden"
    # Packed rows: block-diagonal causal attention, rotary angles from per-document positions.
    "$py" "$gen" --arch "$arch" --seed "$seed" --packed --out "$tmp/$arch.packed.safetensors"
    CF_GOLDEN_FIXTURE=$tmp/$arch.packed.safetensors "$golden"
  done
done
# Every rope_scaling type on the llama config (the committed fixtures have llama3 and yarn).
for rs in none '{"type":"linear","factor":4.0}' \
  '{"rope_type":"yarn","factor":4.0,"original_max_position_embeddings":8,"beta_fast":8.0}'; do
  "$py" "$gen" --arch llama --seed 99 --packed --rope-scaling "$rs" --out "$tmp/rope.safetensors"
  CF_GOLDEN_FIXTURE=$tmp/rope.safetensors "$golden"
done
# dynamic acts only past max_position_embeddings, where chatforge's context ends (a longer
# sequence is an error): within the context it must equal plain rope.
"$py" "$gen" --arch llama --seed 99 --rope-scaling '{"rope_type":"dynamic","factor":2.0}' --out "$tmp/rope.safetensors"
CF_GOLDEN_FIXTURE=$tmp/rope.safetensors "$golden"
# The kernels an AVX2-only machine runs.
for arch in llama qwen2 qwen3; do
  CHATFORGE_SIMD=avx2 OPENBLAS_CORETYPE=Haswell CF_GOLDEN_FIXTURE=$CF_SOURCE_DIR/tests/golden/${arch}_tiny.safetensors \
    "$golden"
done
# The committed fixtures must still be what the generator writes for seed 1337. Weights after
# the AdamW steps (final.*) get 1e-3: AdamW divides each gradient by its own size, so tiny
# gradients carry the CPU's last-bit noise into whole steps (a Zen 4 machine regenerated
# qwen2's up_proj 9.7e-5 apart). The trained key-projection biases (qwen2) are left out:
# their gradient is zero in exact arithmetic, so they hold nothing but such steps (1.6e-4 apart).
for arch in llama qwen2 qwen3; do
  "$py" "$gen" --arch "$arch" --seed 1337 --out "$tmp/regen.safetensors" >/dev/null
  "$py" "$CF_SOURCE_DIR/scripts/compare_fixture.py" "$tmp/regen.safetensors" \
    "$CF_SOURCE_DIR/tests/golden/${arch}_tiny.safetensors" --rtol 1e-4 \
    --rtol-for '^final\.' 1e-3 --noise-only '^final\..*k_proj\.bias$'
done
echo "live Llama-family golden test passed (llama, qwen2, qwen3; seeds 7 and 4242, packed, every rope type, AVX2)"
