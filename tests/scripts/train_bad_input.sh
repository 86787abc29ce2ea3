#!/usr/bin/env bash
# Bad input to `chatforge train`: each case is a one-line error with a non-zero exit before
# any work is lost: data made for another tokenizer, a context longer than the model's, a
# missing or incompatible --init/--resume, and a full disk (a small tmpfs).
# ctest: alone (both cores for most of its run)
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_bad_input
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp" 320
make_text_shards "$tmp/other" 400
fails=0
expect_error() {  # expect_error CODE "expected text" -- args...
  local want=$1 text=$2; shift 3
  local out rc=0
  out=$("$CHATFORGE" train "$@" --no-progress 2>&1) || rc=$?
  local last; last=$(printf '%s\n' "$out" | tail -1)
  if [ "$rc" != "$want" ] || [[ "$last" != *"$text"* ]]; then
    echo "FAIL: expected exit $want and '$text', got exit $rc: $out"; fails=$((fails+1))
  else
    echo "ok ($rc): $last"
  fi
}
small=(--n-layer 1 --n-head 2 --n-embd 32 --n-ctx 32 --seq-len 32 --batch-size 2 --steps 3 --eval-every 0)
"$CHATFORGE" model init --out "$tmp/m320" --n-layer 1 --n-head 2 --n-embd 32 --vocab-size 320 --n-ctx 32 >/dev/null
expect_error 1 "data made for another tokenizer" -- --init "$tmp/m320" --data "$tmp/other/shards" --out "$tmp/r1" --seq-len 16 --steps 2
expect_error 1 "longer than the model's context of 32" -- --init "$tmp/m320" --data "$tmp/shards" --out "$tmp/r2" --seq-len 64
expect_error 1 "does not exist" -- --init "$tmp/nope" --data "$tmp/shards" --out "$tmp/r3"
expect_error 1 "does not exist" -- --data "$tmp/nodata" --out "$tmp/r4" "${small[@]}"
expect_error 1 "another tokenizer" -- --data "$tmp/shards" --tokenizer "$tmp/other/tok" --out "$tmp/r5" "${small[@]}"
mkdir -p "$tmp/empty_run"
expect_error 1 "no complete training checkpoint" -- --resume "$tmp/empty_run"
expect_error 1 "does not exist" -- --resume "$tmp/no_such_run"
"$CHATFORGE" train --data "$tmp/shards" --out "$tmp/good" "${small[@]}" --no-progress 2>/dev/null
cp -r "$tmp/good" "$tmp/good2"
echo "{broken" > "$tmp/good/last/trainer_state.json"
expect_error 1 "trainer_state.json" -- --resume "$tmp/good"
# a bad field of trainer_state.json is named with its file (was a bare "stoull")
state=$(readlink -f "$tmp/good2/last")/trainer_state.json
sed -i 's/"tokens": "[0-9]*"/"tokens": "12x"/' "$state"
expect_error 1 "trainer_state.json: field 'tokens' must be a decimal 64-bit integer in a string, got \"12x\"" -- \
  --resume "$tmp/good2"
sed -i 's/"tokens": "12x"/"tokens": "1"/; s/"seed": "[0-9]*"/"seed": "-3"/' "$state"
expect_error 1 "trainer_state.json: field 'options.seed' must be a decimal 64-bit integer" -- --resume "$tmp/good2"
sed -i 's/"seed": "-3"/"seed": "1"/; s/"beta2": [0-9.e-]*/"beta2": 2/' "$state"
expect_error 1 "trainer_state.json: field 'options.beta2' must be a finite number in [0, 1), got 2" -- \
  --resume "$tmp/good2"
# A new run into an --out that holds an earlier run: an error that leaves that run as it was
# (its checkpoints would mix with the new run's, and metrics.jsonl would be cut); --overwrite
# deletes the run's own files (not others there) and starts over; it never goes with
# --resume, and an --init inside what it would delete is refused.
"$CHATFORGE" train --data "$tmp/shards" --out "$tmp/again" "${small[@]}" --steps 4 --save-every 2 --keep 5 --no-progress 2>/dev/null
echo notes > "$tmp/again/notes.txt"
before=$(cd "$tmp/again" && ls -l --time-style=full-iso -R . | md5sum)
expect_error 2 "already holds a training run (step_0000002, step_0000004, last, run.json, ... (6 in all)); continue it with --resume" -- \
  --data "$tmp/shards" --out "$tmp/again" "${small[@]}" --steps 2
[ "$(cd "$tmp/again" && ls -l --time-style=full-iso -R . | md5sum)" = "$before" ] ||
  { echo "FAIL: the refused run changed the earlier run's directory"; fails=$((fails+1)); }
expect_error 2 "--overwrite starts a new run; it does not go with --resume" -- --resume "$tmp/again" --overwrite
expect_error 2 "which --overwrite would delete" -- --init "$tmp/again/last" --data "$tmp/shards" --out "$tmp/again" \
  --seq-len 32 --batch-size 2 --steps 2 --overwrite
out=$("$CHATFORGE" train --data "$tmp/shards" --out "$tmp/again" "${small[@]}" --steps 1 --save-every 1 --overwrite --no-progress 2>&1)
left=$(cd "$tmp/again" && ls | tr '\n' ' ')
if [[ "$out" == *"deleted the earlier run in $tmp/again (2 checkpoint(s) and 4 run file(s))"* ]] &&
   [ "$left" = "last metrics.jsonl notes.txt report.html run.json step_0000001 " ] &&
   [ "$(grep -c '"type":"train"' "$tmp/again/metrics.jsonl")" = 1 ]; then
  echo "ok: --overwrite started over, keeping other files: $left"
else
  echo "FAIL: --overwrite left '$left': $out"; fails=$((fails+1))
fi
# numeric flags out of range or not finite: usage errors naming the flag and the range
expect_error 2 "--lr: must be a finite number in [0, 1], got nan" -- --data "$tmp/shards" --out "$tmp/r9" --lr nan
expect_error 2 "--grad-clip: must be a finite number in [0, inf), got nan" -- --data "$tmp/shards" --out "$tmp/r9" \
  --grad-clip nan
expect_error 2 "--beta2: must be in [0, 1), got 2" -- --data "$tmp/shards" --out "$tmp/r9" --beta2 2
expect_error 2 "--weight-decay: must be in [0, 1], got -1" -- --data "$tmp/shards" --out "$tmp/r9" --weight-decay -1
expect_error 2 "--min-lr-ratio: must be in [0, 1], got 5" -- --data "$tmp/shards" --out "$tmp/r9" --min-lr-ratio 5
[ ! -e "$tmp/r9" ] || { echo "FAIL: a rejected flag still created its run directory"; fails=$((fails+1)); }
expect_error 2 "--data is required" -- --out "$tmp/r6"
expect_error 2 "stage" -- --stage finetune --data "$tmp/shards" --out "$tmp/r7"
expect_error 2 "n_embd" -- --data "$tmp/shards" --out "$tmp/r8" --n-layer 1 --n-head 3 --n-embd 32 --steps 1
# A full disk: a tmpfs too small for two checkpoints fails before training starts; one
# that fills up mid-run stops with an error and leaves the previous checkpoint loadable.
mnt=$tmp/tmpfs
mkdir -p "$mnt"
if mount -t tmpfs -o size=600k tmpfs "$mnt" 2>/dev/null; then
  trap 'umount "$mnt" 2>/dev/null || true' EXIT
  expect_error 1 "not enough free disk space" -- --data "$tmp/shards" --out "$mnt/run" "${small[@]}" --n-embd 64
  umount "$mnt"
  mount -t tmpfs -o size=1000k tmpfs "$mnt"
  rc=0
  out=$("$CHATFORGE" train --data "$tmp/shards" --out "$mnt/run" "${small[@]}" --steps 40 --save-every 1 --keep 100 \
        --no-progress 2>&1) || rc=$?
  last=$(printf '%s\n' "$out" | tail -1)
  if [ "$rc" = 1 ] && [[ "$last" == error:*"No space left on device"* ]]; then
    "$CHATFORGE" model info "$mnt/run/last" >/dev/null && echo "ok: disk full mid-run: $last; last checkpoint loads" \
      || { echo "FAIL: last checkpoint does not load after a full disk"; fails=$((fails+1)); }
    ls -a "$mnt/run" | grep -q '^\.tmp' && { echo "FAIL: temp checkpoint left on a full disk"; fails=$((fails+1)); }
  else
    echo "FAIL: expected a disk-full error, got exit $rc: $last"; fails=$((fails+1))
  fi
  umount "$mnt"; trap - EXIT
else
  echo "note: cannot mount a tmpfs here (not root?); the full-disk cases were not run"
fi
# --recompute takes its value after a space as after '=', alone means all, and names a bad one
recompute_case() {  # recompute_case NAME WANT ARGS...: the startup line must say WANT (none, mlp, all)
  local name=$1 want=$2 line got=none
  shift 2
  line=$("$CHATFORGE" train --data "$tmp/shards" --out "$tmp/rc_$name" "${small[@]}" --steps 1 --no-progress "$@" 2>&1 |
    grep '^training ') || { echo "FAIL: train $* did not start"; fails=$((fails+1)); return; }
  [[ $line == *"MLP hidden recomputed"* ]] && got=mlp
  [[ $line == *"activations recomputed"* ]] && got=all
  if [ "$got" = "$want" ]; then echo "ok: ${*:-no --recompute} -> $got"; else echo "FAIL: train $*: $got, expected $want"; fails=$((fails+1)); fi
}
recompute_case space mlp --recompute mlp
recompute_case equals mlp --recompute=mlp
recompute_case alone all --recompute
recompute_case none none --recompute none
recompute_case absent none
expect_error 2 "--recompute: bogus not in {none,mlp,all}" -- --data "$tmp/shards" --out "$tmp/rc_bad" "${small[@]}" --recompute bogus
[ "$fails" = 0 ] || { echo "$fails failures"; exit 1; }
echo "all bad-input cases gave clear errors"
