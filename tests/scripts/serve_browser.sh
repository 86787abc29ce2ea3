#!/usr/bin/env bash
# The web chat page in headless Chromium (playwright-core + Debian chromium): open /; the
# label is the served model's name (--model-name, as /v1/models reports it), the empty chat
# welcomes with the --example questions, clicking one sends it (greedy: temperature 0 unless
# the settings change it) and shows the server's answer. Then, in a new chat: set a seed,
# send a message, watch the answer stream in (the text grows across frames), check model
# text is shown as text (a <script>/<img onerror> answer from the API does not run), rate
# the answer thumbs-down with a comment, and find that rating in SQLite, kept with the
# server's --system prompt the answer was generated with. Also: the stop button ends a long
# answer, and the page fits a phone-width screen. Screenshots are saved under the test's
# temp dir.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_browser"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
[ -x /usr/bin/chromium ] || { echo "chromium not installed: skipped"; exit 77; }
need_node_pkgs playwright-core
make_chat_model "$tmp" 6 384 1024  # ~2 ms a token: an answer spans many frames
trap 'stop_server || true' EXIT
system="You are the browser test's assistant."
start_server "$tmp/server.log" --model "$tmp/model" --parallel 2 --db "$tmp/feedback.sqlite" --model-name tiny-chat-2 \
  --system "$system" --example "How much does the X2 cost?" --example "你好，今天天气很好吗？"

cat > "$tmp/browser.js" <<'JS'
const chromium = require(`${process.env.CF_SOURCE_DIR}/tests/scripts/lib/chromium.js`);
const assert = require('node:assert/strict');
const [base, tmp] = process.argv.slice(2);
const model = 'tiny-chat-2';
const examples = ['How much does the X2 cost?', '你好，今天天气很好吗？'];
(async () => {
  // a new empty profile (playwright passes it as --user-data-dir)
  const { browser, page, errors } = await chromium.open(`${tmp}/profile`, { width: 1100, height: 800 });
  try {
    let dialogs = 0;
    page.on('dialog', (d) => { dialogs++; d.dismiss(); });
    // a random-weight model may end an answer at once: pick a seed whose answer is long
    // (asked through the API with exactly the request the page will send)
    const findSeed = async (messages, maxTokens, minTokens) => {
      for (let seed = 1; seed < 300; seed++) {
        const r = await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ model, messages, max_tokens: maxTokens, temperature: 0.9, top_p: 1, seed }) });
        const j = await r.json();
        if (!j.usage) throw new Error(JSON.stringify(j));
        if (j.usage.completion_tokens >= minTokens) return seed;
      }
      throw new Error('no seed gives a long answer');
    };
    const sent = [];  // the bodies the page posts
    page.on('request', (r) => { if (r.url().endsWith('/v1/chat/completions')) sent.push(JSON.parse(r.postData())); });
    const seed1 = await findSeed([{ role: 'user', content: 'Hello, how are you today? 你好！' }], 200, 150);
    await page.goto(base + '/');
    // the label is the served model's name, exactly what /v1/models reports
    const listed = (await (await fetch(base + '/v1/models')).json()).data.map((m) => m.id);
    assert.deepEqual(listed, [model]);
    await page.waitForFunction((m) => document.getElementById('model').textContent === m, model);
    // an empty chat: a welcome naming the model, with the --example questions as buttons
    await page.waitForSelector('.welcome .example');
    assert.equal(await page.textContent('.welcome h2'), `Chat with ${model}`);
    assert.deepEqual(await page.locator('.welcome .example').allTextContents(), examples);
    await page.screenshot({ path: `${tmp}/welcome.png` });
    // clicking one sends it, greedy (the settings untouched), and the answer is the server's
    await page.locator('.welcome .example').nth(1).click();
    await page.waitForSelector('.msg.assistant.done', { timeout: 60000 });
    assert.equal(await page.locator('.welcome').count(), 0, 'the welcome stays over a chat');
    assert.equal(await page.textContent('.msg.user .body'), examples[1]);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].temperature, 0, `the page sent temperature ${sent[0].temperature} by default`);
    assert.deepEqual(sent[0].messages, [{ role: 'user', content: examples[1] }]);
    const greedy = await (await fetch(base + '/v1/chat/completions', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model, messages: sent[0].messages, temperature: 0 }) })).json();
    // (the text the page received and keeps; on screen, Markdown may turn a '*' into emphasis)
    assert.equal(await page.evaluate(() => current.messages[1].content), greedy.choices[0].message.content);
    assert.equal(await page.locator('.msg.assistant.failed').count(), 0);

    // the rest in a new chat, which welcomes again
    await page.click('#new-chat');
    await page.waitForSelector('.welcome .example');
    // settings: fixed seed and enough tokens to see streaming
    await page.click('#settings-toggle');
    await page.fill('#seed', String(seed1));
    await page.fill('#max_tokens', '200');
    await page.fill('#temperature', '0.9');
    await page.fill('#input', 'Hello, how are you today? 你好！');
    // record the answer's length each time the page updates it while it streams
    await page.evaluate(() => {
      window.__lengths = [];
      new MutationObserver(() => { const a = document.querySelector('.msg.assistant.streaming .body');
        if (a) window.__lengths.push(a.textContent.length); }).observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
    });
    await page.click('#send');
    await page.waitForSelector('.msg.assistant.done', { timeout: 60000 });
    const lengths = await page.evaluate(() => window.__lengths);
    const distinct = new Set(lengths.filter((n) => n > 0));
    const answer = await page.textContent('.msg.assistant.done .body');
    // streamed: the page showed a part of the answer before all of it (a loaded machine may
    // deliver the tokens in as few as two network chunks, so two lengths are the minimum)
    assert.ok(distinct.size >= 2 && Math.min(...distinct) < answer.length,
              `answer did not stream: lengths ${JSON.stringify([...distinct])}, final ${answer.length}`);
    assert.ok(answer.trim().length > 0, 'empty answer');
    assert.equal(await page.textContent('.msg.user .body'), 'Hello, how are you today? 你好！');
    await page.screenshot({ path: `${tmp}/chat.png`, fullPage: true });

    // rate it: thumbs down with a comment
    await page.fill('.msg.assistant.done .comment', 'too vague 太模糊');
    await page.click('.msg.assistant.done .rate-down');
    await page.waitForFunction(() => document.querySelector('.msg.assistant.done .feedback-status').textContent === 'saved');

    // model text is never HTML: render a hostile answer through the page's own renderer
    const hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script> **bold** `code` [x](javascript:alert(3)) [ok](https://example.org)\n```\n<b>not bold</b>\n```';
    const rendered = await page.evaluate((t) => { const d = document.createElement('div'); renderMarkdown(d, t);
      document.body.appendChild(d); return { html: d.innerHTML, imgs: d.querySelectorAll('img,script').length,
      links: [...d.querySelectorAll('a')].map((a) => a.getAttribute('href')), strong: d.querySelector('strong')?.textContent,
      pre: d.querySelector('pre code')?.textContent }; }, hostile);
    assert.equal(rendered.imgs, 0, rendered.html);
    assert.deepEqual(rendered.links, ['https://example.org']);
    assert.equal(rendered.strong, 'bold');
    assert.equal(rendered.pre, '<b>not bold</b>');
    await page.waitForTimeout(200);
    assert.equal(dialogs, 0, 'an injected script ran');

    // stop button: a long answer ends early, the page is usable again
    await page.fill('#max_tokens', '300');
    const history = await page.evaluate(() => current.messages.map((m) => ({ role: m.role, content: m.content })));
    const seed2 = await findSeed([...history, { role: 'user', content: 'Tell me a long story.' }], 300, 100);
    await page.fill('#seed', String(seed2));
    await page.fill('#input', 'Tell me a long story.');
    // press Stop (as a user would) as soon as the answer shows a few characters
    await page.evaluate(() => {
      const obs = new MutationObserver(() => {
        const a = document.querySelector('.msg.assistant.streaming .body');
        if (a && a.textContent.length > 5 && !document.getElementById('stop').disabled) { obs.disconnect(); document.getElementById('stop').click(); }
      });
      obs.observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
    });
    await page.click('#send');
    await page.waitForFunction(() => document.querySelectorAll('.msg.assistant.done').length === 2);
    assert.equal(await page.isDisabled('#send'), false);
    assert.equal(sent[sent.length - 1].temperature, 0.9, 'a changed temperature is sent');
    const stopped = await page.evaluate(() => current.messages[3]);
    assert.ok(stopped.stopped && !stopped.finish_reason, 'the answer was stopped before it finished');

    // the conversation list survives a reload (localStorage)
    await page.reload();
    await page.waitForSelector('#conversations li');
    assert.equal(await page.locator('.msg').count(), 4);

    // phone width: no horizontal overflow, the composer stays visible
    await page.setViewportSize({ width: 375, height: 700 });
    await page.waitForTimeout(500);  // the conversation drawer slides away (0.2 s transition)
    const drawer = await page.evaluate(() => document.getElementById('sidebar').getBoundingClientRect().right);
    assert.ok(drawer <= 0, `the conversation drawer covers the phone screen (right edge ${drawer})`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page overflows a phone screen by ${overflow}px`);
    assert.ok(await page.isVisible('#send'));
    await page.screenshot({ path: `${tmp}/phone.png` });
    assert.deepEqual(errors, []);
    require('node:fs').writeFileSync(`${tmp}/answer.txt`, await page.evaluate(() => current.messages[1].content));
    require('node:fs').writeFileSync(`${tmp}/example.txt`, examples[1]);
    console.log(`browser: streamed ${distinct.size} distinct lengths; screenshots ${tmp}/chat.png ${tmp}/phone.png`);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
JS
timeout 180 node "$tmp/browser.js" "$BASE" "$tmp"
stop_server
# the rating is in SQLite, attached to the streamed answer
/usr/bin/python3 - "$tmp" "$system" <<'PY'
import sqlite3, sys
tmp, system = sys.argv[1], sys.argv[2]
db = sqlite3.connect(f"{tmp}/feedback.sqlite")
rows = db.execute("SELECT f.rating, f.comment, m.content, m.role, c.model, m.system_prompt FROM feedback f JOIN messages m "
                  "ON m.id = f.message_id JOIN conversations c ON c.id = m.conversation_id").fetchall()
assert len(rows) == 1, rows
rating, comment, content, role, model, used_system = rows[0]
assert (rating, comment, role, model) == (-1, "too vague 太模糊", "assistant", "tiny-chat-2"), rows
# the page sent no system message: the answer was generated with (and is kept with) --system
assert used_system == system, (used_system, system)
received = open(f"{tmp}/answer.txt", encoding="utf-8").read()  # the text the page received and kept
assert content == received, (content, received)
users = [u for (u,) in db.execute("SELECT content FROM messages WHERE role='user' ORDER BY id")]
example = open(f"{tmp}/example.txt", encoding="utf-8").read()
assert users[:2] == [example, "Hello, how are you today? 你好！"], users
print("browser rating found in SQLite:", rows[0][:2])
PY
echo "screenshots: $tmp/welcome.png $tmp/chat.png"
echo "serve_browser: OK"
