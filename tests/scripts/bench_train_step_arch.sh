#!/usr/bin/env bash
# The train-step benchmark's two programs build the same architecture from the same flags:
# for GPT-2 and Llama-family flag sets (defaults and explicit kv heads / head size / MLP
# width / untied head) bench_train_step --plan and bench/train_step_torch.py --plan count
# the same parameters, and the Qwen2.5-0.5B shape of scripts/bench/train-step.sh counts
# Hugging Face's 494,032,768. Both programs run one step of a tiny Qwen2 shape and print a
# RESULT line with a finite loss; the positional GPT-2 usage still builds GPT-2; a bad flag
# exits 2 with the usage, an architecture flag with --arch gpt2 exits 1 with one line.
# Skipped (77) without the PyTorch interpreter.
# ctest: alone (it checks timeouts or measures time)
set -euo pipefail
bench=$CF_BINARY_DIR/bench/bench_train_step
torch_py=${CF_TORCH_PYTHON:-}
[ -n "$torch_py" ] && [ -x "$torch_py" ] || { echo "no PyTorch interpreter: skipped"; exit 77; }
[ -x "$bench" ] || { echo "FAIL: $bench is not built"; exit 1; }
ref=$CF_SOURCE_DIR/bench/train_step_torch.py
tmp=$CF_BINARY_DIR/test-tmp/bench_train_step_arch
rm -rf "$tmp"; mkdir -p "$tmp"
field() { sed -n "s/.*$1=\([0-9.e+-]*\).*/\1/p"; }

# sizes (L NH C V B T) | architecture flags
cases=(
  "2 4 64 300 1 8|"
  "2 8 64 300 1 8|--arch llama"
  "2 6 96 300 1 8|--arch qwen2 --n-kv-head 2 --ffn-dim 160"
  "2 4 64 300 1 8|--arch qwen3 --head-dim 24 --n-kv-head 1"
  "3 4 64 300 1 8|--arch mistral --untied-head --ffn-dim 100"
)
for c in "${cases[@]}"; do
  IFS='|' read -r sizes flags <<<"$c"
  read -r -a s <<<"$sizes"; read -r -a f <<<"$flags"
  cf=$("$bench" "${s[@]}" "${f[@]}" --plan | field params)
  pt=$("$torch_py" "$ref" "${s[@]}" "${f[@]}" --plan | field params)
  [ -n "$cf" ] && [ "$cf" = "$pt" ] || { echo "FAIL: '$sizes $flags': chatforge $cf parameters, PyTorch $pt"; exit 1; }
  echo "ok: $sizes ${flags:-(gpt2)}: $cf parameters on both sides"
done

qwen05b=$("$bench" 24 14 896 151936 1 128 --arch qwen2 --n-kv-head 2 --head-dim 64 --ffn-dim 4864 --rope-theta 1000000 --plan)
[ "$(echo "$qwen05b" | field params)" = 494032768 ] || { echo "FAIL: Qwen2.5-0.5B shape: $qwen05b"; exit 1; }
echo "ok: Qwen2.5-0.5B shape: 494032768 parameters"

tiny=(2 6 96 300 2 16 --arch qwen2 --n-kv-head 2 --ffn-dim 160)
out_cf=$("$bench" 2 6 96 300 2 16 1 1 "${tiny[@]:6}")
out_pt=$("$torch_py" "$ref" "${tiny[@]}" --steps 1 --warmup 1 --threads 2)
for out in "$out_cf" "$out_pt"; do
  echo "$out" | grep -q '^model: qwen2' || { echo "FAIL: not a qwen2 model: $out"; exit 1; }
  loss=$(echo "$out" | field loss)
  awk -v l="$loss" 'BEGIN{exit !(l > 4 && l < 8)}' || { echo "FAIL: loss '$loss' is not near ln(300): $out"; exit 1; }
  [ -n "$(echo "$out" | field tok_s)" ] || { echo "FAIL: no tok_s: $out"; exit 1; }
done
echo "ok: one step of a tiny qwen2 on both sides"

"$bench" 2 4 64 300 1 8 1 0 | grep -q '^model: gpt2, 2 layers, 4 heads / 4 kv heads' ||
  { echo "FAIL: the positional usage did not build GPT-2"; exit 1; }
rc=0; "$bench" 2 4 64 300 1 8 --bogus 1 >"$tmp/bogus.log" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q '^usage: bench_train_step' "$tmp/bogus.log" || { echo "FAIL: unknown flag: exit $rc"; exit 1; }
rc=0; "$bench" 2 4 64 300 1 8 --n-kv-head 2 >"$tmp/gpt2.log" 2>&1 || rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$tmp/gpt2.log")" = 1 ] && grep -q '^error: .*--n-kv-head' "$tmp/gpt2.log" ||
  { echo "FAIL: --n-kv-head with GPT-2: exit $rc"; cat "$tmp/gpt2.log"; exit 1; }
echo PASS
