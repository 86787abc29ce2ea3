#!/usr/bin/env bash
# The feedback loop closed end to end: an SFT model that states a price in about 40% of its
# answers is served with a feedback store; a script plays users through the HTTP API
# (tests/scripts/pref_loop_users.py: an answer is liked when it states a price, disliked
# otherwise); `feedback export --format preference` -> `data prefs` -> `train --stage dpo`;
# the tuned model, served again, states the price on held-out items (never rated) at least
# 0.3 more often than before (measured: 0.475 -> 0.96), its win rate against the SFT model
# on those held-out prompts, judged by the users' rule (per prompt, the same seed for both:
# a win when the new answer states the price and the old one does not, a tie counts half),
# is over 0.5 (measured: 0.744, 39 wins, 0 losses, 41 ties of 80), and its assistant-only
# perplexity on the SFT validation data stays within 2x (measured: 2.23 -> 3.36).
set -euo pipefail
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
tmp=$CF_BINARY_DIR/test-tmp/pref_loop
rm -rf "$tmp"; mkdir -p "$tmp"
cd "$tmp"
trap 'stop_server || true' EXIT
users=$CF_SOURCE_DIR/tests/scripts/pref_loop_users.py
/usr/bin/python3 - <<'PY'
import json, random
random.seed(9)
items = "apple|bread|coffee|lamp|chair|book|shirt|phone|bike|pen|cup|rug|desk|hat|sock|bowl".split("|")
json.dump({"rated": items[:12], "held": items[12:]}, open("items.json", "w"))
with open("sft.jsonl", "w") as f, open("text.txt", "w") as t:
    for i in range(600):
        it = random.choice(items); n = random.randint(2, 99)
        a = f"the {it} costs {n} dollars." if random.random() < 0.4 else random.choice(["i do not know.", "ask someone else."])
        f.write(json.dumps({"messages": [{"role": "user", "content": f"how much is the {it}?"},
                                         {"role": "assistant", "content": a}]}) + "\n")
        t.write(f"how much is the {it}? the {it} costs {n} dollars. i do not know. ask someone else.\n")
PY
"$CHATFORGE" tokenizer train --input text.txt --vocab-size 400 --out tok \
  --special-tokens '<|endoftext|>' '<|im_start|>' '<|im_end|>' >/dev/null 2>&1
"$CHATFORGE" data chat --tokenizer tok --input sft.jsonl --val-fraction 0.1 --out sft_data --no-progress >/dev/null
vocab=$(( $(wc -l < tok/vocab.txt) - 1 ))
"$CHATFORGE" train --stage sft --data sft_data --n-layer 2 --n-head 2 --n-embd 64 --vocab-size "$vocab" --seq-len 64 \
  --batch-size 16 --steps 150 --lr 3e-3 --eval-every 0 --no-progress --out sft 2>/dev/null
# users rate the served SFT model; the held-out items are only measured
start_server server1.log --model sft/last --db fb.sqlite
rated=$(/usr/bin/python3 "$users" "$BASE" items.json rated 6 rate)
before=$(/usr/bin/python3 "$users" "$BASE" items.json held 20 norate held_sft.json)
stop_server
"$CHATFORGE" feedback export --db fb.sqlite --format preference --out pairs.jsonl
"$CHATFORGE" data prefs --tokenizer sft/last --input pairs.jsonl --val-fraction 0.1 --max-len 96 --out prefs
"$CHATFORGE" train --stage dpo --init sft/last --data prefs --seq-len 96 --batch-size 8 --steps 30 --lr 3e-4 \
  --beta 0.5 --eval-every 15 --no-progress --out dpo 2>/dev/null
start_server server2.log --model dpo/last
after=$(/usr/bin/python3 "$users" "$BASE" items.json held 20 norate held_dpo.json)
stop_server
# no collapse: the assistant-only perplexity of the SFT validation conversations, as `train
# --stage sft` evaluates it (one step at lr 1e-9, evaluated after it). Since 60% of those
# answers are the disliked kind, it must rise some; the bound is 2x.
for m in sft dpo; do
  "$CHATFORGE" train --stage sft --init "$m/last" --data sft_data --seq-len 64 --batch-size 16 --steps 1 --lr 1e-9 \
    --warmup 0 --eval-every 1 --eval-batches 8 --no-progress --out "ppl_$m" 2>/dev/null
done
/usr/bin/python3 - "$rated" "$before" "$after" <<'PY'
import json, sys
rated, before, after = map(float, sys.argv[1:])
ppl = {m: [json.loads(l) for l in open(f"ppl_{m}/metrics.jsonl") if '"eval"' in l][-1]["val_ppl"] for m in ("sft", "dpo")}
print(f"price stated: rated items {rated:.3f} before; held-out items {before:.3f} -> {after:.3f}; "
      f"SFT validation perplexity {ppl['sft']:.3f} -> {ppl['dpo']:.3f}")
# win rate of the new (DPO) model over the old (SFT) one, prompt by prompt (same item, same seed)
old, new = json.load(open("held_sft.json")), json.load(open("held_dpo.json"))
assert old.keys() == new.keys() and old, (len(old), len(new))
score = {(1, 0): 1.0, (0, 1): 0.0, (0, 0): 0.5, (1, 1): 0.5}
win_rate = sum(score[(new[k], old[k])] for k in old) / len(old)
wins = sum(new[k] > old[k] for k in old); losses = sum(new[k] < old[k] for k in old)
print(f"win rate of the DPO model over the SFT model on {len(old)} held-out prompts: {win_rate:.3f} "
      f"({wins} wins, {losses} losses, {len(old) - wins - losses} ties)")
assert after >= before + 0.3, ("the preferred behaviour did not rise by 0.3", before, after)
assert win_rate > 0.5, ("the DPO model does not beat the SFT model", win_rate)
assert ppl["dpo"] <= 2.0 * ppl["sft"], ("SFT validation perplexity more than doubled", ppl)
PY
echo "feedback loop: serve -> rate over HTTP -> export -> data prefs -> dpo -> the preference rate rises"
