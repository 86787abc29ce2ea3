#!/usr/bin/env bash
# The limits of docs/limits.md through the program, each once as a user meets it: JSON
# nested 100k deep (in --config under an unknown key, in a JSONL label), a JSON array as
# --config, --threads 100000 and OMP_NUM_THREADS=40000, truncated .gz input to `data clean`,
# `data chat` and `data tokenize`, a wrong-typed or absurd tokenizer.json, a backtracking
# Split regex, a record over --max-record-mb, and a symbolic link loop. Each is one line
# on stderr ("error: ..." exit 1, or a usage error exit 2) -- never a crash or silent loss.
set -euo pipefail
cf=$CHATFORGE
tmp=$CF_BINARY_DIR/test-tmp/bad_input_limits
rm -rf "$tmp"; mkdir -p "$tmp"; cd "$tmp"
fails=0
expect() {  # expect CODE "text in the message" -- command...
  local want=$1 text=$2; shift 3
  local out rc=0
  out=$("$@" 2>&1 >/dev/null) || rc=$?
  local lines; lines=$(printf '%s\n' "$out" | grep -c . || true)
  if [ "$rc" != "$want" ] || [[ "$out" != *"$text"* ]] || [ "$lines" != 1 ]; then
    echo "FAIL: expected exit $want, one line with '$text'; got exit $rc: ${out:0:400}"; fails=$((fails+1))
  else
    echo "ok ($rc): $out"
  fi
}
deep() { python3 -c "import sys; n=int(sys.argv[1]); print(sys.argv[2] + '['*n + ']'*n + sys.argv[3])" "$@"; }

# A small tokenizer with the chat tokens, and clean data for the commands below.
for i in $(seq 1 300); do echo "{\"text\": \"the cat $i sat on the mat and looked at the rat number $i\"}"; done > docs.jsonl
"$cf" tokenizer train --input docs.jsonl --vocab-size 300 --out tok --special-tokens '<|im_start|>' '<|im_end|>' >/dev/null 2>&1
"$cf" model init --out model --n-layer 1 --n-head 2 --n-embd 16 --vocab-size 300 --n-ctx 32 >/dev/null
for i in $(seq 1 300); do
  echo "{\"messages\": [{\"role\": \"user\", \"content\": \"question $i\"}, {\"role\": \"assistant\", \"content\": \"answer $i\"}]}"
done > chat.jsonl

# 1. JSON nesting: 100k levels (200 KB) used to overflow the stack.
deep 100000 '{"no_such_flag": ' '}' > deep.json
expect 1 "deep.json: JSON nested deeper than 512 levels (byte 529)" -- "$cf" tokenizer encode --config deep.json
deep 100000 '{"text": "x", "label": ' '}' > deep_label.jsonl
cat docs.jsonl >> deep_label.jsonl
out=$("$cf" data clean --input deep_label.jsonl --out clean_deep --no-progress 2>&1) \
  && [[ "$out" == *"skipped input lines: 1 (first: deep_label.jsonl:1: JSON nested deeper than 512 levels"* ]] \
  && echo "ok: data clean skips and names the deep line" \
  || { echo "FAIL: data clean with a deep label: ${out:0:400}"; fails=$((fails+1)); }
deep 100000 '{"id": ' ', "prompt": "p", "answer": "a"}' > deep_items.jsonl
expect 1 "deep_items.jsonl:1: JSON nested deeper than 512 levels" -- "$cf" eval generate --data deep_items.jsonl --model model --tokenizer tok --out ev
# A top-level array (or scalar) is not "no flags".
echo '["--vocab-size", "300"]' > array.json
expect 1 "array.json: expected a JSON object of flag names to values, not an array" -- "$cf" tokenizer encode --config array.json
printf '[1, 2]\n' > array.toml
expect 1 "array.toml: expected a JSON object of flag names to values, not an array" -- "$cf" tokenizer encode --config array.toml
printf '[section]\ntokenizer = "tok"\n' > ok.toml
echo "the cat" | "$cf" tokenizer encode --config ok.toml >/dev/null && echo "ok: a TOML [section] still reads" \
  || { echo "FAIL: a TOML file with a [section] header"; fails=$((fails+1)); }

# 2. Threads: 1..1024 (libgomp crashed at 100000 and aborted without "error:" at 40000).
for cmd in "generate --model tok --prompt x" "chat --model tok" "serve --model tok" "eval generate --model tok --data x --out y" \
           "data clean --input docs.jsonl --out c" "data tokenize -t tok --input docs.jsonl --out t" \
           "data chat -t tok --input chat.jsonl --out ch" "tokenizer train --input docs.jsonl --vocab-size 300 --out t2" \
           "tokenizer encode --tokenizer tok"; do
  # shellcheck disable=SC2086
  expect 2 "--threads: 100000 is out of range" -- "$cf" $cmd --threads 100000
done
expect 2 "--threads: 40000 is out of range: use 1 to 1024 threads" -- "$cf" data clean --input docs.jsonl --out c --threads 40000
expect 1 "OMP_NUM_THREADS=40000: at most 1024 threads" -- env OMP_NUM_THREADS=40000 "$cf" tokenizer encode --tokenizer tok
[ "$(echo "the cat" | "$cf" tokenizer encode --tokenizer tok --threads 1024 | wc -w)" -gt 0 ] \
  && echo "ok: --threads 1024 runs" || { echo "FAIL: --threads 1024"; fails=$((fails+1)); }

# 3. Truncated .gz input: an error naming the file, like truncated .zst already was.
gzip -c docs.jsonl > full.jsonl.gz
head -c $(( $(stat -c %s full.jsonl.gz) / 2 )) full.jsonl.gz > cut.jsonl.gz
gzip -c chat.jsonl > chat_full.jsonl.gz
head -c $(( $(stat -c %s chat_full.jsonl.gz) / 2 )) chat_full.jsonl.gz > chat_cut.jsonl.gz
expect 1 "cut.jsonl.gz: truncated gzip stream" -- "$cf" data clean --input cut.jsonl.gz --out c1 --no-progress
expect 1 "cut.jsonl.gz: truncated gzip stream" -- "$cf" data tokenize -t tok --input cut.jsonl.gz --out t1 --no-progress
expect 1 "chat_cut.jsonl.gz: truncated gzip stream" -- "$cf" data chat -t tok --input chat_cut.jsonl.gz --out ch1 --no-progress
"$cf" data clean --input full.jsonl.gz --out c2 --no-progress >/dev/null 2>&1 && echo "ok: a whole .gz reads" \
  || { echo "FAIL: a complete .gz file"; fails=$((fails+1)); }

# 4. tokenizer.json: a wrong-typed field names file and field; a huge id is refused at once.
python3 - <<'EOF'
import json
t = json.load(open("tok/tokenizer.json"))
t["model"]["type"] = 7
json.dump(t, open("typed.json", "w"))
t = json.load(open("tok/tokenizer.json"))
t["model"]["vocab"]["Ġzzz"] = 2**24 - 1
json.dump(t, open("bigid.json", "w"))
t = json.load(open("tok/tokenizer.json"))
t["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
json.dump(t, open("backtrack.json", "w"))
EOF
expect 1 "typed.json: model.type must be a string, not a number" -- "$cf" tokenizer encode --tokenizer typed.json
expect 1 "has id 16777215 out of range" -- "$cf" tokenizer encode --tokenizer bigid.json
# 5. A catastrophic-backtracking Split regex: an error naming it, never one silent piece.
printf 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' > a40.txt
expect 1 'pre-tokenizer pattern "(a+)+$" failed at byte 0' -- "$cf" tokenizer encode --tokenizer backtrack.json a40.txt

# 6. A record over --max-record-mb: an error naming file:line.
python3 -c "print('{\"text\": \"small\"}'); print('{\"text\": \"' + 'x' * (2 << 20) + '\"}')" > long.jsonl
expect 1 "long.jsonl:2: a line longer than 1 MiB (raise --max-record-mb" -- "$cf" data clean --input long.jsonl --out c3 --max-record-mb 1 --no-progress
expect 1 "long.jsonl:2: a line longer than 1 MiB" -- "$cf" data tokenize -t tok --input long.jsonl --out t3 --max-record-mb 1 --no-progress
expect 1 "long.jsonl:2: a line longer than 1 MiB" -- "$cf" tokenizer train --input long.jsonl --vocab-size 300 --out t4 --max-record-mb 1
"$cf" data clean --input long.jsonl --out c4 --no-progress >/dev/null 2>&1 && echo "ok: the default limit takes a 2 MiB line" \
  || { echo "FAIL: a 2 MiB line under the default limit"; fails=$((fails+1)); }

# 7. A symbolic link loop: each file read once (was 41 times).
mkdir -p tree/sub
head -5 docs.jsonl > tree/a.jsonl
ln -s .. tree/sub/loop
out=$("$cf" data clean --input tree --out c5 --no-progress --min-chars 1 2>&1)
[[ "$out" == *"documents: 5 in"* ]] && echo "ok: a link loop reads each file once" \
  || { echo "FAIL: link loop: ${out:0:300}"; fails=$((fails+1)); }

[ "$fails" = 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all bad-input limits hold"
