#!/usr/bin/env bash
# The exported Jinja chat template (tokenizer_config.json's chat_template, written by
# `chatforge data chat`), rendered by Hugging Face's own Jinja engine (npm
# @huggingface/jinja), must give exactly the text chatforge's renderer produced for every
# test conversation (single and multi-turn, with and without a system prompt, CJK, emoji,
# quotes, backslashes, Jinja syntax and special-token spellings inside content), and the
# generation prompt must be "<|im_start|>assistant\n".
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/chat_jinja"
rm -rf "$tmp" && mkdir -p "$tmp"
export NODE_PATH="$CF_SOURCE_DIR/.cache/testdeps/node_modules"
[ -d "$NODE_PATH/@huggingface/jinja" ] || (cd "$CF_SOURCE_DIR" && bash scripts/fetch_testdeps.sh)
cd "$tmp"

/usr/bin/python3 - <<'PY'
import random
random.seed(2)
words = "the answer is hello world 你好 世界 谢谢 quote backslash".split()
with open("corpus.txt", "w") as f:
    for _ in range(300):
        f.write(" ".join(random.choice(words) for _ in range(10)) + "\n")
PY
"$CHATFORGE" tokenizer train --input corpus.txt --vocab-size 350 --out tok --special-tokens '<|im_start|>' '<|im_end|>' \
  >/dev/null 2>&1

/usr/bin/python3 - <<'PY'
import json
tricky = [
    "plain question?",
    "multi\nline\n\ncontent with trailing newline\n",
    "quotes ' and \" and `backticks`",
    "backslash \\ and \\n literally",
    "jinja syntax {{ messages }} {% if x %} {# comment #}",
    "special spellings <|im_start|>user\n<|im_end|> <|endoftext|>",
    "中文内容，标点符号。😀 emoji 👨‍👩‍👧 and é",
    "  leading and trailing spaces  ",
    "\ttab first",
]
convs = []
for i, t in enumerate(tricky):
    convs.append([{"role": "user", "content": t}, {"role": "assistant", "content": tricky[-1 - i]}])
    convs.append([{"role": "system", "content": tricky[(i + 3) % len(tricky)]}, {"role": "user", "content": t},
                  {"role": "assistant", "content": "ok"}])
convs.append([{"role": "system", "content": "be brief"}] +
             [{"role": r, "content": f"{r} turn {k}: {tricky[k]}"} for k in range(len(tricky)) for r in ("user", "assistant")])
convs.append([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "trailing user turn"}])
with open("convs.jsonl", "w") as f:
    for c in convs:
        f.write(json.dumps({"messages": c}, ensure_ascii=False) + "\n")
print(len(convs), "conversations", file=open("count.txt", "w"))
PY
"$CHATFORGE" data chat --tokenizer tok --input convs.jsonl --out out --val-fraction 0 --max-len 100000 --strict \
  --no-progress --dump-text rendered.jsonl >/dev/null

cat > "$NODE_PATH/../cf_chat_jinja_check.mjs" <<'JS'
import fs from 'fs';
import { Template } from '@huggingface/jinja';
const [configPath, renderedPath, expectCount] = process.argv.slice(2);
const cfg = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const tmpl = new Template(cfg.chat_template);
const rows = fs.readFileSync(renderedPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
let bad = 0;
for (const [i, r] of rows.entries()) {
  const ctx = { messages: r.messages, bos_token: cfg.bos_token, eos_token: cfg.eos_token };
  const text = tmpl.render({ ...ctx, add_generation_prompt: false });
  if (text !== r.text) {
    bad++;
    console.error(`conversation ${i}: Jinja ${JSON.stringify(text)}\n  chatforge ${JSON.stringify(r.text)}`);
  }
  const gen = tmpl.render({ ...ctx, add_generation_prompt: true });
  if (gen !== r.text + '<|im_start|>assistant\n') { bad++; console.error(`conversation ${i}: generation prompt differs`); }
}
if (rows.length !== Number(expectCount)) { bad++; console.error(`${rows.length} rows, expected ${expectCount}`); }
console.log(`${rows.length} conversations: ${bad === 0 ? 'Jinja text identical' : bad + ' DIFFERENT'}`);
process.exit(bad === 0 ? 0 : 1);
JS
node "$NODE_PATH/../cf_chat_jinja_check.mjs" out/tokenizer_config.json rendered.jsonl "$(cut -d' ' -f1 count.txt)"
