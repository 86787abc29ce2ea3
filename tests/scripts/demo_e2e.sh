#!/usr/bin/env bash
# `chatforge demo --minutes 1`: the whole pipeline at small scale must leave every stage's
# artefacts (data, cleaned text with its report, tokenizer, shards, both runs with
# checkpoints and reports, evaluation results with per-language fact accuracy, the demo
# report and a replayable commands.sh), and the cleaning/chat stages must have caught the
# planted duplicates, personal data, sensitive words and malformed chat records. Then the
# finished directory is reused by `demo --chat` (no stage runs again) and its chat.toml
# works from another directory.
# ctest: alone (both cores for most of its run)
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/demo_e2e"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }

# An extra pretraining corpus (--corpus): a few original paragraphs of plain text.
for i in $(seq 1 40); do
  printf 'Paragraph %d of the extra corpus talks about brewing coffee at home, grinding beans and heating water.\n\n' "$i"
done > "$tmp/extra.txt"
"$CHATFORGE" demo --out "$tmp/demo" --minutes 1 --no-progress --corpus "$tmp/extra.txt" > "$tmp/stdout.txt" 2> "$tmp/stderr.txt" \
  || { tail -40 "$tmp/stderr.txt"; fail "demo exited non-zero"; }
d="$tmp/demo"
for f in data/raw/docs.jsonl data/chat/dialogues.jsonl data/chat/kb_qa.jsonl data/chat/mixture.yaml \
         data/eval/heldout.jsonl data/eval/freeform.jsonl data/eval/fresh.jsonl data/eval/refusals.jsonl \
         clean/train.jsonl clean/val.jsonl clean/report.json clean/report.html \
         tokenizer/tokenizer.json shards/pretrain/meta.json \
         runs/pretrain/last/model.safetensors runs/pretrain/metrics.jsonl runs/pretrain/report.html \
         shards/sft/meta.json runs/sft/last/model.safetensors runs/sft/metrics.jsonl runs/sft/report.html \
         eval/perplexity/results.json eval/heldout/results.json eval/heldout/report.html eval/freeform/results.json eval/fresh/results.json eval/refusals/results.json \
         report.html commands.sh; do
  [ -s "$d/$f" ] || fail "missing artefact $f"
done

/usr/bin/python3 - "$d" <<'PY'
import json, sys, os
d = sys.argv[1]
def fail(m): sys.exit("FAIL: " + m)
clean = json.load(open(f"{d}/clean/report.json"))
if clean["files"] != 2: fail(f"--corpus: clean read {clean['files']} files, expected 2")
# the cleaning stage removed planted exact duplicates and scrubbed e-mails
train = open(f"{d}/clean/train.jsonl", encoding="utf-8").read()
if "@mail.example" in train: fail("planted e-mail addresses survived cleaning")
if "Project Falcon" in train or "猎鹰计划" in train: fail("sensitive words survived cleaning")
if "$$$ BEST DEALS" in train: fail("spam document survived the quality filters")
meta = json.load(open(f"{d}/shards/sft/meta.json"))
skipped = sum(t.get("skipped", 0) for t in meta["chat"]["tasks"].values()) if isinstance(meta["chat"].get("tasks"), dict) \
          else meta["chat"].get("skipped", 0)
if json.dumps(meta).count("customer") == 0 and skipped < 8: fail(f"malformed chat records not counted: {skipped}")
res = json.load(open(f"{d}/eval/heldout/results.json"))
fa = res["metrics"]["fact_accuracy"]["value"]
groups = res["per_group"]["fact_accuracy"]["groups"]
if set(groups) != {"en", "zh"}: fail(f"groups {sorted(groups)}")
if not (0 <= fa <= 100): fail(f"fact_accuracy {fa}")
ppl = json.load(open(f"{d}/eval/perplexity/results.json"))
if "perplexity" not in json.dumps(ppl): fail("no perplexity in results")
rep = open(f"{d}/report.html", encoding="utf-8").read()
for link in ["clean/report.html", "runs/pretrain/report.html", "runs/sft/report.html", "eval/heldout/report.html",
             "eval/fresh/report.html"]:
    if f'href="{link}"' not in rep: fail(f"report.html does not link {link}")
print(f"demo e2e: fact accuracy {fa:.1f}% (en {groups['en']['value']:.1f}, zh {groups['zh']['value']:.1f})")
PY

# commands.sh lists every child stage, replayable by a shell.
grep -c '^chatforge ' "$d/commands.sh" | grep -qx 12 || fail "commands.sh should list 12 chatforge commands"
commands_before=$(cat "$d/commands.sh")
bash -n "$d/commands.sh" || fail "commands.sh is not valid shell"
grep -q "held-out questions answered with the right fact" "$tmp/stdout.txt" || fail "no summary on stdout"

# The finished directory: a completion marker, and chat.toml works from another directory
# (its model path is relative to the file).
[ -s "$d/demo-finished.json" ] || fail "no demo-finished.json marker"
grep -qx 'model = "runs/sft/last"' "$d/chat.toml" || fail "chat.toml's model path should be relative to the file"
(cd "$d/runs" && printf 'How much does the AeroBrew X2 cost?\n' | "$CHATFORGE" chat --config ../chat.toml --max-tokens 8) \
  > "$tmp/chat_other_dir.txt" 2>&1 || { cat "$tmp/chat_other_dir.txt"; fail "chat --config from another directory"; }
# demo --chat with the same options reuses it: no stage runs again, the chat answers.
printf 'How much does the AeroBrew X2 cost?\n' | \
  "$CHATFORGE" demo --out "$d" --minutes 1 --no-progress --corpus "$tmp/extra.txt" --chat \
  > "$tmp/reuse.txt" 2> "$tmp/reuse_err.txt" || { cat "$tmp/reuse_err.txt"; fail "demo --chat on a finished demo"; }
grep -q "^reusing the finished demo in $d" "$tmp/reuse.txt" || { cat "$tmp/reuse.txt"; fail "demo --chat did not reuse"; }
! grep -q "==> \[" "$tmp/reuse_err.txt" || fail "demo --chat reran stages of a finished demo"
[ "$(cat "$d/commands.sh")" = "$commands_before" ] || fail "reusing the demo changed commands.sh"

# Bad flags: clear one-line usage errors, exit 2.
set +e
"$CHATFORGE" demo --out "$tmp/x" --minutes 0.5 2> "$tmp/err1.txt"; rc1=$?
"$CHATFORGE" demo --out "$tmp/x" --lang fr 2> "$tmp/err2.txt"; rc2=$?
set -e
[ "$rc1" = 2 ] && grep -q -- "--minutes" "$tmp/err1.txt" || fail "--minutes 0.5 should be a usage error (rc $rc1)"
[ "$rc2" = 2 ] && grep -q -- "--lang" "$tmp/err2.txt" || fail "--lang fr should be a usage error (rc $rc2)"
echo "demo e2e ok"
