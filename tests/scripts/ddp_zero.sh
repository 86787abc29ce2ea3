#!/usr/bin/env bash
# ZeRO-1 on 2 ranks (AdamW moments and update sharded, parameters all-gathered) gives the
# same losses, weights and (unsharded, gathered) Adam moments as plain data parallelism,
# and the optimizer memory each rank reports is about half.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/mpi.sh"
tmp=$CF_BINARY_DIR/test-tmp/ddp_zero
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32
        --batch-size 2 --total-batch-tokens 256 --steps 8 --eval-every 0 --save-every 4 --lr 2e-3
        --no-progress --seed 3 --peak-gflops 10)
cf_mpirun 2 train "${common[@]}" --out "$tmp/ddp" 2>"$tmp/ddp.log" || { cat "$tmp/ddp.log"; exit 1; }
cf_mpirun 2 train "${common[@]}" --out "$tmp/zero" --zero 1 2>"$tmp/zero.log" || { cat "$tmp/zero.log"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/ddp" "$tmp/zero" --tol 1e-5 \
  --file model.safetensors --file optimizer.safetensors
mb() { sed -n 's/.*optimizer state per rank \([0-9.]*\) MB.*/\1/p' "$1"; }
full=$(mb "$tmp/ddp.log"); sharded=$(mb "$tmp/zero.log")
grep -q "ZeRO-1: 1/2 of" "$tmp/zero.log" || { cat "$tmp/zero.log"; echo "FAIL: no ZeRO-1 line"; exit 1; }
awk -v f="$full" -v s="$sharded" 'BEGIN{ r = s / f; printf "optimizer state per rank: %s MB unsharded, %s MB with ZeRO-1 (ratio %.3f)\n", f, s, r;
  exit !(r > 0.45 && r < 0.55) }' || { echo "FAIL: ZeRO-1 optimizer memory is not about half"; exit 1; }
echo "ZeRO-1 == plain data parallel, half the optimizer memory per rank"
