#!/usr/bin/env bash
# LoRA rank 16 against full fine-tuning: peak RSS and step time (GPT-2 124M, Qwen2.5-0.5B shapes)
# Each point runs bench_train_step twice in separate processes (so each peak RSS is its own):
# the full training step (fp32 weights, gradients, AdamW moments) and the LoRA step (frozen
# fp32 base, rank-16 adapters on every projection, alpha 32, dropout 0.05, AdamW over the
# adapters only), same shape, batch and sequence. Ends with
# "RESULT <point>_full_rss_mb=... <point>_lora_rss_mb=... <point>_rss_ratio=... <point>_full_step_s=...
# <point>_lora_step_s=..." for every point. SHORT=1 runs the GPT-2 point only (the 0.5B shape
# needs ~10 GB for the full run). STEPS (default 3) timed steps after one warm-up.
set -euo pipefail
B=${CF_BUILD:-build/release}
steps=${STEPS:-3}
qwen05b="--arch qwen2 --n-kv-head 2 --head-dim 64 --ffn-dim 4864 --rope-theta 1000000"
points=("gpt2-124M:12 12 768 50257 4 128:")
[ "${SHORT:-0}" = 1 ] || points+=("qwen2.5-0.5B:24 14 896 151936 1 128:$qwen05b")
result="RESULT"
for p in "${points[@]}"; do
  name=${p%%:*}; rest=${p#*:}; shape=${rest%%:*}; flags=${rest#*:}
  key=$(echo "$name" | tr '.-' '__')
  # shellcheck disable=SC2086
  full=$("$B/bench/bench_train_step" $shape "$steps" 1 0 $flags | tail -1)
  # shellcheck disable=SC2086
  lora=$("$B/bench/bench_train_step" $shape "$steps" 1 0 $flags --lora 16 | tail -1)
  get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
  fr=$(get "$full" peak_rss_mb); lr=$(get "$lora" peak_rss_mb)
  fs=$(get "$full" step_s); ls=$(get "$lora" step_s)
  ratio=$(awk -v a="$lr" -v b="$fr" 'BEGIN { printf "%.3f", a / b }')
  speed=$(awk -v a="$fs" -v b="$ls" 'BEGIN { printf "%.2f", a / b }')
  echo "$name: full fine-tuning peak RSS ${fr} MB, step ${fs} s; LoRA r16 peak RSS ${lr} MB (${ratio} of full), step ${ls} s (${speed}x faster)"
  result+=" ${key}_full_rss_mb=$fr ${key}_lora_rss_mb=$lr ${key}_rss_ratio=$ratio ${key}_full_step_s=$fs ${key}_lora_step_s=$ls ${key}_lora_speedup=$speed"
done
echo "$result"
