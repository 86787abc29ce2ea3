#!/usr/bin/env bash
# SFT learns: a small model fine-tuned (from scratch) on generated question/answer
# conversations about made-up facts reaches near-zero training loss on the assistant
# tokens, and answers held-out paraphrases of the questions (phrasings never seen in
# training) with the right fact in most cases.
# ctest: alone (both cores for most of its run)
set -euo pipefail
tmp=$CF_BINARY_DIR/test-tmp/train_sft_learns
rm -rf "$tmp"; mkdir -p "$tmp"
/usr/bin/python3 - "$tmp" <<'PY'
import json, random, sys
d = sys.argv[1]
random.seed(11)
countries = ["Zorbia", "Quellan", "Vasteria", "Morvain", "Tilbury", "Ostrava", "Kelmar", "Dunholt",
             "Arvenna", "Brisca", "Calder", "Eskon"]
capitals = ["Quenta", "Lirrow", "Pasko", "Derravale", "Hommet", "Fenwick", "Tarsel", "Ulvin",
            "Grennock", "Sallow", "Bramet", "Ovida"]
train_q = ["What is the capital of {}?", "Tell me the capital of {}.", "Which city is the capital of {}?",
           "What city is {}'s capital?", "Do you know the capital of {}?"]
held_q = ["Name the capital city of {}."]
with open(f"{d}/train.jsonl", "w") as f:
    for rep in range(4):
        for c, cap in zip(countries, capitals):
            for q in train_q:
                f.write(json.dumps({"messages": [{"role": "user", "content": q.format(c)},
                                                 {"role": "assistant", "content": f"The capital of {c} is {cap}."}]}) + "\n")
with open(f"{d}/heldout.tsv", "w") as f:
    for c, cap in zip(countries, capitals):
        for q in held_q:
            f.write(f"{q.format(c)}\t{cap}\n")
with open(f"{d}/corpus.txt", "w") as f:
    for c, cap in zip(countries, capitals):
        for q in train_q + held_q:
            f.write(q.format(c) + f" The capital of {c} is {cap}.\n")
PY
cf=$CHATFORGE
"$cf" tokenizer train --input "$tmp/corpus.txt" --vocab-size 400 --special-tokens '<|im_start|>' '<|im_end|>' \
  --out "$tmp/tok" >/dev/null 2>&1
"$cf" data chat --tokenizer "$tmp/tok" --input "$tmp/train.jsonl" --val-fraction 0 --out "$tmp/sft" >/dev/null 2>&1
"$cf" train --stage sft --data "$tmp/sft" --out "$tmp/run" --n-layer 2 --n-head 4 --n-embd 128 --n-ctx 64 \
  --seq-len 48 --batch-size 16 --steps 300 --lr 3e-3 --warmup 20 --eval-every 0 --no-progress 2>"$tmp/train.log"
final=$(grep '"type":"train"' "$tmp/run/metrics.jsonl" | tail -20 | sed 's/.*"loss":\([0-9.e+-]*\).*/\1/' |
        awk '{s+=$1} END {printf "%.4f", s/NR}')
echo "mean training loss over the last 20 steps: $final"
awk -v l="$final" 'BEGIN{exit !(l < 0.05)}' || { echo "FAIL: SFT training loss $final is not near zero"; exit 1; }
right=0; total=0
while IFS=$'\t' read -r q want; do
  # the chat template as text ($'' keeps the final newline a command substitution would drop)
  prompt=$'<|im_start|>user\n'"$q"$'<|im_end|>\n<|im_start|>assistant\n'
  got=$("$cf" generate --model "$tmp/run/last" --prompt "$prompt" --allow-special --temperature 0 --max-tokens 20 \
        --stop '<|im_end|>' --quiet 2>/dev/null || true)
  total=$((total+1))
  if [[ "$got" == *"$want"* ]]; then right=$((right+1)); fi
  echo "Q: $q -> $got"
done < "$tmp/heldout.tsv"
echo "held-out paraphrases answered with the right fact: $right/$total"
[ $((right * 10)) -ge $((total * 7)) ] || { echo "FAIL: fewer than 70% right"; exit 1; }
