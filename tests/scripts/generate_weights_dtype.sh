#!/usr/bin/env bash
# --weights-dtype on a trained model: a small GPT trained here on Moby Dick generates
# greedily with f32, f16, bf16 and int8 weights (`chatforge generate --json --logprobs 0`).
# The reduced formats must agree with f32 on most tokens (f16 on >= 90% of the positions
# before the first difference, averaged over the prompts; bf16 and int8 on >= 50%) and the
# log-probability of each token they share must be within 0.005 (f16), 0.05 (bf16, int8) of
# f32's (measured: 0.0004, 0.0025, 0.0074; agreement 100%, 88%, 100%). A bad --weights-dtype is a one-line usage error.
# ctest: alone (both cores for most of its run)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
bash "$CF_SOURCE_DIR/scripts/deps/tokenizer.fetch.sh" >/dev/null
tmp="$CF_BINARY_DIR/test-tmp/generate_weights_dtype"
rm -rf "$tmp" && mkdir -p "$tmp"
/usr/bin/python3 - "$CF_SOURCE_DIR/.cache/tokenizer-data/moby-dick.txt" "$tmp/train.jsonl" <<'PY'
import json, sys
paras = [p.strip() for p in open(sys.argv[1], encoding="utf-8").read().split("\n\n") if len(p.strip()) > 40]
with open(sys.argv[2], "w") as f:
    for p in paras[:1500]: f.write(json.dumps({"text": p}) + "\n")
PY
"$CHATFORGE" tokenizer train --input "$tmp/train.jsonl" --vocab-size 512 --out "$tmp/tok" >/dev/null 2>&1
"$CHATFORGE" data tokenize --tokenizer "$tmp/tok" --input "$tmp/train.jsonl" --out "$tmp/shards" --no-progress \
  >/dev/null 2>&1
"$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --out "$tmp/run" --n-layer 2 --n-head 4 --n-embd 128 \
  --seq-len 64 --batch-size 8 --steps 200 --lr 3e-3 --warmup 20 --no-progress >"$tmp/train.log" 2>&1 ||
  { cat "$tmp/train.log"; exit 1; }
model=$(readlink -f "$tmp/run/last")
eot=$(awk -F'\t' '$2 == "<|endoftext|>" {print $1}' "$tmp/tok/vocab.txt")
ban=(); [ -n "$eot" ] && ban=(--logit-bias "$eot=-100")  # every answer 48 tokens long
prompts=("The whale" "Call me Ishmael. Some years ago" "And the sea was")
for d in f32 f16 bf16 int8; do
  for i in "${!prompts[@]}"; do
    "$CHATFORGE" generate --model "$model" --prompt "${prompts[$i]}" --temperature 0 --max-tokens 48 \
      "${ban[@]}" --weights-dtype "$d" --json --logprobs 0 > "$tmp/$d.$i.json"
  done
done
/usr/bin/python3 - "$tmp" "${#prompts[@]}" <<'PY'
import json, sys
tmp, n = sys.argv[1], int(sys.argv[2])
load = lambda d, i: json.load(open(f"{tmp}/{d}.{i}.json"))
ok = True
for d, min_agree, tol in (("f16", 0.9, 0.005), ("bf16", 0.5, 0.05), ("int8", 0.5, 0.05)):
    agree, worst = [], 0.0
    for i in range(n):
        a, b = load("f32", i), load(d, i)
        k = 0
        while k < min(len(a["tokens"]), len(b["tokens"])) and a["tokens"][k] == b["tokens"][k]: k += 1
        agree.append(k / max(1, len(a["tokens"])))
        for j in range(k):
            worst = max(worst, abs(a["logprobs"][j]["logprob"] - b["logprobs"][j]["logprob"]))
    mean = sum(agree) / n
    print(f"{d}: greedy tokens equal to f32 before the first difference: {100*mean:.0f}% "
          f"(per prompt {[round(x, 2) for x in agree]}); max |logprob - f32| on shared tokens {worst:.4f}")
    if mean < min_agree or worst > tol:
        print(f"FAIL: {d} needs >= {100*min_agree:.0f}% agreement and logprob differences <= {tol}")
        ok = False
sys.exit(0 if ok else 1)
PY
set +e
err=$("$CHATFORGE" generate --model "$model" --prompt "x" --weights-dtype fp8 2>&1)
rc=$?
set -e
[ $rc -eq 2 ] && echo "$err" | grep -q "invalid --weights-dtype 'fp8'" || { echo "FAIL: bad dtype: rc=$rc $err"; exit 1; }
echo "ok"
