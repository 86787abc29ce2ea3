#!/usr/bin/env bash
# `chatforge chat` driven in a real terminal (tmux send-keys / capture-pane), as a person
# uses it: a multi-turn conversation with Chinese input, /save (history checked: roles,
# contents, strict UTF-8), /set, /reset, Ctrl-C during a long answer (the answer stops,
# the program stays), Ctrl-C at the prompt, /quit. Then the non-interactive mode (stdin
# not a terminal): one answer per line, deterministic at temperature 0.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
command -v tmux >/dev/null || { echo "tmux not installed: skipped"; exit 77; }
tmp="$CF_BINARY_DIR/test-tmp/chat_repl"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; [ -n "${S:-}" ] && tmux capture-pane -pt "$S" 2>/dev/null | grep -v "^$" >&2; exit 1; }
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
make_chat_model "$tmp" 4 256 2048

S="cfchat_$$"
trap 'tmux kill-session -t "$S" 2>/dev/null || true' EXIT
# -J joins lines the terminal wrapped: a long answer of wide characters can wrap right inside
# " [interrupted]" at the pane's 200 columns.
pane() { tmux capture-pane -pJt "$S" -S -200; }
# wait_for REGEX [seconds]: until the pane shows it
wait_for() {
  local deadline=$((SECONDS + ${2:-20}))
  until pane | grep -qE -- "$1"; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for /$1/"
    sleep 0.1
  done
}
# prompts: how many lines are a bare "> " prompt (an answer ends with a new prompt)
prompts() { pane | grep -cE '^>( |$)' || true; }
wait_prompts() {
  local deadline=$((SECONDS + ${2:-30}))
  until [ "$(prompts)" -ge "$1" ]; do
    [ $SECONDS -lt $deadline ] || fail "timed out waiting for prompt #$1"
    sleep 0.1
  done
}
send() { tmux send-keys -t "$S" -l -- "$1"; tmux send-keys -t "$S" Enter; }

# stop tokens banned so every answer runs to --max-tokens (long enough to interrupt)
tmux new-session -d -s "$S" -x 200 -y 50 \
  "OMP_NUM_THREADS=2 $CHATFORGE chat --model $tmp/model --max-tokens 12 --temperature 0.8 --seed 5 \
   --logit-bias $IM_END=-100 --logit-bias $EOT=-100 --logit-bias $IM_START=-100 --system 'You are terse.' ; echo EXITED \$?; sleep 30"
wait_for 'chatforge chat: .*context 2048 tokens'
wait_prompts 1
send "Hello, how are you?"
wait_prompts 2
send "你好，今天天气很好吗？"
wait_prompts 3
send "/save $tmp/conv.json"
wait_for "saved 5 messages to .*conv.json"
/usr/bin/python3 - "$tmp/conv.json" <<'PY' || fail "saved conversation"
import json, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8", errors="strict")            # never a broken character
m = json.loads(raw)
assert [x["role"] for x in m] == ["system", "user", "assistant", "user", "assistant"], m
assert m[0]["content"] == "You are terse." and m[1]["content"] == "Hello, how are you?", m
assert m[3]["content"] == "你好，今天天气很好吗？", m[3]
assert all(len(x["content"]) > 0 for x in m[2::2]), "empty answers"
PY
send "/set temperature 1.5x"
wait_for "error: invalid value '1.5x' for temperature"
send "/set top-p 1.5"
wait_for "error: invalid top-p 1.5"
send "/set temperature 0.7"
wait_for "temperature=0.7 "
send "/reset"
wait_for "conversation reset"
send "/save $tmp/after_reset.json"
wait_for "saved 1 messages"
/usr/bin/python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert [x['role'] for x in m]==['system'], m" \
  "$tmp/after_reset.json" || fail "/reset kept the turns"

# Ctrl-C during a long answer: it stops, the program stays and answers the next line
send "/set max-tokens 0"
wait_for "max-tokens=0 "
n=$(prompts)
send "Tell me a very long story."
# Ctrl-C only once the answer is streaming (on a loaded machine the line may not even have
# been read yet 0.5 s after sending it, and a Ctrl-C then lands at the prompt)
streaming() { pane | awk '/^> Tell me a very long story\.$/ {getline nxt; if (length(nxt) > 0) ok = 1} END {exit !ok}'; }
deadline=$((SECONDS + 20))
until streaming; do [ $SECONDS -lt $deadline ] || fail "the long answer never started"; sleep 0.05; done
[ "$(prompts)" = "$n" ] || fail "the long answer finished before Ctrl-C (model too fast for this test)"
tmux send-keys -t "$S" C-c
wait_for '\[interrupted\]' 10
wait_prompts $((n + 1)) 10
send "/set max-tokens 8"
wait_for "max-tokens=8 "
send "还在吗？"
wait_prompts $((n + 3))
send "/save $tmp/after_ctrlc.json"
wait_for "saved 5 messages to .*after_ctrlc.json"  # (the first /save also said "saved 5 messages")
/usr/bin/python3 - "$tmp/after_ctrlc.json" <<'PY' || fail "conversation after Ctrl-C"
import json, sys
raw = open(sys.argv[1], "rb").read(); raw.decode("utf-8", errors="strict")
m = json.loads(raw)
assert [x["role"] for x in m] == ["system", "user", "assistant", "user", "assistant"], m
assert m[1]["content"] == "Tell me a very long story." and m[3]["content"] == "还在吗？", m
PY
/usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/after_ctrlc.json"
send "/load $tmp/conv.json"
wait_for "loaded 5 messages"
send "/help"
wait_for "/set NAME VALUE"
send "/bogus"
wait_for "error: unknown command /bogus"
# Ctrl-C at the prompt: the first one only warns, the program is still there
tmux send-keys -t "$S" C-c
wait_for "Ctrl-C again or /quit to exit"
pane | grep -q EXITED && fail "exited on one Ctrl-C at the prompt"
send "/quit"
wait_for "EXITED 0"
pane | iconv -f utf-8 -t utf-8 >/dev/null || fail "the terminal shows invalid UTF-8"
tmux kill-session -t "$S"

# Non-interactive: no prompt or banner, one answer per input line, reproducible.
printf 'Hello there\n你好\n/reset\nAgain\n' > "$tmp/script.txt"
run_script() { "$CHATFORGE" chat --model "$tmp/model" --temperature 0 --max-tokens 10 \
  --logit-bias "$IM_END=-100" --logit-bias "$EOT=-100" --logit-bias "$IM_START=-100" --logit-bias "$(awk -F'\t' '$2 == "\\n" {print $1}' "$tmp/tok/vocab.txt" | head -1)=-100" < "$tmp/script.txt"; }
run_script > "$tmp/out1.txt" 2> "$tmp/err1.txt"
run_script > "$tmp/out2.txt" 2>/dev/null
cmp -s "$tmp/out1.txt" "$tmp/out2.txt" || fail "temperature 0 is not deterministic"
iconv -f utf-8 -t utf-8 "$tmp/out1.txt" >/dev/null || fail "invalid UTF-8 on stdout"
grep -q '^> ' "$tmp/out1.txt" && fail "prompt printed without a terminal"
[ "$(grep -c 'conversation reset' "$tmp/out1.txt")" = 1 ] || fail "/reset not acknowledged: $(cat "$tmp/out1.txt")"
echo "chat_repl: OK"
