// llama.cpp (node-llama-cpp's prebuilt CPU build) and @huggingface/gguf as real clients
// of chatforge's GGUF export. Reads a JSON job from argv[2]:
//   {files: {f32: path, ...}, prompts: [{text, ids, continuation}], tokenize: [{text, ids}],
//    specials: {"<|im_start|>": id, ...}, expect: {n_layer, n_embd, n_head, n_ctx, vocab}}
// and prints one JSON result line per file with the tokenizer and greedy agreement.
import fs from 'fs';
import { gguf } from '@huggingface/gguf';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// 1. @huggingface/gguf parses every file: metadata and tensor shapes (ggml order).
const E = job.expect;
for (const [type, path] of Object.entries(job.files)) {
  const { metadata, tensorInfos } = await gguf(path, { allowLocalFile: true });
  const want = {
    'general.architecture': 'gpt2', 'gpt2.block_count': E.n_layer, 'gpt2.embedding_length': E.n_embd,
    'gpt2.attention.head_count': E.n_head, 'gpt2.context_length': E.n_ctx, 'gpt2.feed_forward_length': 4 * E.n_embd,
    'tokenizer.ggml.model': 'gpt2', 'tokenizer.ggml.pre': 'gpt-2', 'tokenizer.ggml.bos_token_id': E.eot,
    'tokenizer.ggml.eos_token_id': E.eot, version: 3,
  };
  for (const [k, v] of Object.entries(want))
    if (Number(metadata[k]) !== v && metadata[k] !== v) fail(`${type}: metadata ${k} = ${metadata[k]}, expected ${v}`);
  if (Math.abs(metadata['gpt2.attention.layer_norm_epsilon'] - 1e-5) > 1e-9) fail(`${type}: layer_norm_epsilon`);
  if (metadata['tokenizer.ggml.tokens'].length !== E.vocab) fail(`${type}: ${metadata['tokenizer.ggml.tokens'].length} tokens`);
  if ('<|im_start|>' in job.specials && !(metadata['tokenizer.chat_template'] ?? '').includes('<|im_start|>'))
    fail(`${type}: no chat template`);
  for (const [sp, id] of Object.entries(job.specials)) {
    if (metadata['tokenizer.ggml.tokens'][id] !== sp) fail(`${type}: token ${id} is not ${sp}`);
    if (metadata['tokenizer.ggml.token_type'][id] !== 3) fail(`${type}: ${sp} is not a control token`);
  }
  const shapes = Object.fromEntries(tensorInfos.map((t) => [t.name, t.shape.map(Number)]));
  const wantShapes = {
    'token_embd.weight': [E.n_embd, E.vocab], 'position_embd.weight': [E.n_embd, E.n_ctx],
    'blk.0.attn_qkv.weight': [E.n_embd, 3 * E.n_embd], 'blk.0.attn_qkv.bias': [3 * E.n_embd],
    'blk.0.attn_output.weight': [E.n_embd, E.n_embd], 'blk.0.ffn_up.weight': [E.n_embd, 4 * E.n_embd],
    [`blk.${E.n_layer - 1}.ffn_down.weight`]: [4 * E.n_embd, E.n_embd], 'output_norm.bias': [E.n_embd],
  };
  for (const [n, s] of Object.entries(wantShapes))
    if (!shapes[n] || !eq(shapes[n], s)) fail(`${type}: tensor ${n} has shape ${shapes[n]}, expected ${s}`);
  if (tensorInfos.length !== 2 + 12 * E.n_layer + 2) fail(`${type}: ${tensorInfos.length} tensors`);
  const dtypes = [...new Set(tensorInfos.map((t) => t.dtype))].sort();
  console.log(`@huggingface/gguf ${type}: gguf v${metadata.version}, ${Object.keys(metadata).length} keys, ` +
              `${tensorInfos.length} tensors, ggml types ${dtypes.join(',')}, token_embd ${shapes['token_embd.weight']}`);
}

// 2. llama.cpp loads each file, tokenizes like chatforge and continues greedily.
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
const N = job.prompts.length ? job.prompts[0].continuation.length : 0;
for (const [type, path] of Object.entries(job.files)) {
  const model = await llama.loadModel({ modelPath: path });
  for (const t of job.tokenize) {
    const got = Array.from(model.tokenize(t.text, false));
    if (!eq(got, t.ids)) fail(`${type}: llama.cpp tokenizes ${JSON.stringify(t.text.slice(0, 40))} as ` +
                              `${got.slice(0, 20)}..., chatforge as ${t.ids.slice(0, 20)}...`);
  }
  for (const [sp, id] of Object.entries(job.specials)) {
    const got = Array.from(model.tokenize(sp, true));
    if (!eq(got, [id])) fail(`${type}: llama.cpp tokenizes special ${sp} as ${got}, expected ${id}`);
  }
  console.log(`llama.cpp ${type}: tokenizes ${job.tokenize.length} test texts and ` +
              `${Object.keys(job.specials).length} special tokens exactly as chatforge`);
  if (!job.prompts.length) { await model.dispose(); continue; }
  const context = await model.createContext({ contextSize: E.n_ctx, sequences: 1, threads: 1 });
  let exact = 0, agree = 0;
  const outs = [];
  for (const p of job.prompts) {
    const seq = context.getSequence();
    const got = [];
    for await (const tok of seq.evaluate(p.ids, { temperature: 0 })) {
      got.push(tok);
      if (got.length >= N) break;
    }
    await seq.clearHistory();
    seq.dispose();
    let k = 0;
    while (k < N && got[k] === p.continuation[k]) ++k;  // agreement up to the first difference
    agree += k / N;
    if (k === N) ++exact;
    outs.push(got);
  }
  await context.dispose();
  await model.dispose();
  console.log(JSON.stringify({ type, prompts: job.prompts.length, exact, agreement: agree / job.prompts.length, outs }));
}
