#!/usr/bin/env bash
# Conversations that outlast the context (issue #26): a random-weight model with a 128-token
# context behind `chatforge serve` (default --context-policy truncate-oldest).
# 1. The official `openai` client plays 8 turns (answers appended to the history): every
#    turn is a 200 with an answer (max_tokens 20, or without max_tokens at least the 32 tokens
#    of room truncate-oldest keeps: min(512, context/4));
#    from some turn on the server reports the messages it left out, as usage.truncated_messages
#    and the X-Chatforge-Context-Truncated header (equal), streamed and not.
# 2. A second server with --context-policy error answers the same conversation with today's
#    400 context_length_exceeded once it no longer fits.
# 3. The web page in headless Chromium: 8 turns, each an assistant bubble with no error; then
#    a message too long for the context shows the API's error in place of the answer, and
#    the next turn succeeds without the failed question in the history it sends.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_long_chat"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
need_node_pkgs openai
make_chat_model "$tmp" 2 64 128
trap 'stop_server || true; [ -z "${ERR_PID:-}" ] || kill "$ERR_PID" 2>/dev/null || true' EXIT

# --context-policy is checked like every choice flag
"$CHATFORGE" serve --model "$tmp/model" --context-policy drop-all 2>"$tmp/bad.err" && exit 1
grep -q -- '--context-policy' "$tmp/bad.err" || { cat "$tmp/bad.err" >&2; echo "FAIL: bad policy message" >&2; exit 1; }
"$CHATFORGE" serve --help > "$tmp/help.txt"
grep -q -- '--context-policy.*{error,truncate-oldest}' "$tmp/help.txt" || { cat "$tmp/help.txt" >&2; echo "FAIL: --context-policy in --help" >&2; exit 1; }

# the error-policy server (from a --config file, as every flag can be), then the default one
printf 'context-policy = "error"\n' > "$tmp/error.toml"
start_server "$tmp/server_error.log" --model "$tmp/model" --config "$tmp/error.toml"
ERR_PID=$SERVER_PID ERR_BASE=$BASE
start_server "$tmp/server.log" --model "$tmp/model" --parallel 2

cat > "$tmp/client.js" <<'JS'
const OpenAI = require('openai');
const assert = require('node:assert/strict');
(async () => {
const [base, errBase, imEnd, eot] = process.argv.slice(2);
const model = 'model';
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0 });
const errClient = new OpenAI({ baseURL: errBase + '/v1', apiKey: 'none', maxRetries: 0 });
// the stop tokens banned: every answer runs to the room the server leaves (a long history)
const noStop = { [imEnd]: -100, [eot]: -100 };
const questions = ['Hello, how are you today? The weather is nice.', '你好，今天天气很好。我们一起去公园散步吧。',
  'I am fine, thank you. How are you today?', '谢谢你的帮助！今天天气很好吗？', 'The weather is nice. Hello again, how are you?',
  '我们一起去公园散步吧。你好！', 'Thank you. I am fine, how are you today?', '今天天气很好。谢谢你的帮助！'];
const messages = [{ role: 'system', content: 'You are terse.' }];
let firstTruncated = 0, errorTurn = 0;
for (let turn = 1; turn <= questions.length; turn++) {
  messages.push({ role: 'user', content: questions[turn - 1] });
  const body = { model, messages, temperature: 0, logit_bias: noStop };
  let answer, usage, header;
  if (turn % 2) {  // a short answer asked for: the room kept is max_tokens
    const { data, response } = await client.chat.completions.create({ ...body, max_tokens: 20 }).withResponse();
    assert.equal(response.status, 200);
    answer = data.choices[0].message.content; usage = data.usage;
    header = response.headers.get('x-chatforge-context-truncated');
  } else {  // streamed: the header comes before the first event, usage in the last one
    const { data, response } = await client.chat.completions.create({ ...body, stream: true,
      stream_options: { include_usage: true } }).withResponse();
    assert.equal(response.status, 200);
    answer = '';
    for await (const c of data) { if (c.usage) usage = c.usage; for (const ch of c.choices) answer += ch.delta?.content ?? ''; }
    header = response.headers.get('x-chatforge-context-truncated');
  }
  assert.ok(answer.length > 0, `turn ${turn}: empty answer`);
  if (turn % 2) assert.equal(usage.completion_tokens, 20);
  else assert.ok(usage.completion_tokens >= 32, `turn ${turn}: only ${usage.completion_tokens} tokens of room`);
  assert.ok(usage.prompt_tokens + usage.completion_tokens <= 128, JSON.stringify(usage));
  const dropped = usage.truncated_messages ?? 0;
  assert.equal(header === null ? 0 : Number(header), dropped, `turn ${turn}: header ${header} vs usage ${dropped}`);
  if (dropped > 0 && !firstTruncated) firstTruncated = turn;
  if (firstTruncated) {
    assert.ok(dropped > 0 && dropped % 2 === 0 && dropped < messages.length - 1, `turn ${turn}: dropped ${dropped}`);
  }
  // the same conversation on the error-policy server: 200 while it fits, then 400
  try {
    const r = await errClient.chat.completions.create({ ...body, max_tokens: 1 });
    assert.equal(r.usage.truncated_messages, undefined);
    assert.equal(errorTurn, 0, 'the error server answered after refusing a shorter conversation');
  } catch (e) {
    assert.ok(e.status === 400 && e.code === 'context_length_exceeded', String(e));
    if (!errorTurn) errorTurn = turn;
  }
  console.log(`turn ${turn}: prompt ${usage.prompt_tokens}, answer ${usage.completion_tokens} tokens, dropped ${dropped}`);
  messages.push({ role: 'assistant', content: answer });
}
assert.ok(firstTruncated >= 2 && firstTruncated <= 4, `truncation first reported at turn ${firstTruncated}`);
assert.ok(errorTurn >= 2 && errorTurn <= 8, `--context-policy error never refused (${errorTurn})`);
console.log(`openai client: 8 turns answered; truncation reported from turn ${firstTruncated}; ` +
            `--context-policy error refuses from turn ${errorTurn}`);
})().catch((e) => { console.error(e); process.exit(1); });
JS
timeout 60 node "$tmp/client.js" "$BASE" "$ERR_BASE" "$IM_END" "$EOT"
kill -TERM "$ERR_PID"; wait "$ERR_PID"; ERR_PID=

if [ ! -x /usr/bin/chromium ] || ! (need_node_pkgs playwright-core) >/dev/null; then
  stop_server
  echo "chromium or playwright-core missing: browser part skipped"; exit 77
fi
need_node_pkgs playwright-core
cat > "$tmp/browser.js" <<'JS'
const chromium = require(`${process.env.CF_SOURCE_DIR}/tests/scripts/lib/chromium.js`);
const assert = require('node:assert/strict');
const [base, tmp] = process.argv.slice(2);
(async () => {
  const { browser, page, errors } = await chromium.open(`${tmp}/profile`, { width: 1100, height: 900 });
  try {
    const sent = [];  // the bodies the page posts
    page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) sent.push(JSON.parse(r.postData())); });
    await page.goto(base + '/');
    await page.waitForFunction(() => document.getElementById('model').textContent.includes('model'));
    await page.click('#settings-toggle');
    await page.fill('#seed', '5');
    await page.fill('#temperature', '0.7');  // sampled (the page starts greedy): varied answers, seed 5
    const say = async (text) => {
      const before = await page.locator('.msg.assistant').count();
      await page.fill('#input', text);
      await page.click('#send');
      await page.waitForFunction((n) => document.querySelectorAll('.msg.assistant:not(.streaming)').length === n + 1 &&
        !document.querySelector('.msg.assistant.streaming'), before, { timeout: 20000 });
      return page.locator('.msg.assistant').nth(before);
    };
    const lines = ['Hello, how are you today? The weather is nice.', '你好，今天天气很好。我们一起去公园散步吧。',
      'I am fine, thank you. How are you today?', '谢谢你的帮助！今天天气很好吗？', 'The weather is nice. Hello again, how are you?',
      '我们一起去公园散步吧。你好！', 'Thank you. I am fine, how are you today?', '今天天气很好。谢谢你的帮助！'];
    let truncatedNotes = 0;
    for (let i = 0; i < lines.length; i++) {
      const bubble = await say(lines[i]);
      const cls = await bubble.getAttribute('class');
      assert.ok(cls.includes('done') && !cls.includes('failed'), `turn ${i + 1}: ${cls}`);
      assert.equal(await bubble.locator('.error').count(), 0, `turn ${i + 1} shows an error`);
      const text = (await bubble.locator('.body').textContent()).trim();
      assert.ok(text.length > 0, `turn ${i + 1}: blank bubble`);  // an empty answer reads "(empty answer)"
      truncatedNotes += await bubble.locator('.note.truncated').count();
    }
    assert.ok(truncatedNotes >= 1, 'no turn says that earlier messages were left out');
    assert.equal(sent.length, 8);
    assert.equal(sent[7].messages.length, 15, 'the page sends the whole history; the server truncates');
    await page.screenshot({ path: `${tmp}/long_chat.png`, fullPage: true });

    // a question longer than the whole context: the API's 400 in place of the answer
    const huge = 'The weather is nice today. '.repeat(60);
    const failed = await say(huge);
    assert.ok((await failed.getAttribute('class')).includes('failed'));
    const shown = await failed.locator('.error').textContent();
    assert.match(shown, /maximum context length is 128 tokens/);
    assert.equal(await failed.locator('.actions').count(), 0, 'a failed turn has no rating buttons');
    assert.equal(await page.locator('.msg.user.failed').count(), 1);
    // the chat recovers: the next turn is answered and the failed question is not sent again
    const next = await say('Hello again, how are you today?');
    assert.ok((await next.getAttribute('class')).includes('done'));
    assert.equal(await next.locator('.error').count(), 0);
    const last = sent[sent.length - 1].messages;
    assert.ok(!last.some((m) => m.content === huge), 'the failed question was sent again');
    assert.equal(last[last.length - 1].content, 'Hello again, how are you today?');
    assert.equal(last[last.length - 2].role, 'assistant');
    // the failed turn and its error survive a reload, still left out
    await page.reload();
    await page.waitForSelector('.msg.assistant.failed .error');
    assert.equal(await page.locator('.msg.assistant.done').count(), 9);
    // an empty answer is a note, not a blank bubble
    const empty = await page.evaluate(() => { const v = messageView({ role: 'assistant', content: '' });
      return { note: v.querySelector('.body .note')?.textContent, done: v.classList.contains('done') }; });
    assert.deepEqual(empty, { note: '(empty answer)', done: true });
    await page.screenshot({ path: `${tmp}/recovered.png`, fullPage: true });
    assert.deepEqual(errors, []);
    console.log(`browser: 8 turns answered (${truncatedNotes} with a truncation note), an error shown in place, then recovered`);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
JS
timeout 90 node "$tmp/browser.js" "$BASE" "$tmp"
stop_server
echo "screenshots: $tmp/long_chat.png $tmp/recovered.png"
echo "serve_long_chat: OK"
