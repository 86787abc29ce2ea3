#!/usr/bin/env bash
# `chatforge generate` from the command line: streaming text and the --json result
# (usage counts, finish reasons, logprobs), determinism (temperature 0; same seed), a stop
# string, a Chinese prompt, context truncation; bad input (missing model, a prompt longer
# than the context, top-p 1.5, a bad logit bias, both/neither prompt flags) gives one-line
# errors with exit 1 or 2.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/generate_cli"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
cf() { "$CHATFORGE" "$@"; }
py() { /usr/bin/python3 "$@"; }
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
make_chat_model "$tmp" 2 64 64
M="$tmp/model"
ban="--logit-bias $IM_END=-100 --logit-bias $EOT=-100"

# temperature 0 twice: identical; streamed text equals the JSON text
cf generate --model "$M" --prompt "Hello, how are" --temperature 0 --max-tokens 20 $ban > "$tmp/a.txt" 2> "$tmp/a.err"
cf generate --model "$M" --prompt "Hello, how are" --temperature 0 --max-tokens 20 $ban --json > "$tmp/a.json"
grep -q 'prompt + 20 completion tokens, finish length; prefill .* tok/s, decode .* tok/s' "$tmp/a.err" || fail "stats: $(cat "$tmp/a.err")"
py - "$tmp/a.txt" "$tmp/a.json" <<'PY' || fail "stream vs json"
import json, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")[:-1]   # printed with a final newline
j = json.load(open(sys.argv[2]))
assert j["text"] == text, (j["text"], text)
assert j["usage"]["completion_tokens"] == 20 and len(j["tokens"]) == 20 and j["finish_reason"] == "length", j
assert j["usage"]["prompt_tokens"] > 0 and j["timings"]["decode_tok_s"] > 0, j
PY
# same seed -> same sample; another seed -> (almost surely) another
s1=$(cf generate --model "$M" --prompt "你好" --temperature 1 --seed 7 --max-tokens 30 $ban --json)
s2=$(cf generate --model "$M" --prompt "你好" --temperature 1 --seed 7 --max-tokens 30 $ban --json)
s3=$(cf generate --model "$M" --prompt "你好" --temperature 1 --seed 8 --max-tokens 30 $ban --json)
t() { py -c 'import json,sys; print(json.loads(sys.argv[1])["tokens"])' "$1"; }
[ "$(t "$s1")" = "$(t "$s2")" ] || fail "same seed, different output"
[ "$(t "$s1")" != "$(t "$s3")" ] || fail "different seeds, same output"
# logprobs: chosen + top 3, as numbers <= 0, the greedy choice is the top one
cf generate --model "$M" --prompt "Hello" --temperature 0 --max-tokens 5 $ban --json --logprobs 3 > "$tmp/lp.json"
py - "$tmp/lp.json" <<'PY' || fail "logprobs"
import json, sys
j = json.load(open(sys.argv[1]))
assert len(j["logprobs"]) == 5
for lp in j["logprobs"]:
    assert len(lp["top_logprobs"]) == 3 and lp["logprob"] <= 0
    assert lp["top_logprobs"][0]["id"] == lp["id"], lp
PY
# prompt logprobs: one entry per prompt token, the first null, the others <= 0
cf generate --model "$M" --prompt "Hello, how are you today? 你好" --max-tokens 1 --json --prompt-logprobs > "$tmp/plp.json"
py - "$tmp/plp.json" <<'PY' || fail "prompt logprobs"
import json, sys
j = json.load(open(sys.argv[1])); p = j["prompt_logprobs"]
assert len(p) == j["usage"]["prompt_tokens"] and p[0]["logprob"] is None, p
assert all(x["logprob"] <= 0 for x in p[1:]) and "".join(x["token"] for x in p) == "Hello, how are you today? 你好", p
PY
# a stop string: the text ends right before it (take one from a free run's output)
free=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$tmp/a.json")
stop=$(py -c 'import sys; t=sys.argv[1]; print(t[5:8] if len(t) > 8 else "")' "$free")
if [ -n "$stop" ]; then
  cf generate --model "$M" --prompt "Hello, how are" --temperature 0 --max-tokens 20 $ban --stop "$stop" --json > "$tmp/stop.json"
  py - "$tmp/stop.json" "$free" "$stop" <<'PY' || fail "stop string"
import json, sys
j = json.load(open(sys.argv[1])); free, stop = sys.argv[2], sys.argv[3]
assert j["text"] == free[:free.index(stop)], (j["text"], free, stop)
assert j["finish_reason"] == "stop", j
PY
fi
# a prompt longer than the context: error by default, newest tokens kept on request
py -c 'print("Hello, how are you today? " * 40)' > "$tmp/long.txt"
cf generate --model "$M" --prompt-file "$tmp/long.txt" --max-tokens 4 --context-policy truncate-oldest --json > "$tmp/trunc.json"
py -c 'import json,sys; j=json.load(open(sys.argv[1])); u=j["usage"]; assert u["truncated_prompt_tokens"] > 0 and u["prompt_tokens"] + 4 <= 64, j' "$tmp/trunc.json" \
  || fail "truncate-oldest"

# chat over a 64-token context, non-interactive: turns that no longer fit are an error
# line (the session goes on) or, with truncate-oldest, the oldest turns are dropped
printf 'Hello, how are you today?\n你好，今天天气很好。\nThe weather is nice.\n/save %s\n' "$tmp/conv_err.json" > "$tmp/chat_in.txt"
cf chat --model "$M" --max-tokens 8 $ban < "$tmp/chat_in.txt" > "$tmp/chat_err.out" 2> "$tmp/chat_err.err"
grep -q "error: the conversation needs .* but the context holds 64 (use /reset, or --context-policy truncate-oldest)" \
  "$tmp/chat_err.err" || fail "chat context error: $(cat "$tmp/chat_err.err")"
sed "s|conv_err|conv_trunc|" "$tmp/chat_in.txt" > "$tmp/chat_in2.txt"
cf chat --model "$M" --max-tokens 8 $ban --context-policy truncate-oldest < "$tmp/chat_in2.txt" > /dev/null 2> "$tmp/chat_trunc.err"
[ ! -s "$tmp/chat_trunc.err" ] || fail "truncate-oldest chat printed errors: $(cat "$tmp/chat_trunc.err")"
py - "$tmp/conv_err.json" "$tmp/conv_trunc.json" <<'PY' || fail "chat context policies"
import json, sys
err, trunc = (json.load(open(p)) for p in sys.argv[1:3])
# error policy: the turn that did not fit was not added
assert [m["role"] for m in err] == ["user", "assistant"] and err[0]["content"] == "Hello, how are you today?", err
# truncate-oldest: the last question is there, the first one was dropped
users = [m["content"] for m in trunc if m["role"] == "user"]
assert users[-1] == "The weather is nice." and "Hello, how are you today?" not in users, users
PY

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
expect_error "does not exist" cf generate --model "$tmp/nope" --prompt hi
expect_error "context" cf generate --model "$M" --prompt-file "$tmp/long.txt"
expect_error "top-p: must be in (0, 1], got 1.5" cf generate --model "$M" --prompt hi --top-p 1.5
expect_error "temperature" cf generate --model "$M" --prompt hi --temperature -1
expect_error "logit-bias" cf generate --model "$M" --prompt hi --logit-bias 5:1
expect_error "logit-bias token id 99999" cf generate --model "$M" --prompt hi --logit-bias 99999=1
expect_error "context-policy" cf generate --model "$M" --prompt hi --context-policy drop
expect_error "exactly one of" cf generate --model "$M"
expect_error "exactly one of" cf generate --model "$M" --prompt hi --prompt-file "$tmp/long.txt"
expect_error "cannot open" cf generate --model "$M" --prompt-file "$tmp/missing.txt"
mkdir -p "$tmp/notok" && cp "$M/config.json" "$M/model.safetensors" "$tmp/notok/"
expect_error "tokenizer" cf generate --model "$tmp/notok" --prompt hi
expect_error "does not exist" cf chat --model "$tmp/nope"
expect_error "top-p" cf chat --model "$M" --top-p 1.5
echo "generate_cli: OK"
