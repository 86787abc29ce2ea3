#!/usr/bin/env bash
# `chatforge data chat` end to end: every input format of the same conversations gives the
# same shards; meta.json counts; the tokenizer (with its chat template) is copied next to the
# shards; `data inspect` marks the trained spans; bad records are skipped with file:line or
# stop the run with --strict; truncation policies; a 3:1 task mixture with per-task
# validation shards; --add-chat-tokens; paraphrase through an external command; usage errors.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}"
cf=$CHATFORGE
tmp=$CF_BINARY_DIR/test-tmp/chat_cli
rm -rf "$tmp" && mkdir -p "$tmp"
cd "$tmp"
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

# A small tokenizer with the chat tokens, and one without them.
$py - <<'PY'
import random
random.seed(1)
words = "what is the capital of france paris hello there how are you today fine thanks answer briefly 你好 世界 谢谢".split()
with open("corpus.txt", "w") as f:
    for _ in range(400):
        f.write(" ".join(random.choice(words) for _ in range(12)) + "\n")
PY
"$cf" tokenizer train --input corpus.txt --vocab-size 400 --out tok --special-tokens '<|im_start|>' '<|im_end|>' 2>/dev/null >/dev/null
"$cf" tokenizer train --input corpus.txt --vocab-size 400 --out tok_plain 2>/dev/null >/dev/null

# The same 40 conversations in every format.
$py - <<'PY'
import json, csv
qs = [(f"what is {i} plus {i}?", f"the answer is {2*i}.") for i in range(40)]
sysp = "answer briefly"
with open("messages.jsonl", "w") as f:
    for q, a in qs:
        f.write(json.dumps({"messages": [{"role": "system", "content": sysp}, {"role": "user", "content": q},
                                         {"role": "assistant", "content": a}]}, ensure_ascii=False) + "\n")
with open("sharegpt.jsonl", "w") as f:
    for q, a in qs:
        f.write(json.dumps({"system": sysp, "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}) + "\n")
with open("alpaca.json", "w") as f:
    json.dump([{"instruction": q, "input": "", "output": a, "system": sysp} for q, a in qs], f)
with open("pc.jsonl", "w") as f:
    for q, a in qs:
        f.write(json.dumps({"prompt": q, "completion": a, "system": sysp}) + "\n")
with open("qa.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(["system", "question", "answer"])
    for q, a in qs: w.writerow([sysp, q, a])
with open("qa.tsv", "w") as f:
    f.write("question\tanswer\n")
    for q, a in qs: f.write(f"{q}\t{a}\n")
PY
for f in messages.jsonl sharegpt.jsonl alpaca.json pc.jsonl qa.csv; do
  "$cf" data chat --tokenizer tok --input "$f" --out "out_${f%%.*}" --no-progress --val-fraction 0.2 >/dev/null
done
# TSV without a system column: the prompt comes from --system.
"$cf" data chat --tokenizer tok --input qa.tsv --out out_qa_tsv --system "answer briefly" --no-progress --val-fraction 0.2 >/dev/null
for d in out_sharegpt out_alpaca out_pc out_qa out_qa_tsv; do
  for s in train_000000.bin val_000000.bin; do
    cmp -s "out_messages/$s" "$d/$s" || fail "$d/$s differs from the messages format's"
  done
done
echo "ok: six formats give identical shards"

# meta.json, the copied tokenizer with its chat template, and inspect's mask view.
$py - <<'PY'
import json
m = json.load(open("out_messages/meta.json"))
c = m["chat"]; t = c["tasks"]["default"]
assert m["has_mask"] is True, m
assert t["conversations_read"] == 40 and t["train_conversations"] + t["val_conversations"] == 40, t
assert 0 < t["val_conversations"] < 20, t
assert c["skipped"]["count"] == 0 and c["options"]["max_len"] == 1024, c
cfg = json.load(open("out_messages/tokenizer_config.json"))
assert "<|im_start|>" in cfg["chat_template"] and cfg["eos_token"] == "<|im_end|>", cfg
PY
[ -s out_messages/tokenizer.json ] || fail "no tokenizer.json copied into the output"
out=$("$cf" data inspect out_messages/train_000000.bin --doc 0 --sample 200 --mask-view brackets)
echo "$out" | grep -q 'loss mask' || fail "inspect does not show the loss mask: $out"
echo "$out" | grep -q '^<|im_start|>system$' || fail "inspect: no system header: $out"
echo "$out" | grep -q '^<|im_start|>assistant$' || fail "inspect: no assistant header: $out"
echo "$out" | grep -q '^⟦the answer is [0-9]*\.<|im_end|>⟧$' || fail "inspect: assistant span not marked: $out"
echo "$out" | grep -q '⟦.*what is' && fail "inspect: a user turn is marked as trained: $out"
echo "ok: meta.json, tokenizer copy, inspect mask view"

# Bad records: skipped and counted with file:line; --strict stops at the first.
cat > bad.jsonl <<'J'
{"messages":[{"role":"user","content":"hello there"},{"role":"assistant","content":"fine thanks"}]}
{"messages":[{"role":"robot","content":"hi"},{"role":"assistant","content":"x"}]}
{"messages":[{"role":"user","content":"  "},{"role":"assistant","content":"x"}]}
{"messages":[{"role":"user","content":"no answer"}]}
{"messages": [oops
J
out=$("$cf" data chat --tokenizer tok --input bad.jsonl --out out_bad --no-progress --val-fraction 0)
echo "$out" | grep -q "skipped 4 records (first: bad.jsonl:2: message 0: unknown role 'robot')" || fail "skip summary: $out"
$py - <<'PY'
import json
s = json.load(open("out_bad/meta.json"))["chat"]["skipped"]
assert s["count"] == 4, s
got = [(e["line"], e["reason"].split(":")[0]) for e in s["examples"]]
assert [l for l, _ in got] == [2, 3, 4, 5], got
assert "empty content" in s["examples"][1]["reason"] and "no assistant turn" in s["examples"][2]["reason"], s
assert "broken JSON" in s["examples"][3]["reason"], s
PY
rc=0; out=$("$cf" data chat --tokenizer tok --input bad.jsonl --out out_bad2 --strict --no-progress 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "--strict: exit $rc"
[ "$out" = "error: bad.jsonl:2: message 0: unknown role 'robot'" ] || fail "--strict message: $out"
echo "ok: bad records"

# Truncation: a long first exchange is dropped by keep-last-turns, the conversation by drop.
$py - <<'PY'
import json
long = "hello there " * 200
rec = {"messages": [{"role": "system", "content": "answer briefly"}, {"role": "user", "content": long},
                    {"role": "assistant", "content": long}, {"role": "user", "content": "how are you"},
                    {"role": "assistant", "content": "fine thanks"}]}
open("long.jsonl", "w").write(json.dumps(rec) + "\n")
PY
"$cf" data chat --tokenizer tok --input long.jsonl --out out_drop --max-len 64 --val-fraction 0 --no-progress >/dev/null
"$cf" data chat --tokenizer tok --input long.jsonl --out out_keep --max-len 64 --truncate keep-last-turns --val-fraction 0 \
  --no-progress --dump-text keep.jsonl >/dev/null
$py - <<'PY'
import json
d = json.load(open("out_drop/meta.json"))["chat"]["truncation"]; assert d["dropped_too_long"] == 1 and d["truncated"] == 0, d
k = json.load(open("out_keep/meta.json"))["chat"]["truncation"]; assert k["dropped_too_long"] == 0 and k["truncated"] == 1, k
row = json.loads(open("keep.jsonl").readline())
assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"], row
assert row["messages"][1]["content"] == "how are you", row
PY
echo "ok: truncation policies"

# A 3:1 mixture of two tasks: proportions, per-task validation shards, per-task system prompt.
cat > mix.yaml <<'Y'
- task: dialogue
  path: messages.jsonl
  weight: 3
- task: qa
  path: qa.tsv
  weight: 1
  system: "answer with a number"
Y
"$cf" data chat --tokenizer tok --mixture mix.yaml --out out_mix --mixture-size 2000 --val-fraction 0.2 --seed 3 \
  --no-progress --dump-text mix.jsonl >/dev/null
[ -s out_mix/val-dialogue_000000.bin ] && [ -s out_mix/val-qa_000000.bin ] || fail "no per-task validation shards"
$py - <<'PY'
import json, math
m = json.load(open("out_mix/meta.json"))["chat"]["tasks"]
n = m["dialogue"]["train_rows"] + m["qa"]["train_rows"]
assert n == 2000, m
share = m["dialogue"]["train_rows"] / n
assert abs(share - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n), share
rows = [json.loads(l) for l in open("mix.jsonl")]
qa = [r for r in rows if r["task"] == "qa"]
assert all(r["messages"][0] == {"role": "system", "content": "answer with a number"} for r in qa), qa[0]
PY
"$cf" data inspect out_mix/val-qa_000000.bin >/dev/null
echo "ok: 3:1 mixture"

# --add-chat-tokens extends a tokenizer without the chat tokens; without it, a clear error.
rc=0; out=$("$cf" data chat --tokenizer tok_plain --input messages.jsonl --out out_plain --no-progress 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == error:*--add-chat-tokens* ]] || fail "missing chat tokens: exit $rc: $out"
"$cf" data chat --tokenizer tok_plain --input messages.jsonl --out out_plain --add-chat-tokens --no-progress >/dev/null
$py - <<'PY'
import json
t = json.load(open("out_plain/tokenizer.json"))
added = [a["content"] for a in t["added_tokens"]]
assert "<|im_start|>" in added and "<|im_end|>" in added, added
plain = sum(1 for l in open("tok_plain/vocab.txt", "rb") if not l.startswith(b"#"))
m = json.load(open("out_plain/meta.json")); assert m["vocab_size"] == plain + 2, (m["vocab_size"], plain)
PY
echo "ok: --add-chat-tokens"

# Paraphrase through an external command (here: a sed that rewrites the question).
"$cf" data chat --tokenizer tok --input messages.jsonl --out out_para --augment-command "sed 's/what is/tell me/'" \
  --paraphrase-rate 1 --val-fraction 0 --no-progress --dump-text para.jsonl >/dev/null
$py - <<'PY'
import json
rows = [json.loads(l) for l in open("para.jsonl")]
assert len(rows) == 80, len(rows)
para = [r for r in rows if r["messages"][1]["content"].startswith("tell me")]
assert len(para) == 40, len(para)
assert json.load(open("out_para/meta.json"))["chat"]["paraphrase_calls"] == 40
PY
rc=0; out=$("$cf" data chat --tokenizer tok --input messages.jsonl --out out_para2 --augment-command "exit 7" \
  --paraphrase-rate 1 --no-progress 2>&1) || rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"exit status 7"* ]] || fail "failing augment command: exit $rc: $out"
echo "ok: paraphrase command"

# Paraphrase with a chatforge model (random weights here: the mechanics, not the quality):
# every train conversation gains a copy whose user turns are the model's answers, and the
# run is deterministic.
vocab=$($py -c "import json; print(len(json.load(open('tok/tokenizer.json'))['model']['vocab']) + 2)")
"$cf" model init --out pmodel --n-layer 1 --n-head 2 --n-embd 32 --vocab-size "$vocab" --n-ctx 256 >/dev/null
cp tok/tokenizer.json pmodel/
for run in 1 2; do
  "$cf" data chat --tokenizer tok --input messages.jsonl --out out_pm$run --augment-model pmodel \
    --augment-instruction "Rephrase the question." --paraphrase-rate 1 --val-fraction 0 --no-progress \
    --dump-text pm$run.jsonl >/dev/null
done
cmp -s pm1.jsonl pm2.jsonl || fail "--augment-model is not deterministic"
$py - <<'PY'
import json
rows = [json.loads(l) for l in open("pm1.jsonl")]
assert len(rows) == 80, len(rows)
assert json.load(open("out_pm1/meta.json"))["chat"]["paraphrase_calls"] == 40
changed = sum(1 for r in rows[40:] if r["messages"][-2]["content"] not in {x["messages"][-2]["content"] for x in rows[:40]})
assert changed >= 30, changed
PY
echo "ok: paraphrase with --augment-model"

# Noise on user turns: recorded in meta.json; assistant targets unchanged.
"$cf" data chat --tokenizer tok --input messages.jsonl --out out_noise --substitute-rate 0.3 --val-fraction 0 --no-progress >/dev/null
"$cf" data chat --tokenizer tok --input messages.jsonl --out out_clean --val-fraction 0 --no-progress >/dev/null
$py - <<'PY'
import json, struct
def rows(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b, 16)[0]; eot = struct.unpack_from("<i", b, 40)[0]
    toks = struct.unpack_from(f"<{n}H", b, 64); mask = b[64 + 2 * n: 64 + 3 * n]
    out, cur = [], []
    for t, m in zip(toks, mask):
        if t == eot: out.append(cur); cur = []
        else: cur.append((t, m))
    return out
a, b = rows("out_noise/train_000000.bin"), rows("out_clean/train_000000.bin")
assert len(a) == len(b) == 40
changed = total = 0
for x, y in zip(a, b):
    assert [t for t, m in x if m] == [t for t, m in y if m], "assistant targets changed"
    assert len(x) == len(y)
    changed += sum(1 for (p, _), (q, _) in zip(x, y) if p != q)
n = json.load(open("out_noise/meta.json"))["chat"]["noise"]
assert n["substituted"] == changed and abs(changed / n["touchable_tokens"] - 0.3) < 0.1, (n, changed)
PY
echo "ok: noise on user turns"

# Usage errors exit 2 with one line.
for args in "--truncate middle" "--format xml" "--max-len 2" "--mask-rate 2" "--augment-model m --augment-command cat"; do
  rc=0; out=$("$cf" data chat --tokenizer tok --input messages.jsonl --out out_u $args 2>&1) || rc=$?
  [ "$rc" = 2 ] || fail "$args: exit $rc: $out"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "$args: not one line: $out"
done
rc=0; "$cf" data chat --tokenizer tok --input missing.jsonl --out out_m >/dev/null 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "missing input: exit $rc"
echo "ok: usage errors"
echo "chat_cli: all passed"
