#!/usr/bin/env bash
# GPT-2 parity: `chatforge tokenizer encode` with GPT-2's own files (gpt-3-encoder's
# encoder.json + vocab.bpe) must give exactly tiktoken's `gpt2` ids on a >= 1 MB corpus of
# prose, code, whitespace runs, numbers, CJK, Japanese, emoji and invalid UTF-8, and
# decode(encode(x)) must give back x byte for byte.
#
# tiktoken (npm) takes a JS string, so it cannot see invalid bytes. Two checks:
#  1. The corpus with each invalid byte replaced by U+FFFD (what tiktoken does to text it
#     cannot represent) against tiktoken.encode of the whole text: every id must match.
#  2. The raw corpus: pieces come from the GPT-2 regex (JS, \s as White_Space) over the
#     U+FFFD text, mapped back to the raw bytes; a piece with no invalid byte is encoded by
#     tiktoken, a piece with invalid bytes by gpt-3-encoder's own bpe() on its raw bytes
#     (tiktoken's byte_pair_encode does the same on bytes). Invalid bytes thus split like
#     U+FFFD and merge as bytes.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/tokenizer_parity"
rm -rf "$tmp" && mkdir -p "$tmp"
cd "$CF_SOURCE_DIR"
export NODE_PATH="$CF_SOURCE_DIR/.cache/testdeps/node_modules"
[ -d "$NODE_PATH/tiktoken" ] && [ -d "$NODE_PATH/gpt-3-encoder" ] || ONNXRUNTIME_NODE_INSTALL_CUDA=skip bash scripts/fetch_testdeps.sh
bash scripts/deps/tokenizer.fetch.sh >/dev/null
data=.cache/tokenizer-data
[ -s "$data/parity.txt" ] || python3 scripts/deps/tokenizer.corpus.py parity "$data/parity.txt"
gpt2="$NODE_PATH/gpt-3-encoder"

cat > "$tmp/ref.js" <<'JS'
const fs = require('fs');
const Module = require('module');
const path = require('path');
const [mode, ...args] = process.argv.slice(2);

// Strict UTF-8 decoding; each byte that does not start a valid sequence is its own unit.
function units(buf) {
  const out = [];
  const cont = (k) => k < buf.length && (buf[k] & 0xC0) === 0x80;
  for (let i = 0; i < buf.length;) {
    const b = buf[i];
    let cp = -1, len = 1;
    if (b < 0x80) cp = b;
    else if (b >= 0xC2 && b <= 0xDF && cont(i + 1)) { cp = ((b & 0x1F) << 6) | (buf[i + 1] & 0x3F); len = 2; }
    else if (b >= 0xE0 && b <= 0xEF && cont(i + 1) && cont(i + 2)) {
      const c = ((b & 0x0F) << 12) | ((buf[i + 1] & 0x3F) << 6) | (buf[i + 2] & 0x3F);
      if (c >= 0x800 && (c < 0xD800 || c > 0xDFFF)) { cp = c; len = 3; }
    } else if (b >= 0xF0 && b <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
      const c = ((b & 0x07) << 18) | ((buf[i + 1] & 0x3F) << 12) | ((buf[i + 2] & 0x3F) << 6) | (buf[i + 3] & 0x3F);
      if (c >= 0x10000 && c <= 0x10FFFF) { cp = c; len = 4; }
    }
    out.push({ cp, start: i, len });
    i += len;
  }
  return out;
}

// The U+FFFD text, and for each UTF-16 index the raw byte offset and whether it was invalid.
function replaced(buf) {
  let s = '';
  const byteAt = [], invalidAt = [];
  for (const u of units(buf)) {
    const ch = u.cp < 0 ? '\uFFFD' : String.fromCodePoint(u.cp);
    for (let k = 0; k < ch.length; ++k) { byteAt.push(u.start); invalidAt.push(u.cp < 0); }
    s += ch;
  }
  byteAt.push(buf.length);
  return { s, byteAt, invalidAt };
}

function readIds(file) {
  const t = fs.readFileSync(file, 'utf8').trim();
  return t ? t.split(/\s+/).map(Number) : [];
}

function compare(what, got, want, show) {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; ++i) {
    if (got[i] !== want[i]) {
      console.error(`${what}: first difference at id ${i}: chatforge ${got.slice(i, i + 8)} vs reference ${want.slice(i, i + 8)}`);
      if (show) console.error(`  near text: ${JSON.stringify(show(i))}`);
      return false;
    }
  }
  if (got.length !== want.length) {
    console.error(`${what}: lengths differ: chatforge ${got.length} vs reference ${want.length}`);
    return false;
  }
  console.log(`${what}: ${got.length} ids identical`);
  return true;
}

if (mode === 'replace') {
  fs.writeFileSync(args[1], replaced(fs.readFileSync(args[0])).s, 'utf8');
} else if (mode === 'check') {
  const [corpus, idsRaw, idsReplaced, gptDir] = args;
  const { get_encoding } = require('tiktoken');
  const enc = get_encoding('gpt2');
  // gpt-3-encoder's bpe() is not exported: load its source with a line that exports it.
  const file = path.join(gptDir, 'Encoder.js');
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(gptDir);
  m._compile(fs.readFileSync(file, 'utf8') + '\nmodule.exports.__bpe = bpe; module.exports.__be = byte_encoder; module.exports.__enc = encoder;', file);
  const { __bpe: bpe, __be: byteEncoder, __enc: encoder } = m.exports;

  const buf = fs.readFileSync(corpus);
  const { s, byteAt, invalidAt } = replaced(buf);
  let ok = true;
  // 1. Whole U+FFFD text through tiktoken.
  const want1 = Array.from(enc.encode(s, [], []));
  ok = compare('U+FFFD corpus vs tiktoken gpt2', readIds(idsReplaced), want1) && ok;
  // 2. Raw corpus, piece by piece.
  const pat = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
  const want2 = [];
  let covered = 0, invalidPieces = 0;
  for (const mt of s.matchAll(pat)) {
    if (mt.index !== covered) throw new Error(`regex left a gap at ${covered}`);
    const a = mt.index, b = a + mt[0].length;
    covered = b;
    let hasInvalid = false;
    for (let k = a; k < b; ++k) hasInvalid ||= invalidAt[k];
    if (!hasInvalid) { for (const id of enc.encode(mt[0], [], [])) want2.push(id); continue; }
    ++invalidPieces;
    const raw = buf.subarray(byteAt[a], byteAt[b]);
    const word = Array.from(raw).map((x) => byteEncoder[x]).join('');
    for (const t of bpe(word).split(' ')) want2.push(encoder[t]);
  }
  if (covered !== s.length) throw new Error('regex did not cover the text');
  console.log(`raw corpus: ${buf.length} bytes, ${invalidPieces} pieces with invalid UTF-8`);
  ok = compare('raw corpus vs tiktoken + gpt-3-encoder bpe', readIds(idsRaw), want2) && ok;
  enc.free();
  process.exit(ok ? 0 : 1);
}
JS

node "$tmp/ref.js" replace "$data/parity.txt" "$tmp/replaced.txt"
"$CHATFORGE" tokenizer encode --tokenizer "$gpt2" "$data/parity.txt" > "$tmp/raw.ids"
"$CHATFORGE" tokenizer encode --tokenizer "$gpt2" "$tmp/replaced.txt" > "$tmp/replaced.ids"
# The parallel path must give the same ids.
"$CHATFORGE" tokenizer encode --tokenizer "$gpt2" --threads 2 "$data/parity.txt" > "$tmp/raw2.ids"
cmp "$tmp/raw.ids" "$tmp/raw2.ids"
node "$tmp/ref.js" check "$data/parity.txt" "$tmp/raw.ids" "$tmp/replaced.ids" "$gpt2"

# Round trip, byte for byte, including the invalid bytes, and on random bytes.
"$CHATFORGE" tokenizer decode --tokenizer "$gpt2" "$tmp/raw.ids" > "$tmp/decoded.bin"
cmp "$data/parity.txt" "$tmp/decoded.bin"
head -c 300000 /dev/urandom > "$tmp/random.bin"
"$CHATFORGE" tokenizer encode --tokenizer "$gpt2" "$tmp/random.bin" | "$CHATFORGE" tokenizer decode --tokenizer "$gpt2" > "$tmp/random.out"
cmp "$tmp/random.bin" "$tmp/random.out"
echo "tokenizer_parity: OK ($(wc -c < "$data/parity.txt") bytes)"
