#!/usr/bin/env bash
# `chatforge eval human-kit` / `human-score` round trip through the CLI: build a kit from
# a data file (prompts and messages) and two answer files, let three synthetic raters
# with known preferences fill in ratings using only what raters see (sheet.csv), then
# check that human-score reports exactly the planted win/tie/loss counts, that the sheet
# does not leak which system is which, and that bad input is rejected with clear errors.
set -euo pipefail
CHATFORGE=${CHATFORGE:?path to the chatforge binary}
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
TMP=${CF_BINARY_DIR:-/tmp}/test-tmp/metrics_human_kit
rm -rf "$TMP" && mkdir -p "$TMP"
cd "$TMP"

"$PY" - <<'PYEOF'
import json
with open("data.jsonl", "w") as d, open("base.jsonl", "w") as a, open("tuned.jsonl", "w") as b:
    for i in range(30):
        if i % 3 == 0:
            rec = {"id": f"x{i}", "messages": [{"role": "user", "content": f"第{i}个问题：天空为什么是蓝的？"},
                                               {"role": "assistant", "content": "GOLD-REFERENCE-ANSWER"}]}
        else:
            rec = {"id": f"x{i}", "prompt": f"Question {i}: why is the sky blue, \"really\"?"}
        d.write(json.dumps(rec, ensure_ascii=False) + "\n")
        a.write(json.dumps({"id": f"x{i}", "answer": f"BASE-{i} Rayleigh scattering."}) + "\n")
        b.write(json.dumps({"answer": f"TUNED-{i} Because of scattering, a, b."}) + "\n")
PYEOF

"$CHATFORGE" eval human-kit --data data.jsonl --answers-a base.jsonl --answers-b tuned.jsonl --out kit --seed 3
for f in sheet.html sheet.csv key.json; do [[ -s kit/$f ]] || { echo "FAIL kit/$f missing"; exit 1; }; done

# Raters see sheet.csv only; the truth they act on is the text of the answers (BASE/TUNED).
"$PY" - <<'PYEOF'
import csv, json
rows = list(csv.DictReader(open("kit/sheet.csv", newline="", encoding="utf-8")))
assert [r["item_id"] for r in rows] != [f"x{i}" for i in range(30)], "items not shuffled"
firsts = {r["answer_1"].split("-")[0] for r in rows}
assert firsts == {"BASE", "TUNED"}, f"left/right order not randomised: {firsts}"
html = open("kit/sheet.html", encoding="utf-8").read()
assert "base" not in html.lower().replace("base-", "") and "tuned" not in html.lower().replace("tuned-", ""), \
    "sheet names the systems"
assert "第0个问题" in html, "messages prompt missing"
assert "GOLD-REFERENCE-ANSWER" not in html, "the final assistant turn (reference) leaked into the prompt"

def truth(i, rater):  # 0 = base better, 1 = tie, 2 = tuned better
    if rater == 2 and i % 7 == 0:
        return 1
    return 2 if i % 3 != 1 else (0 if i % 2 else 1)

expected = {"a": 0, "t": 0, "b": 0}
for rater in range(3):
    out = csv.writer(open(f"r{rater}.csv", "w", newline="", encoding="utf-8"))
    out.writerow(["item_id", "prompt", "answer_1", "answer_2", "preference"])  # a filled-in sheet.csv
    for r in rows:
        i = int(r["item_id"][1:])
        if rater == 1 and i == 4:
            pref = ""  # left blank: skipped
        else:
            t = truth(i, rater)
            expected["atb"[t]] += 1
            base_first = r["answer_1"].startswith("BASE")
            pref = "tie" if t == 1 else ("1" if (t == 0) == base_first else "2")
        out.writerow([r["item_id"], r["prompt"], r["answer_1"], r["answer_2"], pref])
json.dump(expected, open("expected.json", "w"))
PYEOF

"$CHATFORGE" eval human-score --kit kit --ratings r0.csv r1.csv r2.csv --json --out results.json --html report.html \
  > score.json
"$CHATFORGE" eval human-score --kit kit --ratings r0.csv r1.csv r2.csv
"$PY" - <<'PYEOF'
import json
res, exp = json.load(open("score.json")), json.load(open("expected.json"))
n = exp["a"] + exp["t"] + exp["b"]
checks = [
    ("model names from file names", res["model_a"] == "base" and res["model_b"] == "tuned"),
    ("raters are the file names", sorted(res["raters"]) == ["r0", "r1", "r2"]),
    ("blank preference skipped", res["blank_skipped"] == 1 and res["ratings"] == n == 89),
    ("win/tie/loss counts", res["counts"] == {"a_wins": exp["a"], "ties": exp["t"], "b_wins": exp["b"]}),
    ("rates", abs(res["a_win"]["rate"] - exp["a"] / n) < 1e-12 and abs(res["b_win"]["rate"] - exp["b"] / n) < 1e-12),
    ("intervals contain the rates", all(r["ci95"][0] <= r["rate"] <= r["ci95"][1] for r in (res["a_win"], res["tie"], res["b_win"]))),
    ("agreement reported", res["agreement"]["krippendorff_alpha"] is not None and res["agreement"]["cohen_kappa"] is None),
    ("--out matches --json", json.load(open("results.json")) == res),
]
bad = [c for c, ok in checks if not ok]
for c, ok in checks:
    print(("ok   " if ok else "FAIL ") + c)
print("expected", exp, "got", res["counts"])
raise SystemExit(1 if bad else 0)
PYEOF
grep -q "<svg" report.html || { echo "FAIL report.html has no chart"; exit 1; }

fail=0
expect_error() {  # expect_error "needle" args...
  local needle=$1
  shift
  if "$CHATFORGE" "$@" > out.txt 2> err.txt; then
    echo "FAIL expected an error: $*"; fail=1; return
  fi
  if grep -qF -- "$needle" err.txt; then echo "ok   error: $(cat err.txt)"; else echo "FAIL '$needle' not in: $(cat err.txt)"; fail=1; fi
}
head -n 29 tuned.jsonl > short.jsonl
expect_error "short.jsonl has 29 records but data.jsonl has 30" eval human-kit --data data.jsonl --answers-a base.jsonl \
  --answers-b short.jsonl --out kit2
printf '{"prompt": "hi"}\n{"prompt": \n' > broken.jsonl
expect_error "broken.jsonl:2: invalid JSON" eval human-kit --data broken.jsonl --answers-a base.jsonl --answers-b base.jsonl --out kit3
printf 'rater,item_id,preference\nr,x1,left\n' > bad.csv
expect_error "bad.csv:2: preference 'left' for item 'x1' must be 1, 2 or tie" eval human-score --kit kit --ratings bad.csv
expect_error "nokit/key.json: no such file" eval human-score --kit nokit --ratings bad.csv
exit $fail
