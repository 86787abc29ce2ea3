#!/usr/bin/env bash
# Several LoRA adapters on one base (`serve --lora NAME=DIR[:SCALE]`): two tiny SFT adapters
# teach different answers to the same question; the official `openai` npm client sends
# requests to both names and the base at once (Promise.all): each gets its adapter's answer,
# equal to `chatforge generate --lora` greedy output; /metrics shows passes that held
# several adapters (batched together, not one after another); /v1/models lists the base and
# both; an unknown name is the client's NotFoundError (404 model_not_found). Bad adapters
# (rank mismatch, another base shape, missing tensors, another architecture's names) and
# clashing names stop serve at startup with one-line errors.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_multi_lora"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_text_shards.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
need_node_pkgs openai
trap 'stop_server || true' EXIT

# a tokenizer with the chat tokens, a small pretrained GPT-2 base, two adapters
make_text_shards "$tmp"
"$CHATFORGE" tokenizer train --input "$tmp/train.jsonl" --vocab-size 320 --special-tokens '<|im_start|>' '<|im_end|>' \
  --out "$tmp/chat_tok" >/dev/null 2>&1
"$CHATFORGE" data tokenize --tokenizer "$tmp/chat_tok" --input "$tmp/train.jsonl" "$tmp/val.jsonl" \
  --out "$tmp/chat_shards" --no-progress >/dev/null 2>&1
"$CHATFORGE" train --data "$tmp/chat_shards" --n-layer 2 --n-head 2 --n-embd 64 --seq-len 32 --n-ctx 256 \
  --batch-size 8 --steps 60 --lr 5e-3 --eval-every 0 --no-progress --out "$tmp/base" 2>/dev/null
question="who sees the tall tree?"
declare -A answer=([tree]="the cat paints the red ball." [lake]="a small bird remembers a quiet river.")
for name in tree lake; do
  /usr/bin/python3 - "$tmp/$name.jsonl" "$question" "${answer[$name]}" <<'PY'
import json, sys
path, q, a = sys.argv[1:]
with open(path, "w") as f:
    for _ in range(64):
        f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}) + "\n")
PY
  "$CHATFORGE" data chat --tokenizer "$tmp/chat_tok" --input "$tmp/$name.jsonl" --val-fraction 0 \
    --out "$tmp/sft_$name" >/dev/null 2>&1
  "$CHATFORGE" train --stage sft --data "$tmp/sft_$name" --init "$tmp/base/last" --lora-rank 8 --lora-alpha 16 \
    --seq-len 64 --batch-size 8 --steps 100 --lr 1e-2 --eval-every 0 --no-progress --seed 5 --out "$tmp/run_$name" \
    2>"$tmp/train_$name.log"
done
cp -rL "$tmp/run_lake/last" "$tmp/lake"  # served by its folder's name

# greedy answers of `generate --lora` (the adapter merged into the weights) to the chat prompt
prompt=$'<|im_start|>user\n'"$question"$'<|im_end|>\n<|im_start|>assistant\n'
gen() { "$CHATFORGE" generate --model "$tmp/base/last" --tokenizer "$tmp/chat_tok" --allow-special --temperature 0 \
          --max-tokens 24 --quiet --prompt "$prompt" "$@" 2>/dev/null; }
want_tree=$(gen --lora "$tmp/run_tree/last")
want_lake=$(gen --lora "$tmp/lake:1")
want_base=$(gen)
echo "generate --lora: tree '$want_tree', lake '$want_lake', base '$want_base'"
[ "$want_tree" = "${answer[tree]}" ] || { echo "FAIL: the tree adapter did not learn its answer"; cat "$tmp/train_tree.log"; exit 1; }
[ "$want_lake" = "${answer[lake]}" ] || { echo "FAIL: the lake adapter did not learn its answer"; cat "$tmp/train_lake.log"; exit 1; }

start_server "$tmp/server.log" --model "$tmp/base/last" --tokenizer "$tmp/chat_tok" --model-name tiny --parallel 4 \
  --lora "tree=$tmp/run_tree/last" --lora "$tmp/lake:1"
grep -q "model tiny, LoRA tree, lake" "$tmp/server.log" || { cat "$tmp/server.log"; echo "FAIL: start line"; exit 1; }

cat > "$tmp/client.js" <<'JS'
const OpenAI = require('openai');
const assert = require('node:assert/strict');
(async () => {
const [base, question, wantTree, wantLake, wantBase, imEnd] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base + '/v1', apiKey: 'none', maxRetries: 0 });
const models = await client.models.list();
assert.deepEqual(models.data.map((m) => m.id), ['tiny', 'tree', 'lake']);
const messages = [{ role: 'user', content: question }];
const ask = (model, extra = {}) => client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 24, ...extra });
const metric = async (name) => {
  const text = await (await fetch(base + '/metrics')).text();
  return Number(text.match(new RegExp('^' + name + ' (\\d+)', 'm'))[1]);
};
// all at once: each answer is its adapter's (and the base's own), as generate --lora gives it
const [tree, lake, plain, tree2] = await Promise.all([ask('tree'), ask('lake'), ask('tiny'), ask('tree')]);
assert.equal(tree.choices[0].message.content, wantTree);
assert.equal(tree2.choices[0].message.content, wantTree);
assert.equal(lake.choices[0].message.content, wantLake);
assert.equal(plain.choices[0].message.content, wantBase);
assert.equal(tree.model, 'tree');
assert.equal(lake.model, 'lake');
assert.equal(plain.model, 'tiny');
// long answers (the stop token banned) overlap for sure: the engine's passes held several adapters
const noStop = { logit_bias: { [imEnd]: -100 }, max_tokens: 120 };
const before = await metric('chatforge_mixed_adapter_steps_total');
const long = await Promise.all([ask('tree', noStop), ask('lake', noStop), ask('tiny', noStop)]);
assert.ok(long[0].choices[0].message.content.startsWith(wantTree));
assert.ok(long[1].choices[0].message.content.startsWith(wantLake));
const mixed = await metric('chatforge_mixed_adapter_steps_total');
const widest = await metric('chatforge_max_batch_sequences');
assert.ok(mixed - before >= 10, `only ${mixed - before} mixed-adapter passes`);
assert.ok(widest >= 3, `at most ${widest} sequences in a pass`);
// streaming names the adapter too
let streamed = '';
for await (const c of await ask('lake', { stream: true })) { assert.equal(c.model, 'lake'); streamed += c.choices[0]?.delta?.content ?? ''; }
assert.equal(streamed, wantLake);
// an unknown model: 404 model_not_found through the client's typed error
await assert.rejects(ask('forest'), (e) => e instanceof OpenAI.NotFoundError && e.status === 404 &&
  e.code === 'model_not_found' && e.param === 'model' && e.message.includes('The model `forest` does not exist'));
console.log(`concurrent requests: tree, lake and the base each got their own answer; ${mixed} mixed-adapter passes, ` +
  `up to ${widest} sequences in one`);
})().catch((e) => { console.error(e); process.exit(1); });
JS
im_end=$(awk -F'\t' '$2 == "<|im_end|>" {print $1}' "$tmp/chat_tok/vocab.txt")
node "$tmp/client.js" "$BASE" "$question" "$want_tree" "$want_lake" "$want_base" "$im_end"
stop_server

# bad adapters stop serve at startup: exit 1, one line naming the file and the problem
bad() {  # NAME EXPECTED-TEXT ARGS...
  local name=$1 want=$2; shift 2
  local rc=0
  "$CHATFORGE" serve --port 0 --model "$tmp/base/last" --tokenizer "$tmp/chat_tok" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" \
    || rc=$?
  [ $rc -ne 0 ] || { echo "FAIL: $name: serve started"; exit 1; }
  [ "$(wc -l < "$tmp/$name.err")" = 1 ] && grep -qF -- "$want" "$tmp/$name.err" \
    || { echo "FAIL: $name (exit $rc):"; cat "$tmp/$name.err"; exit 1; }
  echo "$name: $(cat "$tmp/$name.err")"
}
cp -rL "$tmp/lake" "$tmp/rank" && sed -i 's/"r": 8/"r": 4/' "$tmp/rank/adapter_config.json"
bad rank "rank mismatch: adapter_config.json says r = 4" --lora "$tmp/rank"
cp -rL "$tmp/lake" "$tmp/arch" && sed -i 's/"c_attn"/"q_proj"/' "$tmp/arch/adapter_config.json"
bad arch "LoRA target 'q_proj' names no module of a gpt2 model" --lora "$tmp/arch"
mkdir -p "$tmp/empty" && cp "$tmp/lake/adapter_config.json" "$tmp/empty/"
bad no_weights "adapter_model.safetensors is missing" --lora "$tmp/empty"
cp -rL "$tmp/lake" "$tmp/holey"  # one tensor left out of the file
/usr/bin/python3 - "$tmp/holey/adapter_model.safetensors" <<'PY'
import json, struct, sys
path = sys.argv[1]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
head, data = json.loads(raw[8:8 + n]), raw[8 + n:]
del head["base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight"]
out, blob = {}, b""
for k, v in head.items():
    if k == "__metadata__": out[k] = v; continue
    b, e = v["data_offsets"]
    out[k] = dict(v, data_offsets=[len(blob), len(blob) + e - b]); blob += data[b:e]
h = json.dumps(out).encode(); h += b" " * (-len(h) % 8)
open(path, "wb").write(struct.pack("<Q", len(h)) + h + blob)
PY
bad missing "missing tensor base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight" --lora "$tmp/holey"
"$CHATFORGE" model init --out "$tmp/wide" --n-layer 2 --n-head 2 --n-embd 32 --vocab-size 320 --n-ctx 256 >/dev/null
cp "$tmp/chat_tok/tokenizer.json" "$tmp/wide/"
rc=0; "$CHATFORGE" serve --port 0 --model "$tmp/wide" --lora "$tmp/lake" >/dev/null 2>"$tmp/shape.err" || rc=$?
[ $rc = 1 ] && [ "$(wc -l < "$tmp/shape.err")" = 1 ] && grep -q "the adapter was trained on a base of another shape" \
  "$tmp/shape.err" || { echo "FAIL: shape (exit $rc)"; cat "$tmp/shape.err"; exit 1; }
echo "shape: $(cat "$tmp/shape.err")"
bad clash "a second adapter named 'lake'" --lora "$tmp/lake" --lora "lake=$tmp/run_tree/last"
bad base_name "is the base model's" --model-name tiny --lora "tiny=$tmp/lake"
echo "serve --lora: two adapters and the base in shared passes, answers as generate --lora, bad adapters refused"
