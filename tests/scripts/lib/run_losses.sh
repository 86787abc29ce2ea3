# Sourced by the training script tests. losses FILE: a run's metrics.jsonl as one line per
# logged loss ("STEP LOSS" for training steps, "eval STEP VAL_LOSS"), every digit kept
# (repr), so two runs compare with diff: a bit-exact resume logs the same lines.
losses() { /usr/bin/python3 -c "
import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l)
    if j['type']=='train': print(j['step'], repr(j['loss']))
    else: print('eval', j['step'], repr(j['val_loss']))" "$1"; }
