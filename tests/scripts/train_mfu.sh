#!/usr/bin/env bash
# MFU is true or absent: against the measured FMA peak (the default denominator) every
# logged MFU lies in (0, 1]; with a --peak-gflops far below what the steps reach, MFU is
# unknown — null in metrics.jsonl, "n/a" on the progress line and in report.html — and
# never a figure above 100%. `chatforge version` prints the peak it measures.
# ctest: alone (it checks timeouts or measures time)
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_mfu
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32
        --batch-size 4 --steps 6 --eval-every 6 --eval-batches 1 --lr 2e-3 --seed 5 --log-every 1)
mfus() { /usr/bin/python3 -c "
import json,sys
print(' '.join(repr(j['mfu']) for j in map(json.loads, open(sys.argv[1])) if j['type']=='train'))" "$1"; }

"$CHATFORGE" train "${common[@]}" --no-progress --out "$tmp/measured" 2>"$tmp/measured.log"
read -r -a vals <<<"$(mfus "$tmp/measured/metrics.jsonl")"
[ "${#vals[@]}" = 6 ] || { echo "FAIL: expected 6 logged MFUs, got ${vals[*]}"; exit 1; }
for v in "${vals[@]}"; do
  /usr/bin/python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if 0 < v <= 1 else 1)" "$v" ||
    { echo "FAIL: MFU $v against the measured FMA peak is outside (0, 1]"; exit 1; }
done
grep -qE "MFU [0-9.]+%" "$tmp/measured/report.html" || { echo "FAIL: report.html shows no MFU"; exit 1; }

# A peak of 1 kFLOP/s: every step runs faster than it allows.
"$CHATFORGE" train "${common[@]}" --peak-gflops 0.000001 --out "$tmp/too_low" 2>"$tmp/too_low.log"
[ "$(mfus "$tmp/too_low/metrics.jsonl")" = "None None None None None None" ] ||
  { echo "FAIL: MFU above 100% was logged: $(mfus "$tmp/too_low/metrics.jsonl")"; exit 1; }
grep -q "MFU n/a" "$tmp/too_low.log" || { echo "FAIL: the progress line does not say MFU n/a"; exit 1; }
if grep -qE "MFU [0-9]{3,}%" "$tmp/too_low.log"; then echo "FAIL: progress printed an MFU of 100% or more"; exit 1; fi
grep -q "MFU n/a" "$tmp/too_low/report.html" || { echo "FAIL: report.html does not say MFU n/a"; exit 1; }

"$CHATFORGE" version | grep -qE "^fp32 peak: [0-9]+ GFLOP/s measured \((avx512|avx2|scalar) FMA loop on [0-9]+ threads" ||
  { echo "FAIL: chatforge version does not print the measured peak"; exit 1; }
echo "MFU in (0, 1] against the measured peak (${vals[*]}); n/a, never >100%, against a too-low --peak-gflops"
