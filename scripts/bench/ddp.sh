#!/usr/bin/env bash
# data-parallel scaling: 1 rank vs 2 MPI ranks (1 thread each, same global batch), comm vs compute
# Trains the same small pretraining config (4 layers, 128 channels, T=64, global batch 8
# rows) on 1 rank x 1 thread and on 2 ranks x 1 thread (4 rows each), alternately for
# ROUNDS rounds; tokens/s is the median step of the best round, comm_s the median seconds
# per step rank 0 spends blocked in all-reduce/broadcast. Efficiency = tok/s(2) / (2 x tok/s(1)).
set -euo pipefail
cf=${CF_BUILD:-build/release}/chatforge
rounds=${ROUNDS:-2}
steps=${STEPS:-12}
tmp=${CF_BUILD:-build/release}/bench-tmp/ddp
rm -rf "$tmp"; mkdir -p "$tmp"
CHATFORGE=$cf source tests/scripts/lib/make_text_shards.sh
CHATFORGE=$cf make_text_shards "$tmp" 2048
export OMP_WAIT_POLICY=PASSIVE
args=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 4 --n-head 4 --n-embd 128 --seq-len 64
      --total-batch-tokens 512 --steps "$steps" --eval-every 0 --save-every 0 --no-progress --peak-gflops 10)
# median over steps 3.. (the first steps warm caches up) of a metrics.jsonl field
median() { /usr/bin/python3 -c "
import json,sys,statistics
v=[json.loads(l).get(sys.argv[2]) for l in open(sys.argv[1]) if '\"train\"' in l][2:]
print(statistics.median(x for x in v if x is not None) if any(x is not None for x in v) else 0)" "$1" "$2"; }
best1=0; best2=0; comm2=0; step2=0
for r in $(seq "$rounds"); do
  rm -rf "$tmp/one" "$tmp/two"
  OMP_NUM_THREADS=1 "$cf" train "${args[@]}" --batch-size 8 --out "$tmp/one" 2>"$tmp/one.log"
  mpirun --allow-run-as-root --oversubscribe -np 2 env OMP_NUM_THREADS=1 \
    "$cf" train "${args[@]}" --batch-size 4 --out "$tmp/two" 2>"$tmp/two.log"
  t1=$(median "$tmp/one/metrics.jsonl" tok_s); t2=$(median "$tmp/two/metrics.jsonl" tok_s)
  c2=$(median "$tmp/two/metrics.jsonl" comm_s); s2=$(median "$tmp/two/metrics.jsonl" step_s)
  printf 'round %s: 1 rank %.0f tok/s; 2 ranks %.0f tok/s (step %.4f s, of which communication %.4f s)\n' "$r" "$t1" "$t2" "$s2" "$c2"
  best1=$(awk -v a="$best1" -v b="$t1" 'BEGIN{print (b>a)?b:a}')
  if awk -v a="$best2" -v b="$t2" 'BEGIN{exit !(b>a)}'; then best2=$t2; comm2=$c2; step2=$s2; fi
done
awk -v t1="$best1" -v t2="$best2" -v c="$comm2" -v s="$step2" 'BEGIN{
  eff = t2 / (2 * t1); comp = s - c;
  printf "1 rank: %.0f tok/s; 2 ranks: %.0f tok/s; speed-up %.2fx, scaling efficiency %.0f%%\n", t1, t2, t2 / t1, 100 * eff;
  printf "2 ranks, per step: %.4f s compute, %.4f s communication (%.0f%% of the step)\n", comp, c, 100 * c / s;
  printf "RESULT ranks1_tok_s=%.1f ranks2_tok_s=%.1f speedup=%.3f efficiency=%.3f step_s=%.4f comm_s=%.4f compute_s=%.4f\n",
    t1, t2, t2 / t1, eff, s, c, comp }'
