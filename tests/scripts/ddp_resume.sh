#!/usr/bin/env bash
# A run continues across a change of rank count: checkpoints hold the full (unsharded)
# state and the data cursor counts global rows, so 2 ranks -> 1 rank and 1 rank -> 2 ranks
# (with ZeRO-1) both end where one uninterrupted 1-rank run ends (losses of every step and
# final weights within 1e-5 relative).
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/mpi.sh"
tmp=$CF_BINARY_DIR/test-tmp/ddp_resume
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32
        --batch-size 2 --total-batch-tokens 128 --steps 10 --eval-every 5 --eval-batches 2 --lr 2e-3
        --no-progress --seed 9 --peak-gflops 10)
OMP_NUM_THREADS=1 "$CHATFORGE" train "${common[@]}" --out "$tmp/ref" 2>"$tmp/ref.log"
# 2 ranks for 5 steps, then 1 rank for the rest
cf_mpirun 2 train "${common[@]}" --out "$tmp/a" --stop-after 5 2>"$tmp/a1.log" || { cat "$tmp/a1.log"; exit 1; }
[ "$(readlink "$tmp/a/last")" = step_0000005 ] || { echo "FAIL: no checkpoint at step 5"; exit 1; }
OMP_NUM_THREADS=1 "$CHATFORGE" train --resume "$tmp/a" --no-progress 2>"$tmp/a2.log"
grep -q "resuming .* at step 5 of 10" "$tmp/a2.log"
grep -q "(2 x 32 x 2 accumulation x 1 ranks)" "$tmp/a2.log" || { cat "$tmp/a2.log"; echo "FAIL: 1 rank should accumulate 2"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/ref" "$tmp/a" --tol 1e-5 --file model.safetensors --file optimizer.safetensors
# 1 rank for 5 steps, then 2 ranks with ZeRO-1 for the rest
OMP_NUM_THREADS=1 "$CHATFORGE" train "${common[@]}" --out "$tmp/b" --stop-after 5 2>"$tmp/b1.log"
cf_mpirun 2 train --resume "$tmp/b" --zero 1 --no-progress 2>"$tmp/b2.log" || { cat "$tmp/b2.log"; exit 1; }
grep -q "resuming .* at step 5 of 10" "$tmp/b2.log"
grep -q "(2 x 32 x 1 accumulation x 2 ranks)" "$tmp/b2.log" || { cat "$tmp/b2.log"; echo "FAIL: not 2 ranks"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/ref" "$tmp/b" --tol 1e-5 --file model.safetensors --file optimizer.safetensors
echo "resume 2 -> 1 and 1 -> 2 (ZeRO-1) ranks continue the same run"
