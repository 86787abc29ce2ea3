#!/usr/bin/env bash
# LoRA over a reduced-precision frozen base (`chatforge train --lora-rank R --base-dtype
# bf16|int8`): it trains (the loss falls), checkpoints hold the PEFT adapter only, the run
# records its base dtype (run.json and trainer_state.json) and its base's identity names
# it, a resume keeps it and is bit-exact (15 + 15 steps against 30, dropout on), a resume
# asking for another base dtype is refused, and bad uses are one-line usage errors (exit 2).
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/run_losses.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_lora_base_dtype
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
"$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32 \
  --batch-size 4 --steps 20 --eval-every 0 --lr 3e-3 --no-progress --seed 3 --out "$tmp/base" 2>"$tmp/base.log"
common=(--data "$tmp/shards" --init "$tmp/base/last" --seq-len 32 --batch-size 4 --total-batch-tokens 256 --steps 30
        --eval-every 10 --eval-batches 2 --save-every 7 --lr 5e-3 --no-progress --seed 5 --lora-rank 4 --lora-dropout 0.1)
for dt in bf16 int8; do
  d=$tmp/$dt
  "$CHATFORGE" train "${common[@]}" --base-dtype "$dt" --out "$d/full" 2>"$d.full.log"
  grep -q "frozen in $dt" "$d.full.log" || { echo "FAIL: no '$dt' in the LoRA plan line"; cat "$d.full.log"; exit 1; }
  ck=$d/full/last
  [ -f "$ck/adapter_model.safetensors" ] && [ -f "$ck/adapter_config.json" ] || { echo "FAIL: no PEFT adapter"; exit 1; }
  [ ! -e "$ck/model.safetensors" ] || { echo "FAIL: a LoRA checkpoint holds the base weights"; exit 1; }
  /usr/bin/python3 - "$ck" "$d/full" "$dt" <<'PY'
import json, sys
ck, run, dt = sys.argv[1:]
st = json.load(open(f"{ck}/trainer_state.json"))
assert st["options"]["lora"]["base_dtype"] == dt, st["options"]["lora"]
assert f" {dt} #" in st["lora_base"], st["lora_base"]
assert json.load(open(f"{run}/run.json"))["lora"]["base_dtype"] == dt
c = json.load(open(f"{ck}/adapter_config.json"))
assert c["peft_type"] == "LORA" and c["r"] == 4, c
PY
  "$CHATFORGE" train "${common[@]}" --base-dtype "$dt" --out "$d/split" --stop-after 15 2>"$d.split1.log"
  "$CHATFORGE" train --resume "$d/split" --no-progress 2>"$d.split2.log"  # the run's base dtype, unasked
  grep -q "frozen in $dt" "$d.split2.log" || { echo "FAIL: the resume lost the base dtype"; cat "$d.split2.log"; exit 1; }
  expect_exact_resume_that_learns "$d" "$dt"
  echo "$dt base: PEFT adapter, base dtype recorded, bit-exact resume; loss $FIRST_LOSS -> $LAST_LOSS"
done
# the same run over an f32 base starts at the same loss up to the rounding of the base
"$CHATFORGE" train "${common[@]}" --steps 1 --out "$tmp/f32" 2>/dev/null
/usr/bin/python3 - "$tmp/f32/metrics.jsonl" "$tmp/bf16/full/metrics.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p) if json.loads(l)["type"] == "train"][0] for p in sys.argv[1:])
assert a != b and abs(a - b) < 0.02 * a, (a, b)
print(f"first loss: f32 base {a:.6f}, bf16 base {b:.6f}")
PY
# usage errors: one line, exit 2
expect_usage() {  # expect_usage PATTERN ARGS...: exit 2 and the pattern on stderr's single line
  local pat=$1; shift
  set +e; "$CHATFORGE" train "$@" 2>"$tmp/err.log"; local rc=$?; set -e
  [ $rc = 2 ] && grep -q -- "$pat" "$tmp/err.log" && [ "$(grep -c . "$tmp/err.log")" = 1 ] \
    || { echo "FAIL: expected exit 2 with '$pat', got $rc:"; cat "$tmp/err.log"; exit 1; }
}
expect_usage "base-dtype" "${common[@]}" --base-dtype fp8 --out "$tmp/x"
expect_usage "needs --lora-rank" --data "$tmp/shards" --init "$tmp/base/last" --base-dtype bf16 --steps 1 --out "$tmp/x"
expect_usage "this run trains over a bf16 base" --resume "$tmp/bf16/split" --base-dtype int8
expect_usage "only the CPU trains over a reduced base" "${common[@]}" --base-dtype int8 --device cuda --out "$tmp/x"
echo "usage errors: a bad value, no LoRA, another dtype on resume, cuda"
