// llama.cpp's side of `scripts/bench.sh decode`: the same measurements as bench_decode, on
// a GGUF file, through node-llama-cpp 3.21.1 (its prebuilt CPU llama.cpp).
// Usage: node decode_llama.mjs FILE.gguf THREADS PROMPT NEW BATCH [CTX]   (BATCH 0: no batch run)
// batch 1: a PROMPT-token prefill, then NEW tokens greedily (the first comes from the
// prefill; NEW - 1 decode steps are timed), best of 2; prefill timed on its own
// (evaluateWithoutGeneratingNewTokens). batch B: B sequences of one context, each with a
// 16-token prompt, decoded concurrently (node-llama-cpp puts the pending tokens of all
// sequences into one llama_decode batch); tokens/s over all sequences.
// Prompt ids as bench_decode makes them: (i * 7919 + seed * 104729) % 50257 (every model here has V >= 50257).
// Prints one line: LLAMA decode_tok_s=.. prefill_tok_s=.. batch_tok_s=.. (0 without a batch run)
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const [file, threadsArg, promptArg, newArg, batchArg, ctxArg] = process.argv.slice(2);
const threads = Number(threadsArg), P = Number(promptArg), NEW = Number(newArg), B = Number(batchArg);
const CTX = Number(ctxArg ?? 1024);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: threads });
const model = await llama.loadModel({ modelPath: file });
const ids = (len, seed) => Array.from({ length: len }, (_, i) => (i * 7919 + seed * 104729) % 50257);
const now = () => Number(process.hrtime.bigint()) / 1e9;

let decode = 0, prefill = 0;
{
  const ctx = await model.createContext({ contextSize: CTX, sequences: 1, threads: { ideal: threads, min: threads },
                                          batchSize: 512 });
  const seq = ctx.getSequence();
  await seq.evaluateWithoutGeneratingNewTokens(ids(8, 0));  // warm-up
  await seq.clearHistory();
  for (let rep = 0; rep < 2; ++rep) {
    let t0 = now();
    await seq.evaluateWithoutGeneratingNewTokens(ids(P, rep + 1));
    prefill = Math.max(prefill, P / (now() - t0));
    await seq.clearHistory();
    const gen = seq.evaluate(ids(P, rep + 1), { temperature: 0 });
    await gen.next();  // prefill + first token
    t0 = now();
    for (let i = 1; i < NEW; ++i) await gen.next();
    decode = Math.max(decode, (NEW - 1) / (now() - t0));
    await gen.return();
    await seq.clearHistory();
  }
  seq.dispose();
  await ctx.dispose();
}
let batched = 0;
if (B > 0) {
  const ctx = await model.createContext({ contextSize: CTX, sequences: B, threads: { ideal: threads, min: threads },
                                          batchSize: 512 });
  const gens = [];
  for (let b = 0; b < B; ++b) gens.push(ctx.getSequence().evaluate(ids(16, 10 + b), { temperature: 0 }));
  await Promise.all(gens.map((g) => g.next()));  // the prefills
  const t0 = now();
  await Promise.all(gens.map(async (g) => { for (let i = 1; i < NEW; ++i) await g.next(); }));
  batched = (B * (NEW - 1)) / (now() - t0);
  await Promise.all(gens.map((g) => g.return()));
  await ctx.dispose();
}
await model.dispose();
console.log(`LLAMA decode_tok_s=${decode.toFixed(1)} prefill_tok_s=${prefill.toFixed(1)} batch_tok_s=${batched.toFixed(1)}`);
