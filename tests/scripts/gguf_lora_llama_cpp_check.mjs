// llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU build) applies chatforge's LoRA adapter
// GGUFs on top of their base GGUFs. Reads a JSON job from argv[2]:
//   {cases: [{name, base: path, prompts: [[ids]], runs: [{what, adapter: path|null, scale,
//             want: [[ids]], forced_only, margins: [[chatforge's top-2 logit margins]]}]}]}
// For each run a fresh model with a context carrying the adapter at `scale` continues each
// prompt greedily; the free-running tokens must equal `want` (unless forced_only), and
// llama.cpp's greedy choice after each prefix of `want` (teacher-forced) must equal the next
// token of `want` in every run (forced_only runs: except where chatforge's margin is below
// NEAR_TIE, a rounding's flip). Exit 1 on any other difference.
import fs from 'fs';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const NEAR_TIE = 0.05;
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
let failed = false;
const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
for (const c of job.cases) {
  for (const r of c.runs) {
    const what = `${c.name} ${r.what}`;
    const model = await llama.loadModel({ modelPath: c.base });
    const lora = r.adapter ? { adapters: [{ filePath: r.adapter, scale: r.scale }] } : undefined;
    const context = await model.createContext({ contextSize: 128, sequences: 1, threads: 1, lora });
    let exact = 0, forcedOk = 0, total = 0;
    for (const [i, ids] of c.prompts.entries()) {
      const want = r.want[i];
      const seq = context.getSequence();
      const got = [];
      for await (const tok of seq.evaluate(ids, { temperature: 0 })) {
        got.push(tok);
        if (got.length >= want.length) break;
      }
      await seq.clearHistory();
      const input = [...ids, ...want.slice(0, -1)];
      const greedy = { generateNext: { token: true, options: { temperature: 0 } } };
      const res = await seq.controlledEvaluate(input.map((t, k) => (k >= ids.length - 1 ? [t, greedy] : t)));
      const forced = res.slice(ids.length - 1).map((x) => x?.next?.token ?? -1);
      await seq.clearHistory();
      seq.dispose();
      total += want.length;
      forced.forEach((t, k) => {
        if (t === want[k]) { forcedOk++; return; }
        const m = r.margins ? r.margins[i][k] : Infinity;
        console.log(`  ${what}: prompt ${i}, after ${k} tokens llama.cpp picks ${t}, chatforge ${want[k]}` +
                    (r.margins ? ` (top-2 logit margin ${m.toFixed(4)})` : ''));
        if (!(r.forced_only && m < NEAR_TIE)) {
          console.error(`FAIL: ${what}: a teacher-forced difference away from a near-tie`);
          failed = true;
        }
      });
      if (eq(got, want)) exact++;
      else if (!r.forced_only) {
        console.error(`FAIL: ${what}: prompt ${i}: llama.cpp continues ${got}, chatforge ${want}`);
        failed = true;
      }
    }
    console.log(`llama.cpp ${what}: ${exact}/${c.prompts.length} prompts continue exactly as chatforge; ` +
                `teacher-forced ${forcedOk}/${total} tokens equal`);
    await context.dispose();
    await model.dispose();
  }
}
process.exit(failed ? 1 : 0);
