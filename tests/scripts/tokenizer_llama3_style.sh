#!/usr/bin/env bash
# A Llama-3-style tokenizer.json (Split regex + ByteLevel pre-tokenizer, ignore_merges)
# built from tiktoken's cl100k_base (the GPT-4 vocabulary; Llama-3 uses the same pattern):
# chatforge must load it and encode the test corpus to exactly tiktoken's cl100k_base ids.
# This checks the PCRE2 pre-tokenizer path and tokenizer.json reading against a peer.
# The merges are derived the way Hugging Face converts tiktoken files: a token's merge is
# the last step of BPE on its bytes using only lower ranks.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/tokenizer_llama3_style"
rm -rf "$tmp" && mkdir -p "$tmp/cl100k"
cd "$CF_SOURCE_DIR"
export NODE_PATH="$CF_SOURCE_DIR/.cache/testdeps/node_modules"
[ -d "$NODE_PATH/tiktoken" ] || ONNXRUNTIME_NODE_INSTALL_CUDA=skip bash scripts/fetch_testdeps.sh
bash scripts/deps/tokenizer.fetch.sh >/dev/null
data=.cache/tokenizer-data
[ -s "$data/parity.txt" ] || python3 scripts/deps/tokenizer.corpus.py parity "$data/parity.txt"

cat > "$tmp/cl100k.js" <<'JS'
const fs = require('fs');
const { get_encoding } = require('tiktoken');
const [mode, a, b] = process.argv.slice(2);
const enc = get_encoding('cl100k_base');
if (mode === 'build') {
  // GPT-2's byte -> unicode mapping for vocab keys.
  const bs = [];
  for (let i = 33; i <= 126; ++i) bs.push(i);
  for (let i = 161; i <= 172; ++i) bs.push(i);
  for (let i = 174; i <= 255; ++i) bs.push(i);
  const cs = bs.slice();
  let n = 0;
  for (let i = 0; i < 256; ++i) if (!bs.includes(i)) { bs.push(i); cs.push(256 + n++); }
  const b2u = {};
  bs.forEach((x, i) => { b2u[x] = String.fromCodePoint(cs[i]); });
  const key = (bytes) => Array.from(bytes).map((x) => b2u[x]).join('');
  const latin = (bytes) => Buffer.from(bytes).toString('latin1');
  const tokens = enc.token_byte_values().map((t) => Uint8Array.from(t));
  const rank = new Map();
  for (const t of tokens) rank.set(latin(t), enc.encode_single_token(t));
  const byRank = tokens.slice().sort((x, y) => rank.get(latin(x)) - rank.get(latin(y)));
  const vocab = {}, merges = [];
  for (const t of byRank) {
    const r = rank.get(latin(t));
    vocab[key(t)] = r;
    if (t.length < 2) continue;
    let parts = Array.from(t).map((x) => [x]);
    while (true) {
      let best = -1, bestRank = r;
      for (let i = 0; i + 1 < parts.length; ++i) {
        const pr = rank.get(latin(parts[i].concat(parts[i + 1])));
        if (pr !== undefined && pr < bestRank) { bestRank = pr; best = i; }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best].concat(parts[best + 1]));
    }
    if (parts.length !== 2) throw new Error(`token ${r} does not split into two`);
    merges.push([r, key(parts[0]) + ' ' + key(parts[1])]);
  }
  merges.sort((x, y) => x[0] - y[0]);
  const pat = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  const added = Object.entries({ '<|endoftext|>': 100257, '<|fim_prefix|>': 100258, '<|fim_middle|>': 100259,
    '<|fim_suffix|>': 100260, '<|endofprompt|>': 100276 }).map(([content, id]) => ({ id, content, single_word: false,
    lstrip: false, rstrip: false, normalized: false, special: true }));
  const tj = {
    version: '1.0', truncation: null, padding: null, added_tokens: added, normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [
      { type: 'Split', pattern: { Regex: pat }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
    post_processor: null, decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges: merges.map((m) => m[1].split(' ')) },
  };
  fs.writeFileSync(a, JSON.stringify(tj));
  console.log(`cl100k tokenizer.json: ${tokens.length} tokens, ${merges.length} merges`);
} else {
  const text = new TextDecoder().decode(fs.readFileSync(a));
  const want = Array.from(enc.encode(text, [], []));
  const got = fs.readFileSync(b, 'utf8').trim().split(/\s+/).map(Number);
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; ++i) {
    if (got[i] !== want[i]) {
      console.error(`first difference at id ${i}: chatforge ${got.slice(i, i + 8)} vs tiktoken ${want.slice(i, i + 8)}`);
      console.error(`  text: ${JSON.stringify(enc.decode(Uint32Array.from(want.slice(Math.max(0, i - 3), i + 8))).toString())}`);
      process.exit(1);
    }
  }
  if (got.length !== want.length) { console.error(`lengths differ: ${got.length} vs ${want.length}`); process.exit(1); }
  console.log(`cl100k_base: ${got.length} ids identical to tiktoken`);
}
JS
node "$tmp/cl100k.js" build "$tmp/cl100k/tokenizer.json"
# tiktoken sees valid UTF-8 only: compare on the corpus decoded with U+FFFD replacements.
node -e "const fs=require('fs');fs.writeFileSync(process.argv[2], new TextDecoder().decode(fs.readFileSync(process.argv[1])))" \
  "$data/parity.txt" "$tmp/corpus.txt"
"$CHATFORGE" tokenizer encode --tokenizer "$tmp/cl100k" "$tmp/corpus.txt" > "$tmp/corpus.ids"
node "$tmp/cl100k.js" check "$tmp/corpus.txt" "$tmp/corpus.ids"
"$CHATFORGE" tokenizer decode --tokenizer "$tmp/cl100k" "$tmp/corpus.ids" | cmp - "$tmp/corpus.txt"
