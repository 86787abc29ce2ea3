#!/usr/bin/env bash
# our sgemm vs OpenBLAS (each core type the CPU runs) at the GPT-2 124M training products, as fractions of the FMA peak
# bench_gemm times forward (inp @ W^T), dgrad (dout @ W) and wgrad (dout^T @ inp) of every
# linear layer of GPT-2 124M (qkv 768->2304, attn proj 768->768, fc 768->3072, mlp proj
# 3072->768 at M = B*T = 4096 rows; the 50304-column lm head at 1024 rows) with our
# kernels (each SIMD level this CPU has: avx512, avx2 via CHATFORGE_SIMD) and with OpenBLAS
# in child processes per OPENBLAS_CORETYPE (read when the library loads): Haswell (AVX2)
# and, where the CPU has AVX-512, SkylakeX. Every figure is GFLOP/s and a fraction of the
# fp32 FMA peak measured by a register-only loop in the same process (fma_peak.h). Where the
# CPU has AVX512-BF16, our bf16 GEMM (gemm_bf16: bf16 inputs, fp32 accumulation) runs too,
# reported against the same fp32 peak (its target is 2x) and against the bf16 peak; where it
# also has AMX-BF16, the AMX kernel runs beside the vdpbf16ps one (CHATFORGE_BF16=amx and
# =avx512bf16), each against its own instruction's measured peak (own_bf16_amx_frac_amx_peak,
# own_bf16_frac_bf16_peak).
# usage: scripts/bench.sh gemm  (THREADS=2, M=4096, REPS=3, M_LM=1024). Ends with RESULT.
set -euo pipefail
cd "$(dirname "$0")/../.."
CF_BUILD=${CF_BUILD:-build/release}
bin=$CF_BUILD/bench/bench_gemm
export OMP_NUM_THREADS=${THREADS:-2}
unset OMP_WAIT_POLICY
M=${M:-4096}; reps=${REPS:-3}; m_lm=${M_LM:-1024}
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'); flags:$(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512_bf16|amx_bf16' /proc/cpuinfo | sort -u | tr '\n' ' ' | sed 's/^/ /'); threads $OMP_NUM_THREADS"
has_avx512=0
grep -q -w avx512f /proc/cpuinfo && has_avx512=1
runs=()
[ "$has_avx512" = 1 ] && runs+=("own avx512 -")
grep -q -w avx2 /proc/cpuinfo && runs+=("own avx2 -")
grep -q -w avx512_bf16 /proc/cpuinfo && runs+=("bf16 avx512bf16 -")
grep -q -w avx512_bf16 /proc/cpuinfo && grep -q -w amx_bf16 /proc/cpuinfo && runs+=("bf16 amx -")
runs+=("openblas - Haswell")
[ "$has_avx512" = 1 ] && runs+=("openblas - SkylakeX")
field() { sed -n "s/.* $1=\([0-9.a-zA-Z-]*\).*/\1/p"; }
keys=(); gf=(); maxfma=0
for r in "${runs[@]}"; do
  read -r impl simd core <<<"$r"
  if [ "$impl" = own ]; then
    out=$(CHATFORGE_SIMD=$simd "$bin" own "$M" "$reps" "$m_lm")
    key="own_$simd"
  elif [ "$impl" = bf16 ] && [ "$simd" = amx ]; then
    out=$(CHATFORGE_BF16=amx "$bin" bf16 "$M" "$reps" "$m_lm")
    key="own_bf16_amx"
    amx_frac=$(echo "$out" | grep '^RESULT' | field frac_bf16_peak)
  elif [ "$impl" = bf16 ]; then
    out=$(CHATFORGE_BF16=avx512bf16 "$bin" bf16 "$M" "$reps" "$m_lm")
    key="own_bf16"
    bf16_frac=$(echo "$out" | grep '^RESULT' | field frac_bf16_peak)
  else
    out=$(OPENBLAS_CORETYPE=$core "$bin" openblas "$M" "$reps" "$m_lm")
    key="openblas_$(echo "$core" | tr 'A-Z' 'a-z')"
  fi
  echo "$out" | grep -v '^RESULT'
  line=$(echo "$out" | grep '^RESULT')
  keys+=("$key"); gf+=("$(echo "$line" | field gflops)")
  maxfma=$(awk -v a="$maxfma" -v b="$(echo "$line" | field fma_gflops)" 'BEGIN{print (b>a)?b:a}')
done
# Each process measured the peak itself (the per-product lines use its own reading); the
# summary divides by the highest of those readings, the conservative denominator on a
# shared machine.
result="RESULT"
for i in "${!keys[@]}"; do
  frac=$(awk -v g="${gf[$i]}" -v p="$maxfma" 'BEGIN{printf "%.3f", g / p}')
  echo "  ${keys[$i]}: ${gf[$i]} GFLOP/s = $frac of the $maxfma GFLOP/s FMA peak (highest reading)"
  result="$result ${keys[$i]}_gflops=${gf[$i]} ${keys[$i]}_frac_peak=$frac"
done
[ -n "${bf16_frac:-}" ] && result="$result own_bf16_frac_bf16_peak=$bf16_frac"
[ -n "${amx_frac:-}" ] && result="$result own_bf16_amx_frac_amx_peak=$amx_frac"
echo "$result fma_gflops=$maxfma threads=$OMP_NUM_THREADS M=$M"
