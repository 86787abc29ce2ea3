// Load driver for `chatforge serve` (used by tests/scripts/serve_load.sh and
// scripts/bench/serve.sh): C concurrent streaming chat clients for S seconds. Each
// stream must end with a finish_reason and "data: [DONE]" or be refused with 429/503 +
// Retry-After; every K-th request disconnects after its first token (the slot must free).
// Samples the server's RSS each second. Prints one JSON summary line.
// usage: node serve_load.mjs BASE CLIENTS SECONDS MAX_TOKENS SERVER_PID [ABORT_EVERY] [LOGIT_BIAS_JSON]
import fs from 'node:fs';
const [base, clientsS, secondsS, maxTokS, pidS, abortEveryS = '0', biasS = '{}'] = process.argv.slice(2);
const clients = Number(clientsS), seconds = Number(secondsS), maxTokens = Number(maxTokS), pid = Number(pidS);
const abortEvery = Number(abortEveryS), logitBias = JSON.parse(biasS);
const stats = { requests: 0, complete: 0, aborted: 0, refused: 0, refused_without_retry_after: 0, status5xx: 0,
  other_status: 0, incomplete: 0, tokens: 0, chunks: 0, first_token_ms: [] };
const rss = [];
const rssOf = () => { try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return 0; } };
const sampler = setInterval(() => rss.push(rssOf()), 1000);
const deadline = Date.now() + seconds * 1000;
let counter = 0;

async function one(id) {
  const n = ++counter;
  const abort = abortEvery > 0 && n % abortEvery === 0;
  const ctl = new AbortController();
  const t0 = Date.now();
  stats.requests++;
  let r;
  try {
    r = await fetch(base + '/v1/chat/completions', { method: 'POST', signal: ctl.signal, headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ model: 'model', stream: true, max_tokens: maxTokens, temperature: 0.8, seed: n, logit_bias: logitBias,
        stream_options: { include_usage: true }, messages: [{ role: 'user', content: `Hello number ${n}, how are you? 你好` }] }) });
  } catch (e) { stats.incomplete++; return; }
  if (r.status === 429 || r.status === 503) {
    if (!r.headers.get('retry-after')) stats.refused_without_retry_after++;
    stats.refused++; await r.text(); await new Promise((res) => setTimeout(res, 100 + 50 * Math.random())); return;
  }
  if (r.status >= 500) { stats.status5xx++; await r.text(); return; }
  if (r.status !== 200) { stats.other_status++; await r.text(); return; }
  const reader = r.body.getReader(); const dec = new TextDecoder(); let buf = '', done = false, finish = false, first = true;
  try {
    for (;;) {
      const { value, done: end } = await reader.read(); if (end) break;
      buf += dec.decode(value, { stream: true });
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const ev = buf.slice(0, cut); buf = buf.slice(cut + 2);
        if (!ev.startsWith('data: ')) continue;
        const data = ev.slice(6);
        if (data === '[DONE]') { done = true; continue; }
        const j = JSON.parse(data);
        if (j.error) { stats.status5xx++; continue; }
        stats.chunks++;
        if (j.usage) stats.tokens += j.usage.completion_tokens;
        for (const c of j.choices) {
          if (c.delta?.content && first) { first = false; stats.first_token_ms.push(Date.now() - t0);
            if (abort) { ctl.abort(); stats.aborted++; return; } }
          if (c.finish_reason) finish = true;
        }
      }
    }
  } catch (e) { if (abort) return; stats.incomplete++; return; }
  if (done && finish) stats.complete++; else stats.incomplete++;
}

async function client(id) { while (Date.now() < deadline) await one(id); }
const t0 = Date.now();
await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
const wall = (Date.now() - t0) / 1000;
clearInterval(sampler);
rss.push(rssOf());
const ft = stats.first_token_ms.sort((a, b) => a - b);
const half = Math.floor(rss.length / 2);
const summary = { ...stats, first_token_ms: undefined, wall_s: wall, tokens_per_s: stats.tokens / wall,
  first_token_p50_ms: ft[Math.floor(ft.length / 2)] ?? null, first_token_p95_ms: ft[Math.floor(ft.length * 0.95)] ?? null,
  rss_kb_first_half_max: Math.max(...rss.slice(0, Math.max(1, half))), rss_kb_second_half_max: Math.max(...rss.slice(half)),
  rss_kb_samples: rss.length };
console.log(JSON.stringify(summary));
