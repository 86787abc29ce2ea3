#!/usr/bin/env bash
# The official `openai` npm client, unmodified, against `chatforge serve`: list models,
# chat completions non-streaming and streaming (text of the stream == text of the same
# seeded request without streaming), n=2, stop strings, max_tokens -> finish "length",
# logprobs, usage counts, completions, a wrong API key -> AuthenticationError, unknown
# model -> 404. Then the feedback loop: rate answers via /v1/feedback, `chatforge feedback
# stats` and `export --format sft|preference` give exactly the rated answers, led by the
# server's --system prompt where the request brought no system message. /ui/config offers
# the web page's default example questions.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_openai_client"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
need_node_pkgs openai
make_chat_model "$tmp" 2 64 256
trap 'stop_server || true' EXIT
echo "sk-test-$$" > "$tmp/key"
start_server "$tmp/server.log" --model "$tmp/model" --parallel 4 --db "$tmp/feedback.sqlite" --api-key-file "$tmp/key" \
  --system "Be kind."

cat > "$tmp/client.js" <<'JS'
const OpenAI = require('openai');
const assert = require('node:assert/strict');
(async () => {
const [base, key, imEnd, eot] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
const model = 'model';

const models = await client.models.list();
assert.deepEqual(models.data.map((m) => m.id), [model]);

const messages = [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: '你好，今天天气很好吗？' }];
// banned stop tokens: the answer runs to max_tokens
const noStop = { [imEnd]: -100, [eot]: -100 };
const whole = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0.8, seed: 7, logit_bias: noStop });
assert.equal(whole.object, 'chat.completion');
assert.equal(whole.choices.length, 1);
assert.equal(whole.choices[0].message.role, 'assistant');
assert.equal(whole.choices[0].finish_reason, 'length');
assert.equal(whole.usage.completion_tokens, 12);
assert.ok(whole.usage.prompt_tokens > 5);
assert.equal(whole.usage.total_tokens, whole.usage.prompt_tokens + 12);
assert.ok(whole.choices[0].message.content.length > 0);

const stream = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0.8, seed: 7,
  logit_bias: noStop, stream: true, stream_options: { include_usage: true } });
let text = '', chunks = 0, finish = null, usage = null;
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const c of chunk.choices) { text += c.delta?.content ?? ''; if (c.finish_reason) finish = c.finish_reason; }
  chunks++;
}
assert.ok(chunks >= 3, `only ${chunks} chunks`);
assert.equal(text, whole.choices[0].message.content, 'stream text equals non-stream text for the same seed');
assert.equal(finish, 'length');
assert.deepEqual(usage, whole.usage);

// a different seed gives a different answer (random weights, temperature 0.8)
const other = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0.8, seed: 8, logit_bias: noStop });
assert.notEqual(other.choices[0].message.content, whole.choices[0].message.content);

// n = 2: choice i uses seed + i, so choice 1 of seed 7 == choice 0 of seed 8
const two = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0.8, seed: 7, n: 2, logit_bias: noStop });
assert.equal(two.choices.length, 2);
assert.equal(two.choices[0].message.content, whole.choices[0].message.content);
assert.equal(two.choices[1].message.content, other.choices[0].message.content);
assert.equal(two.usage.completion_tokens, 24);

// stop string: cut where the unstopped answer has it (its 3rd..5th characters)
const full = whole.choices[0].message.content;
const chars = [...full];
let at = 1;
while (at + 3 < chars.length && chars.slice(at, at + 3).some((c) => c === '\uFFFD')) at++;
const stopAt = chars.slice(at, at + 3).join('');
const stopped = await client.chat.completions.create({ model, messages, max_tokens: 12, temperature: 0.8, seed: 7, logit_bias: noStop, stop: [stopAt] });
assert.equal(stopped.choices[0].finish_reason, 'stop');
assert.equal(stopped.choices[0].message.content, full.slice(0, full.indexOf(stopAt)));

// logprobs: one entry per token, top alternatives sorted, chosen logprob <= 0
const lp = await client.chat.completions.create({ model, messages, max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 3, logit_bias: noStop });
const content = lp.choices[0].logprobs.content;
assert.equal(content.length, 5);
for (const t of content) {
  assert.ok(t.logprob <= 0);
  assert.equal(t.top_logprobs.length, 3);
  assert.ok(t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob);
  assert.ok(t.logprob <= t.top_logprobs[0].logprob + 1e-6);
}

// legacy completions, both ways
const comp = await client.completions.create({ model, prompt: 'Hello, how are', max_tokens: 6, temperature: 0, logit_bias: noStop });
assert.equal(comp.object, 'text_completion');
assert.equal(comp.usage.completion_tokens, 6);
const compStream = await client.completions.create({ model, prompt: 'Hello, how are', max_tokens: 6, temperature: 0, logit_bias: noStop, stream: true });
let ctext = '';
for await (const c of compStream) ctext += c.choices[0]?.text ?? '';
assert.equal(ctext, comp.choices[0].text);

// errors come back as the client's typed errors
await assert.rejects(client.chat.completions.create({ model: 'gpt-4', messages }), (e) => e.status === 404 && e.code === 'model_not_found');
await assert.rejects(client.chat.completions.create({ model, messages, temperature: 5 }), (e) => e.status === 400 && e.param === 'temperature');
await assert.rejects(client.chat.completions.create({ model, messages, max_tokens: 100000 }), (e) => e.status === 400 && e.param === 'max_tokens');
const wrong = new OpenAI({ baseURL: base + '/v1', apiKey: 'wrong', maxRetries: 0 });
await assert.rejects(wrong.models.list(), OpenAI.AuthenticationError);

// feedback: three answers to one prompt in one conversation, rated +1, -1, +1 (with a comment)
const ids = [];
for (const seed of [11, 12, 13]) {
  const r = await client.chat.completions.create({ model, messages, max_tokens: 8, temperature: 1, seed, logit_bias: noStop, conversation_id: 'conv-1' });
  assert.ok(Number.isInteger(r.choices[0].message_id), 'answers with a conversation_id get a message_id');
  ids.push({ id: r.choices[0].message_id, text: r.choices[0].message.content });
}
// a streamed answer carries its message_id on the final chunk
const bare = [{ role: 'user', content: 'Hello' }];  // no system message: the server's --system is used
const s2 = await client.chat.completions.create({ model, messages: bare, max_tokens: 4, stream: true, conversation_id: 'conv-2', logit_bias: noStop });
let streamedId = null, streamedText = '';
for await (const c of s2) for (const ch of c.choices) { streamedText += ch.delta?.content ?? ''; if (ch.finish_reason) streamedId = ch.message_id; }
assert.ok(Number.isInteger(streamedId));
const liked = await client.chat.completions.create({ model, messages: bare, max_tokens: 4, temperature: 1, seed: 21, logit_bias: noStop, conversation_id: 'conv-2' });
assert.notEqual(liked.choices[0].message.content, streamedText, 'two different answers to rate');
const rate = async (message_id, rating, comment) => {
  const r = await fetch(base + '/v1/feedback', { method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ message_id, rating, comment }) });
  return r.status;
};
assert.equal(await rate(ids[0].id, 1, ''), 200);
assert.equal(await rate(ids[1].id, -1, 'rambles'), 200);
assert.equal(await rate(ids[2].id, 1, '很好'), 200);
assert.equal(await rate(streamedId, -1, ''), 200);
assert.equal(await rate(liked.choices[0].message_id, 1, ''), 200);
assert.equal(await rate(999999, 1, ''), 404);
assert.equal(await rate(ids[0].id, 2, ''), 400);
const fs = require('node:fs');
fs.writeFileSync(process.env.OUT_JSON, JSON.stringify({ messages, ids, bare, liked: liked.choices[0].message.content, disliked: streamedText }));
console.log('openai client: all checks passed');
})().catch((e) => { console.error(e); process.exit(1); });
JS
OUT_JSON="$tmp/expected.json" node "$tmp/client.js" "$BASE" "$(cat "$tmp/key")" "$IM_END" "$EOT"
curl -sf "$BASE/health" | grep '"status":"ok"' >/dev/null || { echo "FAIL: health after client run" >&2; exit 1; }
# the web page's settings: no API key needed, the default example questions
curl -sf "$BASE/ui/config" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c == {"model": "model", "examples": ["Hello! What can you help me with?", "你好！请介绍一下你自己。"], "feedback": True}, c'
curl -sf "$BASE/metrics" | grep 'chatforge_requests_total{endpoint="/v1/chat/completions",status="200"}' >/dev/null \
  || { echo "FAIL: metrics" >&2; exit 1; }
stop_server

"$CHATFORGE" feedback stats --db "$tmp/feedback.sqlite" | tee "$tmp/stats.txt"
grep -q 'answers 5, thumbs up 3, thumbs down 2, comments 2, approval 60.0%' "$tmp/stats.txt" || { echo "FAIL: stats" >&2; exit 1; }
"$CHATFORGE" feedback export --db "$tmp/feedback.sqlite" --format sft --out "$tmp/sft.jsonl"
"$CHATFORGE" feedback export --db "$tmp/feedback.sqlite" --format preference --out "$tmp/pref.jsonl"
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
exp = json.load(open(f"{tmp}/expected.json"))
msgs, ids = exp["messages"], exp["ids"]
# the request's own system message stays; a request without one gets the server's --system first
seen = [{"role": "system", "content": "Be kind."}] + exp["bare"]
sft = [json.loads(l) for l in open(f"{tmp}/sft.jsonl", encoding="utf-8")]
want = [{"messages": msgs + [{"role": "assistant", "content": ids[i]["text"]}]} for i in (0, 2)]
want.append({"messages": seen + [{"role": "assistant", "content": exp["liked"]}]})
assert sft == want, (sft, want)
pref = [json.loads(l) for l in open(f"{tmp}/pref.jsonl", encoding="utf-8")]
want = [{"prompt": msgs, "chosen": ids[i]["text"], "rejected": ids[1]["text"]} for i in (0, 2)]
want.append({"prompt": seen, "chosen": exp["liked"], "rejected": exp["disliked"]})
assert pref == want, (pref, want)
print("feedback export: sft and preference lines as rated, with the system prompt each answer was generated with")
PY
"$CHATFORGE" feedback export --db "$tmp/nope.sqlite" --format sft --out "$tmp/x.jsonl" 2>"$tmp/err" && exit 1
grep -q 'does not exist' "$tmp/err" || { echo "FAIL: missing db message" >&2; exit 1; }
# The ratings reach the evaluation report: eval --feedback-db adds the same statistics.
printf 'hello there. the model reads this text.\n' > "$tmp/ppl.txt"
"$CHATFORGE" eval perplexity --model "$tmp/model" --data "$tmp/ppl.txt" --out "$tmp/eval" \
  --feedback-db "$tmp/feedback.sqlite" 2>/dev/null
"$CHATFORGE" feedback stats --db "$tmp/feedback.sqlite" --json > "$tmp/stats.json"
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
res = json.load(open(f"{tmp}/eval/results.json"))
stats = json.load(open(f"{tmp}/stats.json"))
assert res["user_feedback"] == stats, (res.get("user_feedback"), stats)
assert res["user_feedback"]["thumbs_up"] == 3 and res["user_feedback"]["thumbs_down"] == 2, res["user_feedback"]
assert "User feedback" in open(f"{tmp}/eval/report.html", encoding="utf-8").read()
print("eval --feedback-db: user feedback statistics in results.json and report.html")
PY
"$CHATFORGE" eval perplexity --model "$tmp/model" --data "$tmp/ppl.txt" --out "$tmp/eval2" \
  --feedback-db "$tmp/nope.sqlite" 2>"$tmp/err2" && exit 1
grep 'no such file' "$tmp/err2" >/dev/null || { echo "FAIL: missing feedback db message" >&2; exit 1; }
echo "serve_openai_client: OK"
