#!/usr/bin/env bash
# training step in bf16 vs fp32 on the CPU (`train --dtype bf16`: AVX512-BF16 GEMMs), with MFU against the fp32 and bf16 peaks
# bench_train_step runs the trainer's own step (forward, backward, AdamW; fp32 master weights)
# on the fp32 CPU backend and on the bf16 one (--bf16: every linear layer's three GEMMs take
# bf16 inputs, fp32 accumulation; attention, norms and the optimizer stay fp32), alternately
# (ROUNDS, default 2; the best of each kept) so the machine's noise hits both. Points: GPT-2
# 124M at B=4,T=256 and a 6-layer 384-wide model (vocab 8192) at B=8,T=256. MFU = FLOPs of the
# model per token x tok/s over the measured fp32 FMA peak and bf16 dot-product peak (`chatforge
# version`, read before and after; the higher reading is used). Where the CPU lacks
# AVX512-BF16 the bf16 run is the emulation (about 1x). Ends with
# "RESULT <point>_fp32_tok_s=... <point>_bf16_tok_s=... <point>_ratio=... ..." per point.
set -euo pipefail
cd "$(dirname "$0")/../.."
CF_BUILD=${CF_BUILD:-build/release}
bin=$CF_BUILD/bench/bench_train_step
export OMP_NUM_THREADS=${THREADS:-2}
unset OMP_WAIT_POLICY
steps=${STEPS:-4}; rounds=${ROUNDS:-2}
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); flags:$(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/ /'); threads $OMP_NUM_THREADS"
grep -q -w avx512_bf16 /proc/cpuinfo || echo "this CPU lacks AVX512-BF16: the bf16 runs are the emulation"
field() { sed -n "s/.*$1=\([0-9.e+-]*\).*/\1/p" | head -1; }
peaks() { "$CF_BUILD/chatforge" version | sed -n "s/^$1 peak: \([0-9.]*\) GFLOP.*/\1/p"; }
fp32_peak=$(peaks fp32); bf16_peak=$(peaks bf16)
max() { awk -v a="$1" -v b="$2" 'BEGIN{print (b+0>a+0)?b:a}'; }
result="RESULT"
for point in "gpt2_124m 12 12 768 50257 4 256" "small 6 6 384 8192 8 256"; do
  read -r name L NH C V B T <<<"$point"
  best32=0; best16=0; fpt=0
  for r in $(seq "$rounds"); do
    out=$("$bin" "$L" "$NH" "$C" "$V" "$B" "$T" "$steps" 1)
    best32=$(max "$best32" "$(echo "$out" | grep '^RESULT' | field tok_s)")
    fpt=$(echo "$out" | grep '^RESULT' | field flops_per_token)
    out=$("$bin" "$L" "$NH" "$C" "$V" "$B" "$T" "$steps" 1 --bf16)
    best16=$(max "$best16" "$(echo "$out" | grep '^RESULT' | field tok_s)")
  done
  fp32_peak=$(max "$fp32_peak" "$(peaks fp32)"); bf16_peak=$(max "${bf16_peak:-0}" "$(peaks bf16)")
  line=$(awk -v n="$name" -v a="$best32" -v b="$best16" -v f="$fpt" -v p="$fp32_peak" -v q="${bf16_peak:-0}" 'BEGIN{
    r = b / a; m32 = a * f / 1e9 / p; m16 = b * f / 1e9 / p; mb = q > 0 ? b * f / 1e9 / q : 0
    printf "%s: fp32 %.1f tok/s (MFU %.1f%% of fp32 peak), bf16 %.1f tok/s (%.1f%% of fp32 peak, %.1f%% of bf16 peak): %.2fx\n", n, a, 100*m32, b, 100*m16, 100*mb, r
    printf "R %s_fp32_tok_s=%.1f %s_bf16_tok_s=%.1f %s_ratio=%.3f %s_fp32_mfu=%.3f %s_bf16_mfu_bf16_peak=%.3f", n, a, n, b, n, r, n, m32, n, mb}')
  echo "$line" | grep -v '^R '
  result="$result $(echo "$line" | sed -n 's/^R //p')"
done
echo "$result fp32_peak_gflops=$fp32_peak bf16_peak_gflops=${bf16_peak:-0} threads=$OMP_NUM_THREADS"
