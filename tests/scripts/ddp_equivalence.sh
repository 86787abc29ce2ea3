#!/usr/bin/env bash
# Data-parallel equivalence: 2 ranks x micro-batch B (mpirun, gradients all-reduced in
# buckets during backward) give the same losses and final weights as 1 rank with 2-fold
# gradient accumulation over B, within 1e-5 relative; also with overlap off and with tiny
# buckets (dozens of all-reduces in flight at once).
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/mpi.sh"
tmp=$CF_BINARY_DIR/test-tmp/ddp_equivalence
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32
        --batch-size 2 --total-batch-tokens 128 --steps 8 --eval-every 4 --eval-batches 2 --lr 2e-3
        --no-progress --seed 11 --peak-gflops 10)
OMP_NUM_THREADS=1 "$CHATFORGE" train "${common[@]}" --out "$tmp/one" 2>"$tmp/one.log"
grep -q "(2 x 32 x 2 accumulation x 1 ranks)" "$tmp/one.log" || { cat "$tmp/one.log"; echo "FAIL: 1 rank not accumulating 2"; exit 1; }
cf_mpirun 2 train "${common[@]}" --out "$tmp/two" 2>"$tmp/two.log" || { cat "$tmp/two.log"; exit 1; }
grep -q "(2 x 32 x 1 accumulation x 2 ranks)" "$tmp/two.log" || { cat "$tmp/two.log"; echo "FAIL: not 2 ranks"; exit 1; }
grep -q "data parallel: 2 ranks over mpi" "$tmp/two.log"
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/one" "$tmp/two" --tol 1e-5
# comm_s is logged per step in data-parallel runs
grep -q '"comm_s"' "$tmp/two/metrics.jsonl" || { echo "FAIL: no comm_s in metrics.jsonl"; exit 1; }
# overlap off and 1 KB buckets (dozens of all-reduces in flight): same result
cf_mpirun 2 train "${common[@]}" --out "$tmp/small" --bucket-mb 0.001 2>"$tmp/small.log" || { cat "$tmp/small.log"; exit 1; }
cf_mpirun 2 train "${common[@]}" --out "$tmp/nooverlap" --no-comm-overlap 2>"$tmp/no.log" || { cat "$tmp/no.log"; exit 1; }
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/one" "$tmp/small" --tol 1e-5
/usr/bin/python3 "$(dirname "$0")/ddp_compare.py" "$tmp/one" "$tmp/nooverlap" --tol 1e-5
# only rank 0 writes: one metrics line per step and eval, not two
n=$(grep -c '"type":"train"' "$tmp/two/metrics.jsonl")
[ "$n" = 8 ] || { echo "FAIL: expected 8 train lines in metrics.jsonl, got $n"; exit 1; }
echo "2 ranks x B == 1 rank x 2B accumulation"
