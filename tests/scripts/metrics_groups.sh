#!/usr/bin/env bash
# `chatforge metrics ... --groups`: on a generated dataset with a planted group difference
# (group "she" gets noisier hypotheses) every metric's largest gap is detected (interval
# excludes 0); with no planted difference the gap's interval covers 0. Also the bad-input
# contract: missing references, mismatched line counts and empty groups give one-line
# errors naming the file/item and a non-zero exit; --html writes a report with SVG bars.
set -euo pipefail
CHATFORGE=${CHATFORGE:?path to the chatforge binary}
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
TMP=${CF_BINARY_DIR:-/tmp}/test-tmp/metrics_groups
rm -rf "$TMP" && mkdir -p "$TMP"
cd "$TMP"

# Dataset: 400 items, groups alternate he/she; hypotheses are references with a fraction
# of words replaced: 10% for both groups (null) or 10% vs 35% (planted).
"$PY" - <<'PYEOF'
import random
words = "the a model answer question city river mountain paper report data value result test group people".split()
for name, noise_she in (("null", 0.10), ("planted", 0.35)):
    rng = random.Random(42)
    hyp, ref, grp = [], [], []
    for i in range(400):
        g = "he" if i % 2 == 0 else "she"
        r = [rng.choice(words) for _ in range(rng.randint(8, 16))]
        p = noise_she if g == "she" else 0.10
        h = [w if rng.random() >= p else rng.choice(words) for w in r]
        hyp.append(" ".join(h)); ref.append(" ".join(r)); grp.append(g)
    for suffix, lines in (("hyp", hyp), ("ref", ref), ("groups", grp)):
        open(f"{name}.{suffix}", "w").write("\n".join(lines) + "\n")
PYEOF

fail=0
check_gap() {  # check_gap NAME METRIC-CMD EXPECT(significant|covers0)
  local name=$1 sub=$2 expect=$3
  "$CHATFORGE" metrics "$sub" --hyp "$name.hyp" --ref "$name.ref" --groups "$name.groups" --json --bootstrap 500 \
    > "$name.$sub.json"
  "$PY" - "$name.$sub.json" "$expect" "$name $sub" <<'PYEOF' || fail=1
import json, sys
res, expect, label = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
bad = False
for metric, g in res["per_group"].items():
    gap = g["largest_gap"]
    lo, hi = gap["ci95"]
    ok = (lo > 0) if expect == "significant" else (lo <= 0 <= hi)
    if expect == "significant":
        ok = ok and gap["high"] == "he" and gap["low"] == "she"
    print(("ok   " if ok else "FAIL ") + f"{label} {metric}: gap {gap['high']}-{gap['low']} = {gap['gap']:.2f} "
          f"CI [{lo:.2f}, {hi:.2f}] (expected {expect})")
    bad |= not ok
sys.exit(1 if bad else 0)
PYEOF
}
for sub in bleu rouge qa; do
  check_gap planted "$sub" significant
  check_gap null "$sub" covers0
done

# HTML report with per-group SVG bars and whiskers.
"$CHATFORGE" metrics bleu --hyp planted.hyp --ref planted.ref --groups planted.groups --html report.html > /dev/null
if grep -q "<svg" report.html && grep -q "bleu by group" report.html && grep -q ">she<" report.html; then
  echo "ok   --html writes a report with per-group SVG bars"
else
  echo "FAIL --html report"; fail=1
fi

# The same through JSONL items (--data, --group-field): identical results.
"$PY" - <<'PYEOF'
import json
refs = open("planted.ref").read().splitlines()
groups = open("planted.groups").read().splitlines()
with open("planted.jsonl", "w") as f:
    for i, (r, g) in enumerate(zip(refs, groups)):
        f.write(json.dumps({"id": f"item{i + 1}", "prompt": "q", "references": [r], "gender": g}) + "\n")
lines = open("planted.jsonl").read().splitlines()
lines[6] = json.dumps({"id": "item7", "prompt": "q", "references": ["", ""], "gender": "he"})
open("norefs.jsonl", "w").write("\n".join(lines) + "\n")
lines = open("planted.jsonl").read().splitlines()
lines[4] = json.dumps({"id": "item5", "prompt": "q", "references": "x", "gender": ""})
open("nogroup.jsonl", "w").write("\n".join(lines) + "\n")
PYEOF
"$CHATFORGE" metrics qa --hyp planted.hyp --data planted.jsonl --group-field gender --json --bootstrap 500 > jsonl.qa.json
if "$PY" -c "import json,sys; a=json.load(open('jsonl.qa.json')); b=json.load(open('planted.qa.json')); sys.exit(0 if a['metrics']==b['metrics'] and a['per_group']==b['per_group'] else 1)"; then
  echo "ok   --data/--group-field gives the same results as --ref/--groups"
else
  echo "FAIL --data/--group-field differs from --ref/--groups"; fail=1
fi

# Bad input: exit status and the one-line message.
expect_error() {  # expect_error CODE "needle" args...
  local code=$1 needle=$2
  shift 2
  set +e
  "$CHATFORGE" "$@" > out.txt 2> err.txt
  local rc=$?
  set -e
  if [[ $rc -eq $code ]] && grep -qF -- "$needle" err.txt && [[ $(wc -l < err.txt) -eq 1 ]]; then
    echo "ok   error: $(cat err.txt)"
  else
    echo "FAIL expected exit $code and '$needle', got exit $rc: $(cat err.txt)"; fail=1
  fi
}
head -n 399 null.ref > short.ref
expect_error 1 "line count mismatch: null.hyp has 400 lines but short.ref has 399" metrics bleu --hyp null.hyp --ref short.ref
sed '7s/.*//' null.ref > missing.ref
expect_error 1 "item 7: reference missing (line 7 is empty in missing.ref)" metrics rouge --hyp null.hyp --ref missing.ref
expect_error 1 "item 7: reference missing (line 7 is empty in all of missing.ref, missing.ref)" \
  metrics qa --hyp null.hyp --ref missing.ref --ref missing.ref
sed '5s/.*//' null.groups > empty.groups
expect_error 1 "empty.groups:5: item 5 has an empty group label" metrics qa --hyp null.hyp --ref null.ref --groups empty.groups
expect_error 1 "group 'they' has no items" metrics bleu --hyp null.hyp --ref null.ref --groups null.groups \
  --expect-groups he,she,they
expect_error 1 "nosuch.txt: no such file" metrics bleu --hyp nosuch.txt --ref null.ref
expect_error 1 "norefs.jsonl:7: item 'item7': references missing" metrics bleu --hyp planted.hyp --data norefs.jsonl
expect_error 1 "nogroup.jsonl:5: item 'item5': group field 'gender' is empty" metrics rouge --hyp planted.hyp \
  --data nogroup.jsonl --group-field gender
expect_error 1 "line count mismatch: short.ref has 399 lines but planted.jsonl has 400 items" metrics qa --hyp short.ref \
  --data planted.jsonl
expect_error 2 "unknown BLEU tokenizer 'moses'" metrics bleu --hyp null.hyp --ref null.ref --tokenize moses

exit $fail
