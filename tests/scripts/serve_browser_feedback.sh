#!/usr/bin/env bash
# The web page's preference feedback in headless Chromium (playwright-core + Debian
# chromium), clicked as a user would: ask a question, press Regenerate on the answer, see
# both answers side by side under "Which is better?", pick the regenerated one (it then
# stands in the conversation); ask a second question, press Edit on its answer, type a
# better one and save; ask a third and check the conversation the page sends carries the
# picked and the edited texts. Then `feedback export --format preference` must give exactly
# those two pairs (chosen = picked / edited, rejected = the other / the original), led by
# the server's --system prompt, `--format kto` the four rows, and `data prefs` takes both.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_browser_feedback"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
[ -x /usr/bin/chromium ] || { echo "chromium not installed: skipped"; exit 77; }
need_node_pkgs playwright-core
make_chat_model "$tmp"
trap 'stop_server || true' EXIT
system="You are the browser test's assistant."
start_server "$tmp/server.log" --model "$tmp/model" --db "$tmp/feedback.sqlite" --model-name tiny-chat --system "$system"

cat > "$tmp/browser.js" <<'JS'
const chromium = require(`${process.env.CF_SOURCE_DIR}/tests/scripts/lib/chromium.js`);
const assert = require('node:assert/strict');
const fs = require('node:fs');
const [base, tmp] = process.argv.slice(2);
(async () => {
  const { browser, page, errors } = await chromium.open(`${tmp}/profile`, { width: 1100, height: 800 });
  try {
    const sent = [], feedback = [];  // the bodies the page posts
    page.on('request', (r) => {
      if (r.url().endsWith('/v1/chat/completions')) sent.push(JSON.parse(r.postData()));
      if (r.url().endsWith('/v1/feedback')) feedback.push(JSON.parse(r.postData()));
    });
    await page.goto(base + '/');
    await page.waitForFunction(() => document.getElementById('model').textContent === 'tiny-chat');
    await page.click('#settings-toggle');
    await page.fill('#max_tokens', '16');
    await page.click('#settings-toggle');
    const ask = async (text, n) => {
      await page.fill('#input', text);
      await page.click('#send');
      await page.waitForFunction((k) => document.querySelectorAll('.msg.assistant.done').length === k, n, { timeout: 60000 });
    };
    const q1 = 'How much does the X2 cost?', q2 = 'Tell me about the weather.', q3 = 'Thanks!';
    await ask(q1, 1);
    const first = await page.evaluate(() => ({ ...current.messages[1] }));
    assert.ok(Number.isInteger(first.message_id), 'the answer has no message_id (is --db set?)');

    // Regenerate: a second answer beside the first (again if the sample repeats the first)
    const answer1 = page.locator('.msg.assistant').nth(0);
    for (let i = 0; ; i++) {
      await answer1.locator('.regenerate').click();
      await page.waitForSelector('.compare .question');
      if (await page.locator('.compare .pick').count() === 2) break;
      assert.ok(i < 5, 'regenerate keeps giving the same answer');
    }
    assert.equal(await page.textContent('.compare .question'), 'Which is better?');
    const regen = sent[sent.length - 1];
    assert.deepEqual(regen.messages, [{ role: 'user', content: q1 }], 'regenerate asks with the same messages');
    assert.equal(regen.conversation_id, sent[0].conversation_id);
    assert.ok(regen.temperature > 0, 'regenerate samples (a greedy answer would repeat)');
    const second = await page.evaluate(() => ({ ...current.messages[1].compare }));
    assert.notEqual(second.content, first.content);
    // side by side on a wide screen
    const [boxA, boxB] = await Promise.all([page.locator('.compare .first').boundingBox(), page.locator('.compare .second').boundingBox()]);
    assert.ok(boxB.x > boxA.x + boxA.width - 1 && Math.abs(boxA.y - boxB.y) < 2, 'the two answers are not side by side');
    await page.screenshot({ path: `${tmp}/compare.png`, fullPage: true });
    // pick the regenerated one
    await page.locator('.compare .second .pick').click();
    await page.waitForSelector('.picked-note');
    assert.equal(await page.locator('.compare').count(), 0);
    const picked = await page.evaluate(() => ({ ...current.messages[1] }));
    assert.equal(picked.content, second.content, 'the picked answer stands in the conversation');
    assert.equal(picked.message_id, second.message_id);
    assert.deepEqual(feedback[feedback.length - 1], { kind: 'pair', chosen_id: second.message_id, rejected_id: first.message_id });

    // Edit the second question's answer (sampled: a random-weight model's greedy answer is often empty)
    await page.click('#settings-toggle');
    await page.fill('#temperature', '1');
    await page.click('#settings-toggle');
    await ask(q2, 2);
    const original = await page.evaluate(() => current.messages[3].content);
    const answer2 = page.locator('.msg.assistant').nth(1);
    await answer2.locator('.edit').click();
    const edited = 'It is sunny and warm today. 今天晴天，很暖和。';
    await answer2.locator('.edit-text').fill(edited);
    await answer2.locator('.save-edit').click();
    await page.waitForSelector('.edited-note');
    assert.equal(await page.evaluate(() => current.messages[3].content), edited);
    assert.equal(await answer2.locator('.body').textContent(), edited);
    await page.screenshot({ path: `${tmp}/edited.png`, fullPage: true });

    // the conversation goes on with the picked and the edited answers
    await ask(q3, 3);
    assert.deepEqual(sent[sent.length - 1].messages, [
      { role: 'user', content: q1 }, { role: 'assistant', content: second.content },
      { role: 'user', content: q2 }, { role: 'assistant', content: edited }, { role: 'user', content: q3 }]);
    // phone width: the two answers of a comparison are stacked, nothing overflows
    await page.locator('.msg.assistant').nth(2).locator('.regenerate').click();
    await page.waitForSelector('.compare .question');
    await page.setViewportSize({ width: 375, height: 700 });
    await page.waitForTimeout(300);
    if (await page.locator('.compare .pick').count() === 2) {
      const [a, b] = await Promise.all([page.locator('.compare .first').boundingBox(), page.locator('.compare .second').boundingBox()]);
      assert.ok(b.y >= a.y + a.height - 1, 'the two answers are not stacked on a phone');
    }
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page overflows a phone screen by ${overflow}px`);
    await page.screenshot({ path: `${tmp}/phone-compare.png`, fullPage: true });
    assert.deepEqual(errors, []);
    fs.writeFileSync(`${tmp}/expected.json`, JSON.stringify({ q1, q2, first: first.content, second: second.content, original, edited }));
    console.log('browser: regenerated, picked, edited');
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e); process.exit(1); });
JS
timeout 180 node "$tmp/browser.js" "$BASE" "$tmp"
stop_server
"$CHATFORGE" feedback export --db "$tmp/feedback.sqlite" --format preference --out "$tmp/pairs.jsonl"
"$CHATFORGE" feedback export --db "$tmp/feedback.sqlite" --format kto --out "$tmp/kto.jsonl"
/usr/bin/python3 - "$tmp" "$system" <<'PY'
import json, sqlite3, sys
tmp, system = sys.argv[1:]
x = json.load(open(f"{tmp}/expected.json", encoding="utf-8"))
sys_msg = {"role": "system", "content": system}
p1 = [sys_msg, {"role": "user", "content": x["q1"]}]
p2 = p1 + [{"role": "assistant", "content": x["second"]}, {"role": "user", "content": x["q2"]}]
pairs = [json.loads(l) for l in open(f"{tmp}/pairs.jsonl", encoding="utf-8")]
assert pairs == [{"prompt": p1, "chosen": x["second"], "rejected": x["first"]},
                 {"prompt": p2, "chosen": x["edited"], "rejected": x["original"]}], pairs
kto = [json.loads(l) for l in open(f"{tmp}/kto.jsonl", encoding="utf-8")]
assert [(k["completion"], k["label"]) for k in kto] == [(x["second"], True), (x["first"], False),
                                                         (x["edited"], True), (x["original"], False)], kto
# the transcript: each question once (regenerating added an answer, not the question again)
db = sqlite3.connect(f"{tmp}/feedback.sqlite")
users = [u for (u,) in db.execute("SELECT content FROM messages WHERE role = 'user' ORDER BY id")]
assert users == [x["q1"], x["q2"], "Thanks!"], users
print("export: the compared pair and the edit, as clicked")
PY
"$CHATFORGE" data prefs --tokenizer "$tmp/model" --input "$tmp/pairs.jsonl" --val-fraction 0 --out "$tmp/prefs" | tee "$tmp/prefs.txt"
grep -q 'read 2, train rows 2, val rows 0, skipped 0' "$tmp/prefs.txt" || { echo "FAIL: data prefs" >&2; exit 1; }
"$CHATFORGE" data prefs --kind kto --tokenizer "$tmp/model" --input "$tmp/kto.jsonl" --val-fraction 0 --out "$tmp/prefs_kto" | tee "$tmp/prefs_kto.txt"
grep -q 'read 4, train rows 4, val rows 0, skipped 0' "$tmp/prefs_kto.txt" || { echo "FAIL: data prefs --kind kto" >&2; exit 1; }
echo "screenshots: $tmp/compare.png $tmp/edited.png $tmp/phone-compare.png"
echo "serve_browser_feedback: OK"
