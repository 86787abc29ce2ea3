#!/usr/bin/env bash
# Kill safety: SIGKILL the trainer at random moments (checkpoints are written every step,
# so many kills land inside a checkpoint write) several times. After every kill the newest
# checkpoint must load, and resuming must finish the run with every step logged once.
# Also: SIGINT finishes the step, saves, and exits 0 with the resume command.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_kill_safety
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
steps=60
base=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 64 --seq-len 64 --batch-size 8
      --eval-every 20 --eval-batches 1 --keep 1 --lr 1e-3 --no-progress --peak-gflops 100)
args=("${base[@]}" --steps $steps --save-every 1 --out "$tmp/run")
"$CHATFORGE" train "${args[@]}" 2>"$tmp/log0" &
pid=$!
kills=0
RANDOM=42
for i in 1 2 3 4 5 6; do
  sleep "$(( RANDOM % 2 )).$(( RANDOM % 10 ))"
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; wait "$pid" 2>/dev/null || true; kills=$((kills+1)); fi
  # the newest checkpoint must load as a model
  if [ -e "$tmp/run/last" ] || ls -d "$tmp/run"/step_* >/dev/null 2>&1; then
    latest=$(readlink -f "$tmp/run/last" 2>/dev/null || true)
    [ -f "$latest/trainer_state.json" ] || latest=$(ls -d "$tmp/run"/step_* | sort | tail -1)
    "$CHATFORGE" model info "$latest" >/dev/null || { echo "FAIL: checkpoint $latest does not load after kill $i"; exit 1; }
    echo "kill $i: newest checkpoint $(basename "$latest") loads"
    "$CHATFORGE" train --resume "$tmp/run" --no-progress 2>>"$tmp/log$i" &
  else
    "$CHATFORGE" train "${args[@]}" 2>>"$tmp/log$i" &
  fi
  pid=$!
done
wait "$pid"
[ "$(readlink "$tmp/run/last")" = "step_00000$steps" ] || { echo "FAIL: run did not finish at step $steps"; exit 1; }
# every step logged exactly once despite the kills
n=$(grep -c '"type":"train"' "$tmp/run/metrics.jsonl")
u=$(grep '"type":"train"' "$tmp/run/metrics.jsonl" | sed 's/.*"step":\([0-9]*\).*/\1/' | sort -un | wc -l)
[ "$n" = "$steps" ] && [ "$u" = "$steps" ] || { echo "FAIL: $n step lines, $u unique, expected $steps"; exit 1; }
ls "$tmp/run" | grep -q '^\.tmp' && { echo "FAIL: temporary checkpoint directories left behind"; exit 1; }
echo "survived $kills SIGKILLs; run completed with $n steps logged once each"
# SIGINT: saves and exits 0 with instructions
rm -rf "$tmp/run2"
"$CHATFORGE" train "${base[@]}" --steps 100000 --save-every 0 --out "$tmp/run2" 2>"$tmp/sigint.log" &
pid=$!
sleep 1.5
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 0 ] || { echo "FAIL: SIGINT exit code $rc"; cat "$tmp/sigint.log"; exit 1; }
grep -q "interrupted at step" "$tmp/sigint.log" && grep -q "resume with: chatforge train --resume" "$tmp/sigint.log" \
  || { echo "FAIL: no resume message after SIGINT"; exit 1; }
"$CHATFORGE" model info "$tmp/run2/last" >/dev/null
echo "SIGINT saved a checkpoint and exited 0"
