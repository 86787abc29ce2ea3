#!/usr/bin/env bash
# The loss curve of a 200-step pretraining run matches PyTorch's (same initial weights,
# same windows in the same order, same schedule, AdamW groups and clipping) at every step.
set -euo pipefail
py=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$py" -c "import torch" 2>/dev/null || { echo "SKIP: PyTorch is not installed for $py"; exit 77; }
source "$(dirname "$0")/lib/make_text_shards.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_vs_torch
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
vocab=$("$CHATFORGE" data inspect "$tmp/shards/train_000000.bin" | sed -n 's/.*vocab[_ ]size[: ]*\([0-9]*\).*/\1/p' | head -1)
[ -n "$vocab" ] || { echo "FAIL: could not read the vocabulary size"; exit 1; }
"$CHATFORGE" model init --out "$tmp/init" --n-layer 2 --n-head 4 --n-embd 64 --vocab-size "$vocab" --n-ctx 64 --seed 3 >/dev/null
hp=(--batch-size 4 --seq-len 32 --steps 200 --lr 3e-3 --warmup 20 --min-lr-ratio 0.1 --weight-decay 0.1
    --beta1 0.9 --beta2 0.95 --grad-clip 1.0)
"$CHATFORGE" train --init "$tmp/init" --data "$tmp/shards" --tokenizer "$tmp/tok" --out "$tmp/run" --loader sequential \
  --eval-every 0 --save-every 0 --no-progress --lr-schedule cosine "${hp[@]}" 2>/dev/null
"$py" "$CF_SOURCE_DIR/scripts/torch_train_reference.py" --init "$tmp/init" --shard "$tmp/shards/train_000000.bin" \
  "${hp[@]}" > "$tmp/torch.txt"
"$py" - "$tmp/run/metrics.jsonl" "$tmp/torch.txt" <<'PY'
import json, sys
ours = {j["step"]: j["loss"] for j in map(json.loads, open(sys.argv[1])) if j["type"] == "train"}
ref = {int(s): float(l) for s, l in (line.split() for line in open(sys.argv[2]))}
assert len(ref) == 200 and sorted(ours) == sorted(ref), (len(ours), len(ref))
worst = max(abs(ours[s] - ref[s]) for s in ref)
worst_step = max(ref, key=lambda s: abs(ours[s] - ref[s]))
print(f"loss step 1: chatforge {ours[1]:.6f} torch {ref[1]:.6f}; step 200: chatforge {ours[200]:.6f} torch {ref[200]:.6f}")
print(f"max |loss difference| over 200 steps: {worst:.2e} (step {worst_step})")
assert ref[200] < ref[1] - 1.0, "the reference run did not learn"
assert worst < 1e-4, f"loss curves diverge: {worst} at step {worst_step}"
PY
