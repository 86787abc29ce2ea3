#!/usr/bin/env bash
# LoRA training as full fine-tuning has it: (1) data parallel over MPI, for a GPT-2 and a
# Qwen3-architecture base, adapter dropout on: 2 ranks x micro-batch B (plain and with
# --zero 1) give the losses and the adapter (adapter_model.safetensors) of 1 rank with 2-fold
# accumulation over B, within ddp_compare's 1e-5 relative; (2) SIGKILL at random moments of a
# LoRA run that writes a checkpoint every step: after every kill each checkpoint marked
# complete holds whole, parseable files, resuming starts from the newest of them, and the run
# finishes with the adapter, Adam moments and logged losses of an uninterrupted run, bit for bit.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/mpi.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_lora_ddp
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
compare=("/usr/bin/python3" "$(dirname "$0")/ddp_compare.py")
for arch in gpt2 qwen3; do
  arch_flags=(--arch "$arch")
  [ "$arch" = qwen3 ] && arch_flags+=(--n-kv-head 1 --untied-head)
  d=$tmp/$arch; mkdir -p "$d"
  "$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32 \
    "${arch_flags[@]}" --batch-size 4 --steps 10 --eval-every 0 --lr 3e-3 --no-progress --seed 3 --out "$d/base" \
    2>"$d/base.log"
  ddp=(--data "$tmp/shards" --init "$d/base/last" --seq-len 32 --batch-size 2 --total-batch-tokens 128 --steps 6
       --eval-every 3 --eval-batches 2 --lr 5e-3 --no-progress --seed 5 --peak-gflops 10
       --lora-rank 4 --lora-dropout 0.1)
  OMP_NUM_THREADS=1 "$CHATFORGE" train "${ddp[@]}" --out "$d/one" 2>"$d/one.log"
  grep -q "LoRA: rank 4, alpha 8, dropout 0.1" "$d/one.log" || { cat "$d/one.log"; echo "FAIL: no LoRA plan"; exit 1; }
  grep -q "(2 x 32 x 2 accumulation x 1 ranks)" "$d/one.log" || { cat "$d/one.log"; echo "FAIL: 1 rank not accumulating 2"; exit 1; }
  for z in 0 1; do
    cf_mpirun 2 train "${ddp[@]}" --zero "$z" --out "$d/two_z$z" 2>"$d/two_z$z.log" || { cat "$d/two_z$z.log"; exit 1; }
    grep -q "(2 x 32 x 1 accumulation x 2 ranks)" "$d/two_z$z.log" || { cat "$d/two_z$z.log"; echo "FAIL: not 2 ranks"; exit 1; }
    [ "$z" = 0 ] || grep -q "ZeRO-1" "$d/two_z$z.log" || { cat "$d/two_z$z.log"; echo "FAIL: no ZeRO-1"; exit 1; }
    echo -n "$arch, 2 ranks, --zero $z: "
    "${compare[@]}" "$d/one" "$d/two_z$z" --tol 1e-5 --file adapter_model.safetensors
  done
  # the comparison can fail: without dropout the adapter trains differently
  OMP_NUM_THREADS=1 "$CHATFORGE" train "${ddp[@]}" --lora-dropout 0 --out "$d/nodrop" 2>/dev/null
  if "${compare[@]}" "$d/one" "$d/nodrop" --tol 1e-5 --file adapter_model.safetensors >/dev/null; then
    echo "FAIL: adapter dropout changed nothing"; exit 1
  fi
done

# SIGKILL while a LoRA run writes a checkpoint every step (and prunes to 2)
d=$tmp/kill; mkdir -p "$d"
steps=60
run=(--data "$tmp/shards" --init "$tmp/qwen3/base/last" --seq-len 32 --batch-size 4 --steps $steps --eval-every 10
     --eval-batches 1 --save-every 1 --keep 2 --lr 5e-3 --no-progress --seed 7 --lora-rank 4 --lora-dropout 0.1)
"$CHATFORGE" train "${run[@]}" --out "$d/ref" 2>"$d/ref.log"
# every checkpoint marked complete must be whole: its step, parseable tensors and state
check_complete() {
  /usr/bin/python3 - "$1" <<'PY'
import json, os, struct, sys
run = sys.argv[1]
for n in sorted(os.listdir(run)) if os.path.isdir(run) else []:
    p = f"{run}/{n}"
    if not n.startswith("step_") or not os.path.exists(f"{p}/COMPLETE"):
        continue
    st = json.load(open(f"{p}/trainer_state.json"))
    assert st["step"] == int(n[5:]), (p, st["step"])
    json.load(open(f"{p}/adapter_config.json"))
    for f in ("adapter_model.safetensors", "optimizer.safetensors"):
        raw = open(f"{p}/{f}", "rb").read()
        h = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
        end = max(v["data_offsets"][1] for k, v in h.items() if k != "__metadata__")
        assert len(raw) == 8 + struct.unpack("<Q", raw[:8])[0] + end, (p, f, "truncated")
PY
}
newest_complete() {
  local best=""
  for s in "$1"/step_*; do if [ -e "$s/COMPLETE" ]; then best=$(basename "$s"); fi; done
  echo "$best"
}
"$CHATFORGE" train "${run[@]}" --out "$d/run" 2>"$d/log0" &
pid=$!
RANDOM=22
kills=0
for i in 1 2 3 4 5; do
  # wait for step ~11i (by the newest checkpoint), then kill 0-30 ms later: mid-step or mid-save
  target=$((11 * i - 6 + RANDOM % 6))
  while kill -0 "$pid" 2>/dev/null; do
    at=$(readlink "$d/run/last" 2>/dev/null || echo step_0)
    [ "$((10#${at#step_}))" -ge "$target" ] && break
    sleep 0.005
  done
  sleep "0.0$(( RANDOM % 3 ))$(( RANDOM % 10 ))"
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; wait "$pid" 2>/dev/null || true; kills=$((kills + 1)); fi
  check_complete "$d/run" || { echo "FAIL: a checkpoint marked complete is not whole after kill $i"; exit 1; }
  want=$(newest_complete "$d/run")
  if [ -n "$want" ]; then
    "$CHATFORGE" train --resume "$d/run" --no-progress 2>"$d/log$i" &
    pid=$!
    for _ in $(seq 600); do grep -q "resuming" "$d/log$i" && break; sleep 0.05; done  # up to 30 s on a loaded host
    grep -q "resuming $d/run/$want at step $((10#${want#step_})) of $steps" "$d/log$i" \
      || { cat "$d/log$i"; echo "FAIL: after kill $i the resume did not start from $want"; exit 1; }
    echo "kill $i (at step >= $target): resumed from $want"
  else
    "$CHATFORGE" train "${run[@]}" --out "$d/run" 2>"$d/log$i" &
    pid=$!
    echo "kill $i: no checkpoint yet, started again"
  fi
done
wait "$pid"
[ "$kills" = 5 ] || { echo "FAIL: only $kills of 5 kills landed"; exit 1; }
[ "$(readlink "$d/run/last")" = "$(printf step_%07d $steps)" ] || { echo "FAIL: run did not finish at step $steps"; exit 1; }
for f in adapter_model.safetensors optimizer.safetensors; do
  cmp "$d/ref/last/$f" "$d/run/last/$f" || { echo "FAIL: $f differs from the uninterrupted run"; exit 1; }
done
trains() { /usr/bin/python3 -c "
import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j['type'] == 'train': print(j['step'], repr(j['loss']))" "$1"; }
diff <(trains "$d/ref/metrics.jsonl") <(trains "$d/run/metrics.jsonl") \
  || { echo "FAIL: logged losses differ from the uninterrupted run (or a step logged twice)"; exit 1; }
ls -a "$d/run" | grep -q '^\.tmp' && { echo "FAIL: temporary checkpoint directories left behind"; exit 1; }
echo "LoRA: survived $kills SIGKILLs; adapter, moments and losses equal the uninterrupted run"
