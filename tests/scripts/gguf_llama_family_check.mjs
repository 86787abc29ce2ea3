// llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU build) and @huggingface/gguf as real
// clients of chatforge's GGUF export of the Llama family. Reads a JSON job from argv[2]:
//   {cases: [{name, files: {f32: path, q8_0: path}, meta: {key: value}, absent: [key],
//             tensors: {name: [ne0, ne1]}, n_tensors, dtypes: {type: {tensor: ggml type}},
//             token_types: {id: type}, tokenize: [{text, ids, special}],
//             prompts: [{ids, continuation: {type: [ids]}}], n_ctx}]}
// Fails (exit 1) on any metadata, tensor or tokenization difference; prints one JSON line
// per file with llama.cpp's greedy continuations (`outs`, free running) and its greedy
// choice after each prefix of chatforge's continuation (`forced`, teacher-forced: one
// near-tie flip does not hide the agreement on the tokens after it) for the caller to compare.
import fs from 'fs';
import { gguf } from '@huggingface/gguf';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const fail = (msg) => { console.error('FAIL: ' + msg); process.exit(1); };
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const same = (got, want) => typeof want === 'number'
  ? Math.abs(Number(got) - want) <= 1e-6 * Math.max(1, Math.abs(want)) : got === want;

// 1. @huggingface/gguf parses every file: metadata, tensor shapes (ggml order) and types.
for (const c of job.cases) {
  for (const [type, path] of Object.entries(c.files)) {
    const what = `${c.name} ${type}`;
    const { metadata, tensorInfos } = await gguf(path, { allowLocalFile: true });
    for (const [k, v] of Object.entries({ ...c.meta, 'general.file_type': c.file_types[type] }))
      if (!same(metadata[k], v)) fail(`${what}: metadata ${k} = ${JSON.stringify(metadata[k])}, expected ${JSON.stringify(v)}`);
    for (const k of c.absent) if (k in metadata) fail(`${what}: unexpected metadata ${k}`);
    for (const [id, t] of Object.entries(c.token_types))
      if (metadata['tokenizer.ggml.token_type'][id] !== t)
        fail(`${what}: token ${id} (${metadata['tokenizer.ggml.tokens'][id]}) has type ${metadata['tokenizer.ggml.token_type'][id]}, expected ${t}`);
    const infos = Object.fromEntries(tensorInfos.map((t) => [t.name, t]));
    for (const [n, s] of Object.entries(c.tensors))
      if (!infos[n] || !eq(infos[n].shape.map(Number), s)) fail(`${what}: tensor ${n} has shape ${infos[n]?.shape}, expected ${s}`);
    for (const [n, d] of Object.entries(c.dtypes[type]))
      if (!infos[n] || infos[n].dtype !== d) fail(`${what}: tensor ${n} has ggml type ${infos[n]?.dtype}, expected ${d}`);
    if (metadata['tokenizer.ggml.tokens'].length !== c.n_vocab) fail(`${what}: ${metadata['tokenizer.ggml.tokens'].length} tokens, expected ${c.n_vocab}`);
    if (tensorInfos.length !== c.n_tensors) fail(`${what}: ${tensorInfos.length} tensors, expected ${c.n_tensors}`);
    console.log(`@huggingface/gguf ${what}: ${Object.keys(metadata).length} keys, ${tensorInfos.length} tensors as expected`);
  }
}

// 2. llama.cpp loads each file, tokenizes like chatforge and continues greedily.
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
for (const c of job.cases) {
  for (const [type, path] of Object.entries(c.files)) {
    const what = `${c.name} ${type}`;
    const model = await llama.loadModel({ modelPath: path });
    for (const t of c.tokenize) {
      const got = Array.from(model.tokenize(t.text, t.special));
      if (!eq(got, t.ids)) fail(`${what}: llama.cpp tokenizes ${JSON.stringify(t.text.slice(0, 50))} as ` +
                                `${got.slice(0, 24)}, chatforge as ${t.ids.slice(0, 24)}`);
    }
    const context = await model.createContext({ contextSize: c.n_ctx, sequences: 1, threads: 1 });
    const outs = [], forced = [];
    for (const p of c.prompts) {
      const want = p.continuation[type];
      const seq = context.getSequence();
      const got = [];
      for await (const tok of seq.evaluate(p.ids, { temperature: 0 })) {
        got.push(tok);
        if (got.length >= want.length) break;
      }
      await seq.clearHistory();
      const input = [...p.ids, ...want.slice(0, -1)];
      const greedy = { generateNext: { token: true, options: { temperature: 0 } } };
      const res = await seq.controlledEvaluate(input.map((t, i) => (i >= p.ids.length - 1 ? [t, greedy] : t)));
      forced.push(res.slice(p.ids.length - 1).map((r) => r?.next?.token ?? -1));
      await seq.clearHistory();
      seq.dispose();
      outs.push(got);
    }
    await context.dispose();
    await model.dispose();
    console.log(`llama.cpp ${what}: tokenizes ${c.tokenize.length} texts exactly as chatforge`);
    console.log(JSON.stringify({ case: c.name, type, outs, forced }));
  }
}
