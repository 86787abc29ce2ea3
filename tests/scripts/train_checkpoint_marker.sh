#!/usr/bin/env bash
# A checkpoint is complete exactly when its COMPLETE marker (written last) is there. This
# simulates what a SIGKILL during pruning leaves: the newest step directory without its
# marker and weights (trainer_state.json still present) and no `last` link. --resume must
# skip it with a message and continue from the newest complete one, and the run must start
# by removing the temp files killed runs left (.last.tmp.PID, report.html.tmp.*,
# .tmp-step_*-PID). Also: a step directory named directly that is incomplete is an error.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_checkpoint_marker
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
run=$tmp/run
"$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --out "$run" --n-layer 1 --n-head 2 --n-embd 32 \
  --seq-len 32 --batch-size 2 --steps 3 --save-every 1 --keep 5 --eval-every 0 --no-progress 2>"$tmp/first.log"
for s in 1 2 3; do
  [ -f "$run/step_000000$s/COMPLETE" ] || { echo "FAIL: step_000000$s has no COMPLETE marker"; exit 1; }
done
# the half-pruned directory and the leftovers of killed processes
rm "$run/step_0000003/COMPLETE" "$run/step_0000003/model.safetensors" "$run/last"
sh -c 'exit 0' & dead=$!; wait $dead
ln -s step_0000003 "$run/.last.tmp.$dead"
echo partial > "$run/report.html.tmp.$dead.0badf00d"
mkdir "$run/.tmp-step_0000004-$dead" && echo partial > "$run/.tmp-step_0000004-$dead/model.safetensors"
# naming the incomplete directory itself: a clear error
rc=0; out=$("$CHATFORGE" train --resume "$run/step_0000003" --no-progress 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"step_0000003 is an incomplete checkpoint (no COMPLETE marker"* ]] \
  || { echo "FAIL: resuming the incomplete directory: exit $rc: $out"; exit 1; }
# the run directory: skips it, says so, resumes from step 2, cleans the temps, finishes
"$CHATFORGE" train --resume "$run" --steps 5 --no-progress 2>"$tmp/resume.log" \
  || { echo "FAIL: resume failed:"; cat "$tmp/resume.log"; exit 1; }
grep -q "skipping $run/step_0000003: incomplete checkpoint (no COMPLETE marker" "$tmp/resume.log" \
  || { echo "FAIL: no message about the skipped directory:"; cat "$tmp/resume.log"; exit 1; }
grep -q "resuming $run/step_0000002 at step 2 of 5" "$tmp/resume.log" \
  || { echo "FAIL: did not resume from step 2:"; cat "$tmp/resume.log"; exit 1; }
grep -q "removed 3 temporary file(s) a killed earlier run left in $run" "$tmp/resume.log" \
  || { echo "FAIL: no clean-up message:"; cat "$tmp/resume.log"; exit 1; }
left=$(ls -A "$run" | grep -E "tmp" || true)
[ -z "$left" ] || { echo "FAIL: temp files left: $left"; exit 1; }
[ "$(readlink "$run/last")" = step_0000005 ] || { echo "FAIL: last is $(readlink "$run/last")"; exit 1; }
for s in 3 4 5; do
  [ -f "$run/step_000000$s/COMPLETE" ] && [ -f "$run/step_000000$s/model.safetensors" ] \
    || { echo "FAIL: step_000000$s is not a complete checkpoint after the resume"; exit 1; }
done
"$CHATFORGE" model info "$run/last" >/dev/null
echo "half-pruned checkpoint skipped, temps removed, resumed to step 5"
