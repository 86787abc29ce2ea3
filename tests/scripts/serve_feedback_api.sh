#!/usr/bin/env bash
# POST /v1/feedback over HTTP with curl, every kind: "rating" (and the old body without a
# kind), "pair" (two recorded answers to the same prompt, one picked) and "edit" (an answer
# corrected); bad bodies get HTTP 400 (404 for an unknown answer) with a one-line JSON error
# whose `param` names the field; then `feedback export --format preference|kto` gives the
# expected pairs and rows, and `data prefs` takes both files unchanged.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/serve_feedback_api"
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
source "$CF_SOURCE_DIR/tests/scripts/lib/serve_server.sh"
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
make_chat_model "$tmp"
trap 'stop_server || true' EXIT
system="You are the API test's assistant."
start_server "$tmp/server.log" --model "$tmp/model" --db "$tmp/fb.sqlite" --model-name tiny --system "$system"

# post PATH BODY: prints "STATUS BODY" (the body on one line, as the server sent it)
post() {
  curl -s -o "$tmp/body" -w '%{http_code}' "$BASE$1" -H 'Content-Type: application/json' -d "$2"
  printf ' '; cat "$tmp/body"
}
ask() {  # ask CONVERSATION QUESTION SEED -> "message_id<TAB>content"
  post /v1/chat/completions "$(jq -nc --arg c "$1" --arg q "$2" --argjson s "$3" \
    '{model: "tiny", conversation_id: $c, max_tokens: 12, temperature: 1, seed: $s, messages: [{role: "user", content: $q}]}')" \
    | cut -d' ' -f2- | jq -er '[.choices[0].message_id, .choices[0].message.content] | @tsv'
}
q1="How much does the X2 cost?"
IFS=$'\t' read -r a a_text < <(ask conv-1 "$q1" 1)
seed=2
while :; do  # a second, different answer to the same question (regenerate)
  IFS=$'\t' read -r b b_text < <(ask conv-1 "$q1" $seed)
  [ "$b_text" != "$a_text" ] && break
  seed=$((seed + 1)); [ $seed -lt 40 ] || fail "no seed gives another answer"
done
IFS=$'\t' read -r c c_text < <(ask conv-2 "你好，今天天气很好吗？" 7)
IFS=$'\t' read -r d d_text < <(ask conv-3 "$q1" $seed)  # the same text as b (same seed)
[ "$d_text" = "$b_text" ] || fail "the same seed gave another answer"

# expect STATUS PARAM BODY: the answer has STATUS and, for errors, a one-line JSON error naming PARAM
expect() {
  local want=$1 param=$2 body=$3 got
  got=$(post /v1/feedback "$body")
  [ "${got%% *}" = "$want" ] || fail "$body: HTTP ${got%% *}, expected $want: ${got#* }"
  [ "$(printf '%s' "${got#* }" | wc -l)" = 0 ] || fail "$body: the answer is not one line"
  if [ "$want" != 200 ]; then
    [ "$(printf '%s' "${got#* }" | jq -r .error.param)" = "$param" ] || fail "$body: param is not $param: ${got#* }"
    printf '%s' "${got#* }" | jq -e '.error.message | length > 0' >/dev/null || fail "$body: no message"
  fi
  printf '%s' "${got#* }" > "$tmp/last.json"
}
# bad bodies: 400 naming the field
expect 400 kind '{"kind": "vote", "message_id": '$a', "rating": 1}'
expect 400 kind '{"kind": 3, "message_id": '$a', "rating": 1}'
expect 400 rejected_id '{"kind": "pair", "chosen_id": '$a'}'
expect 400 chosen_id '{"kind": "pair", "rejected_id": '$a'}'
expect 400 chosen_id '{"kind": "pair", "chosen_id": "'$a'", "rejected_id": '$b'}'
expect 400 rejected_id '{"kind": "pair", "chosen_id": '$a', "rejected_id": '$a'}'
expect 400 chosen '{"kind": "pair", "chosen": '$a', "rejected_id": '$b'}'
expect 400 rating '{"kind": "pair", "chosen_id": '$a', "rejected_id": '$b', "rating": 1}'
expect 400 rejected_id '{"kind": "pair", "chosen_id": '$a', "rejected_id": '$c'}'  # another question
expect 400 rejected_id '{"kind": "pair", "chosen_id": '$b', "rejected_id": '$d'}'  # the same text
expect 404 rejected_id '{"kind": "pair", "chosen_id": '$a', "rejected_id": 99999}'
expect 400 content '{"kind": "edit", "message_id": '$c'}'
expect 400 content '{"kind": "edit", "message_id": '$c', "content": " "}'
expect 400 content '{"kind": "edit", "message_id": '$c', "content": 5}'
expect 400 content "$(jq -nc --argjson m "$c" --arg t "$c_text" '{kind: "edit", message_id: $m, content: $t}')"  # unchanged
expect 400 message_id '{"kind": "edit", "content": "fixed"}'
expect 404 message_id '{"kind": "edit", "message_id": 99999, "content": "fixed"}'
expect 400 comment '{"kind": "edit", "message_id": '$c', "content": "fixed", "comment": ["x"]}'
expect 400 rating '{"message_id": '$a', "rating": 3}'
expect 400 message_id '{"rating": 1}'
expect 400 content '{"message_id": '$a', "rating": 1, "content": "x"}'
expect 400 null '{"kind": "pair", "chosen_id": '$a','  # not JSON: no field to name
# nothing of the above was stored
/usr/bin/python3 -c "
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = [db.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0] for t in ('feedback', 'pairs', 'edits')]
assert n == [0, 0, 0], n" "$tmp/fb.sqlite" || fail "a refused request was stored"

# good bodies
expect 200 '' '{"kind": "pair", "chosen_id": '$b', "rejected_id": '$a', "comment": "the second is right"}'
jq -e --argjson a "$a" --argjson b "$b" '.object == "feedback" and .kind == "pair" and .chosen_id == $b and .rejected_id == $a and (.id | type == "number")' "$tmp/last.json" >/dev/null || fail "pair answer: $(cat "$tmp/last.json")"
edited="Hello! 你好，今天天气很好。"
expect 200 '' "$(jq -nc --argjson m "$c" --arg t "$edited" '{kind: "edit", message_id: $m, content: $t, comment: "friendlier"}')"
jq -e --argjson c "$c" '.kind == "edit" and .message_id == $c' "$tmp/last.json" >/dev/null || fail "edit answer: $(cat "$tmp/last.json")"
expect 200 '' '{"kind": "rating", "message_id": '$d', "rating": 1}'
expect 200 '' '{"message_id": '$a', "rating": -1, "comment": "old clients send no kind"}'
jq -e '.kind == "rating" and .rating == -1' "$tmp/last.json" >/dev/null || fail "rating answer: $(cat "$tmp/last.json")"
stop_server

"$CHATFORGE" feedback stats --db "$tmp/fb.sqlite" | grep -q 'compared pairs 1, edits 1' || fail "feedback stats"
"$CHATFORGE" feedback export --db "$tmp/fb.sqlite" --format preference --out "$tmp/pairs.jsonl"
"$CHATFORGE" feedback export --db "$tmp/fb.sqlite" --format kto --out "$tmp/kto.jsonl"
/usr/bin/python3 - "$tmp" "$system" "$a_text" "$b_text" "$c_text" "$edited" <<'PY'
import json, sys
tmp, system, a, b, c, edited = sys.argv[1:]
q1 = [{"role": "system", "content": system}, {"role": "user", "content": "How much does the X2 cost?"}]
q2 = [{"role": "system", "content": system}, {"role": "user", "content": "你好，今天天气很好吗？"}]
pairs = [json.loads(l) for l in open(f"{tmp}/pairs.jsonl", encoding="utf-8")]
# the thumbs (d up, a down: the same prompt, d's text is b's) give (b over a) as the pair does: written once
assert pairs == [{"prompt": q1, "chosen": b, "rejected": a}, {"prompt": q2, "chosen": edited, "rejected": c}], pairs
kto = [(json.loads(l)["completion"], json.loads(l)["label"]) for l in open(f"{tmp}/kto.jsonl", encoding="utf-8")]
assert kto == [(a, False), (b, True), (edited, True), (c, False)], kto
print("exported:", len(pairs), "preference pairs,", len(kto), "kto rows")
PY
"$CHATFORGE" data prefs --tokenizer "$tmp/model" --input "$tmp/pairs.jsonl" --val-fraction 0 --max-len 256 --out "$tmp/prefs" | tee "$tmp/prefs.txt"
"$CHATFORGE" data prefs --kind kto --tokenizer "$tmp/model" --input "$tmp/kto.jsonl" --val-fraction 0 --max-len 256 --out "$tmp/prefs_kto" | tee "$tmp/prefs_kto.txt"
grep -q 'read 2, train rows 2, val rows 0, skipped 0' "$tmp/prefs.txt" || fail "data prefs did not take every pair"
grep -q 'read 4, train rows 4, val rows 0, skipped 0 (too long 0), desirable 2, undesirable 2' "$tmp/prefs_kto.txt" \
  || fail "data prefs --kind kto did not take every row"
echo "serve_feedback_api: OK"
