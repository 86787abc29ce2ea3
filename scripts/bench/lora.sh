#!/usr/bin/env bash
# LoRA rank 16 against full fine-tuning: peak RSS and step time, f32/bf16/int8 frozen base (GPT-2 124M, Qwen2.5-0.5B shapes)
# Each point runs bench_train_step in separate processes (so each peak RSS is its own): the
# full training step (fp32 weights, gradients, AdamW moments), then the LoRA step (frozen
# base, rank-16 adapters on every projection, alpha 32, dropout 0.05, AdamW over the
# adapters only, the loss over blocks of rows as `train --lora-rank` runs it) with the base
# in f32, bf16 and int8 (`train --base-dtype`), each without recomputation, with
# --recompute=mlp ("_mlp": the MLP's first matmul redone in backward) and with --recompute
# ("_rc": each layer rerun), same shape, batch and sequence. Ends with "RESULT" and, for every point and base dtype D
# (f32 keeps the names of the f32-only version: lora_rss_mb, rss_ratio, lora_step_s,
# lora_speedup): <point>_full_rss_mb= <point>_full_step_s= <point>_lora_D_rss_mb=
# <point>_rss_ratio_D= <point>_lora_D_step_s= <point>_lora_D_speedup= and the same with
# _mlp and _rc.
# SHORT=1 runs the GPT-2 point only (the 0.5B shape needs ~10 GB for the full run). STEPS
# (default 3) timed steps after one warm-up. ROUNDS (default 2): every run of a point is made
# that many times, the runs of one round in turn (full, then each LoRA variant), and each
# keeps its fastest step over all rounds (best_step_s): a shared machine's noise (+-30%
# between neighbouring processes was seen) then hits every variant alike.
set -euo pipefail
B=${CF_BUILD:-build/release}
steps=${STEPS:-3}
rounds=${ROUNDS:-2}
qwen05b="--arch qwen2 --n-kv-head 2 --head-dim 64 --ffn-dim 4864 --rope-theta 1000000"
points=("gpt2-124M:12 12 768 50257 4 128:")
[ "${SHORT:-0}" = 1 ] || points+=("qwen2.5-0.5B:24 14 896 151936 1 128:$qwen05b")
get() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
result="RESULT"
# run_variant NAME ARGS...: one bench_train_step run; per variant the lowest best_step_s
# and the highest peak RSS seen over the rounds are kept.
declare -A best_s peak_mb
run_variant() {  # VARIANT ARGS...
  local v=$1; shift
  local out s r
  out=$("$B/bench/bench_train_step" "$@" | tail -1)
  s=$(get "$out" best_step_s); r=$(get "$out" peak_rss_mb)
  if [ -z "${best_s[$v]:-}" ] || awk -v a="$s" -v b="${best_s[$v]}" 'BEGIN { exit !(a < b) }'; then best_s[$v]=$s; fi
  if [ -z "${peak_mb[$v]:-}" ] || [ "$r" -gt "${peak_mb[$v]}" ]; then peak_mb[$v]=$r; fi
}
for p in "${points[@]}"; do
  name=${p%%:*}; rest=${p#*:}; shape=${rest%%:*}; flags=${rest#*:}
  key=$(echo "$name" | tr '.-' '__')
  best_s=(); peak_mb=()
  for ((round = 0; round < rounds; ++round)); do
    # shellcheck disable=SC2086
    run_variant full $shape "$steps" 1 0 $flags
    for rc in 0 mlp 1; do
      for dt in f32 bf16 int8; do
        # shellcheck disable=SC2086
        run_variant "$dt$rc" $shape "$steps" 1 "$rc" $flags --lora 16 --base-dtype "$dt"
      done
    done
  done
  fr=${peak_mb[full]}; fs=${best_s[full]}
  echo "$name: full fine-tuning peak RSS ${fr} MB, step ${fs} s"
  result+=" ${key}_full_rss_mb=$fr ${key}_full_step_s=$fs"
  for rc in 0 mlp 1; do
    for dt in f32 bf16 int8; do
      lr=${peak_mb[$dt$rc]}; ls=${best_s[$dt$rc]}
      ratio=$(awk -v a="$lr" -v b="$fr" 'BEGIN { printf "%.3f", a / b }')
      speed=$(awk -v a="$fs" -v b="$ls" 'BEGIN { printf "%.2f", a / b }')
      case $rc in 1) sfx=_rc flag=", --recompute" ;; mlp) sfx=_mlp flag=", --recompute=mlp" ;; *) sfx="" flag="" ;; esac
      echo "$name: LoRA r16, $dt base$flag: peak RSS ${lr} MB (${ratio} of full), step ${ls} s (${speed}x the speed of full)"
      if [ "$dt" = f32 ] && [ "$rc" = 0 ]; then
        result+=" ${key}_lora_rss_mb=$lr ${key}_rss_ratio=$ratio ${key}_lora_step_s=$ls ${key}_lora_speedup=$speed"
      else
        result+=" ${key}_lora_${dt}${sfx}_rss_mb=$lr ${key}_rss_ratio_${dt}${sfx}=$ratio ${key}_lora_${dt}${sfx}_step_s=$ls ${key}_lora_${dt}${sfx}_speedup=$speed"
      fi
    done
  done
done
echo "$result"
