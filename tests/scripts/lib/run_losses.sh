# Sourced by the training script tests. losses FILE: a run's metrics.jsonl as one line per
# logged loss ("STEP LOSS" for training steps, "eval STEP VAL_LOSS"), every digit kept
# (repr), so two runs compare with diff: a bit-exact resume logs the same lines.
losses() { /usr/bin/python3 -c "
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l)
    if j['type']=='train': print(j['step'], repr(j['loss']))
    else: print('eval', j['step'], repr(j['val_loss']))" "$1"; }

# expect_exact_resume_that_learns DIR LABEL: DIR/full (one run) and DIR/split (the same run
# stopped and resumed) end on the same adapter and optimizer files and log the same losses,
# and the training loss fell. Sets FIRST_LOSS and LAST_LOSS.
expect_exact_resume_that_learns() {
  local d=$1 label=$2 f
  for f in adapter_model.safetensors optimizer.safetensors; do
    cmp "$d/full/last/$f" "$d/split/last/$f" || { echo "FAIL: $label: $f differs after resume"; exit 1; }
  done
  diff <(losses "$d/full/metrics.jsonl") <(losses "$d/split/metrics.jsonl") || { echo "FAIL: $label: logged losses differ"; exit 1; }
  FIRST_LOSS=$(losses "$d/full/metrics.jsonl" | grep -v eval | sed -n 1p | cut -d' ' -f2)
  LAST_LOSS=$(losses "$d/full/metrics.jsonl" | grep -v eval | tail -1 | cut -d' ' -f2)
  /usr/bin/python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); assert b < a, (a,b)" "$FIRST_LOSS" "$LAST_LOSS" \
    || { echo "FAIL: $label: the loss did not fall ($FIRST_LOSS -> $LAST_LOSS)"; exit 1; }
}
