#!/usr/bin/env bash
# `chatforge tokenizer` from the command line: train -> encode -> decode round trip,
# inspect's summary, the classic aaabdaaabac example, and bad input (missing file,
# unreadable tokenizer.json, vocab size out of range, empty corpus): each a one-line error
# and exit 1 or 2, never a crash.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/tokenizer_cli"
rm -rf "$tmp" && mkdir -p "$tmp/corpus/sub"
cf() { "$CHATFORGE" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

printf 'aaabdaaabac' > "$tmp/classic.txt"
cf tokenizer train --input "$tmp/classic.txt" --vocab-size 260 --out "$tmp/classic" 2>/dev/null >/dev/null
[ "$(cf tokenizer encode --tokenizer "$tmp/classic" "$tmp/classic.txt")" = "258 100 258 97 99" ] || fail "classic example"

# A directory input (read recursively), special tokens, stdin.
for i in 1 2 3; do printf 'The whale, the sea; 你好世界！\n  indented line %d\n' "$i" >> "$tmp/corpus/a.txt"; done
printf 'More text in a subdirectory: 12345 😀\n' > "$tmp/corpus/sub/b.txt"
cf tokenizer train --input "$tmp/corpus" --vocab-size 300 --out "$tmp/tok" --special-tokens '<|im_start|>' '<|im_end|>' \
  --threads 2 2>/dev/null > "$tmp/train.out"
grep -q '^fingerprint [0-9a-f]\{16\}$' "$tmp/train.out" || fail "train output: $(cat "$tmp/train.out")"
for f in tokenizer.json vocab.txt tokenizer_config.json; do [ -s "$tmp/tok/$f" ] || fail "missing $f"; done
text=$'Hello 你好 <|im_start|> \xff\xfe bytes'
printf '%s' "$text" > "$tmp/in.bin"
cf tokenizer encode --tokenizer "$tmp/tok" < "$tmp/in.bin" > "$tmp/in.ids"
cf tokenizer decode --tokenizer "$tmp/tok" "$tmp/in.ids" > "$tmp/out.bin"
cmp "$tmp/in.bin" "$tmp/out.bin" || fail "round trip"
im_start=$(awk -F'\t' '$2 == "<|im_start|>" && $3 == "special" {print $1}' "$tmp/tok/vocab.txt")
[ -n "$im_start" ] || fail "<|im_start|> not listed as special in vocab.txt"
grep -qw "$im_start" "$tmp/in.ids" && fail "special token matched without --allow-special"
cf tokenizer encode --allow-special --tokenizer "$tmp/tok" "$tmp/in.bin" | grep -w "$im_start" >/dev/null || fail "--allow-special"
cf tokenizer inspect --tokenizer "$tmp/tok" "$tmp/in.bin" > "$tmp/inspect.out"
grep -q 'chars/token [0-9.]*  bytes/token [0-9.]*$' "$tmp/inspect.out" || fail "inspect summary"
grep -q "'\\\\xff'" "$tmp/inspect.out" || fail "inspect shows invalid bytes escaped"

# Bad input: exit code 1 or 2, exactly one line on stderr, no crash.
expect_error() {
  local want="$1"; shift
  set +e
  "$@" > /dev/null 2> "$tmp/err"
  local rc=$?
  set -e
  [ "$rc" = 1 ] || [ "$rc" = 2 ] || fail "exit $rc for: $* ($(cat "$tmp/err"))"
  [ "$(wc -l < "$tmp/err")" = 1 ] || fail "not one line for: $*: $(cat "$tmp/err")"
  grep -q -- "$want" "$tmp/err" || fail "message for $* lacks '$want': $(cat "$tmp/err")"
}
expect_error "nope.txt" cf tokenizer train --input "$tmp/nope.txt" --vocab-size 300 --out "$tmp/x"
expect_error "vocab-size" cf tokenizer train --input "$tmp/classic.txt" --vocab-size 255 --out "$tmp/x"
expect_error "vocab-size" cf tokenizer train --input "$tmp/classic.txt" --vocab-size 1048577 --out "$tmp/x"
: > "$tmp/empty.txt"
expect_error "empty corpus" cf tokenizer train --input "$tmp/empty.txt" --vocab-size 300 --out "$tmp/x"
mkdir -p "$tmp/broken" && printf '{"model": {"type": "BPE", "vocab": ' > "$tmp/broken/tokenizer.json"
expect_error "tokenizer.json" cf tokenizer encode --tokenizer "$tmp/broken" "$tmp/in.bin"
mkdir -p "$tmp/unreadable" && mkdir "$tmp/unreadable/tokenizer.json"
expect_error "tokenizer.json" cf tokenizer encode --tokenizer "$tmp/unreadable" "$tmp/in.bin"
expect_error "no such" cf tokenizer encode --tokenizer "$tmp/tok" "$tmp/missing.txt"
expect_error "no tokenizer.json" cf tokenizer encode --tokenizer "$tmp/corpus" "$tmp/in.bin"
echo "99999" > "$tmp/bad.ids"
expect_error "out of range" cf tokenizer decode --tokenizer "$tmp/tok" "$tmp/bad.ids"
echo "12 abc" > "$tmp/bad2.ids"
expect_error "not a token id" cf tokenizer decode --tokenizer "$tmp/tok" "$tmp/bad2.ids"
expect_error "pattern" cf tokenizer train --input "$tmp/classic.txt" --vocab-size 300 --pattern '(unclosed' --out "$tmp/x"
expect_error "unknown pattern name" cf tokenizer train --input "$tmp/classic.txt" --vocab-size 300 --pattern gtp4 --out "$tmp/x"
echo "tokenizer_cli: OK"
