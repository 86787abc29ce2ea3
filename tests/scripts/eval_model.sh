#!/usr/bin/env bash
# `chatforge eval perplexity | generate | choice` and `human-kit --model` on a tiny model
# trained for a few seconds on planted facts ("NAME keeps X and Y."):
# - perplexity on a shard equals exp(loss) of the PyTorch reference (scripts/torch_gpt2.py)
#   over the same strided windows, and the .jsonl text gives the same numbers and bytes;
# - generate's BLEU equals `chatforge metrics bleu` on the same outputs; the trained group
#   scores far above the untrained one, with a significant gap; he/she counterfactual
#   swaps change the answers and lower the log-likelihood of the original answer;
# - choice picks the trained continuation, normalised and unnormalised picks are the
#   argmaxes of what results.json reports;
# - bad input (missing references, no choices, answer out of range, empty group) fails
#   with one line naming file:line.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/eval_model"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
cf() { "$CHATFORGE" "$@"; }
py() { /usr/bin/python3 "$@"; }

# ---- data: planted facts, generation items (seen / unseen groups), choice items
py - "$tmp" <<'PY'
import json, random, sys
d = sys.argv[1]
rng = random.Random(11)
objs = ["the red ball", "a quiet river", "the tall tree", "an open door", "the warm bread", "a bright star",
        "the old boat", "a green hat", "the small cup", "a long road"]
syl = ["ka", "lo", "mi", "ru", "te", "zo", "bi", "na", "pe", "du", "vo", "si"]
def name():
    return "".join(rng.choice(syl) for _ in range(3))
names = []
while len(names) < 24:
    n = name()
    if n not in names: names.append(n)
facts = {}
for n in names:
    a, b = rng.sample(objs, 2)
    facts[n] = f"{a} and {b}."
seen, unseen = names[:12], names[12:]
facts["he"] = "the red ball and the tall tree."
facts["she"] = "the warm bread and a bright star."
train = [f"{n} keeps {facts[n]}" for n in seen + ["he", "she"] * 4]
with open(f"{d}/train.jsonl", "w") as f:
    for _ in range(40):
        for t in train: f.write(json.dumps({"text": t}) + "\n")
with open(f"{d}/val.jsonl", "w") as f:
    for t in train[:6] + train[-2:] + [f"{n} keeps {facts[n]}" for n in unseen[:4]] + ["你好，世界。 héllo"]:
        f.write(json.dumps({"text": t}) + "\n")
with open(f"{d}/gen.jsonl", "w") as f:
    for n in seen + ["he", "she"]:
        f.write(json.dumps({"id": n, "prompt": f"{n} keeps", "reference": facts[n], "group": "trained"}) + "\n")
    for n in unseen:
        f.write(json.dumps({"id": n, "prompt": f"{n} keeps", "reference": facts[n], "group": "untrained"}) + "\n")
with open(f"{d}/choice.jsonl", "w") as f:
    for i, n in enumerate(seen):
        right = " " + facts[n]
        wrong = [" " + facts[m] for m in seen if facts[m] != facts[n]][:2] + [" a dog."]
        choices = wrong[:]
        choices.insert(i % 4, right)
        f.write(json.dumps({"prompt": f"{n} keeps", "choices": choices, "answer": i % 4,
                            "group": "a" if i % 2 else "b"}) + "\n")
open(f"{d}/pairs.tsv", "w").write("# pronouns\nhe\tshe\n")
PY
cf tokenizer train --input "$tmp/train.jsonl" --vocab-size 300 --out "$tmp/tok" \
  --special-tokens '<|endoftext|>' '<|im_start|>' '<|im_end|>' >/dev/null 2>&1
cf data tokenize --tokenizer "$tmp/tok" --input "$tmp/train.jsonl" "$tmp/val.jsonl" --out "$tmp/shards" \
  --no-progress >/dev/null 2>&1
cf train --data "$tmp/shards" --tokenizer "$tmp/tok" --out "$tmp/run" --n-layer 2 --n-head 2 --n-embd 64 \
  --seq-len 64 --batch-size 8 --steps 400 --lr 3e-3 --warmup 10 --eval-every 400 --eval-batches 1 --seed 3 \
  --no-progress 2>"$tmp/train.log" || { cat "$tmp/train.log"; fail "training"; }
M="$tmp/run/last"
[ -f "$M/tokenizer.json" ] || fail "checkpoint has no tokenizer.json"

# ---- perplexity: shard vs PyTorch reference, and the same text as .jsonl
val=$(ls "$tmp"/shards/val_*.bin | head -1)
cf eval perplexity --model "$M" --data "$val" --window 24 --stride 10 --out "$tmp/ppl_bin" >/dev/null 2>"$tmp/ppl.err" \
  || { cat "$tmp/ppl.err"; fail "perplexity on shards"; }
cf eval perplexity --model "$M" --data "$tmp/val.jsonl" --window 24 --stride 10 --out "$tmp/ppl_jsonl" >/dev/null 2>&1 \
  || fail "perplexity on jsonl"
cf eval perplexity --model "$M" --data "$tmp/shards" --out "$tmp/ppl_dir" >/dev/null 2>&1 || fail "perplexity on a dir"
py - "$CF_SOURCE_DIR/scripts" "$M" "$val" "$tmp" <<'PY' || fail "perplexity vs PyTorch"
import json, math, struct, sys
sys.path.insert(0, sys.argv[1])
import torch
import torch.nn.functional as F
from torch_train_reference import load_model, read_shard
model, shard, tmp = load_model(sys.argv[2]), sys.argv[3], sys.argv[4]
eot = struct.unpack("<i", open(shard, "rb").read()[40:44])[0]
toks = [eot] + [int(t) for t in read_shard(shard)]
window, stride, n = 24, 10, len(toks)
nats, count, pos = 0.0, 0, 1
with torch.no_grad():
    while pos < n:          # score tokens [pos, end) with up to `window` inputs of context
        end = min(pos + stride, n)
        begin = max(0, end - 1 - window)
        inp = torch.tensor([toks[begin:end - 1]])
        logp = F.log_softmax(model(inp)[0].double(), dim=-1)
        for j in range(pos, end):
            nats -= logp[j - 1 - begin, toks[j]].item()
        count += end - pos
        pos = end
ref_loss = nats / count
got = json.load(open(f"{tmp}/ppl_bin/results.json"))
assert got["tokens_scored"] == count, (got["tokens_scored"], count)
assert abs(got["loss"] - ref_loss) < 1e-4, (got["loss"], ref_loss)
assert abs(got["perplexity"] - math.exp(ref_loss)) / math.exp(ref_loss) < 1e-4, (got["perplexity"], math.exp(ref_loss))
nbytes = sum(len(json.loads(l)["text"].encode()) for l in open(f"{tmp}/val.jsonl"))
assert got["bytes"] == nbytes, (got["bytes"], nbytes)
assert abs(got["bits_per_byte"] - nats / math.log(2) / nbytes) < 1e-6
j = json.load(open(f"{tmp}/ppl_jsonl/results.json"))
assert j["tokens_scored"] == count and j["bytes"] == nbytes and abs(j["loss"] - got["loss"]) < 1e-9, j
d = json.load(open(f"{tmp}/ppl_dir/results.json"))
n_ctx = json.load(open(f"{sys.argv[2]}/config.json"))["n_positions"]
assert d["window"] == n_ctx and d["stride"] == n_ctx // 2 and d["tokens_scored"] == count, d
print(f"perplexity {got['perplexity']:.4f} (torch {math.exp(ref_loss):.4f}), bits/byte {got['bits_per_byte']:.4f}")
PY
grep -q "<svg\|<table" "$tmp/ppl_bin/report.html" || fail "perplexity report"

# ---- generate: metrics, groups, counterfactual; BLEU equals `metrics bleu`
cf eval generate --model "$M" --data "$tmp/gen.jsonl" --group-field group --counterfactual "$tmp/pairs.tsv" \
  --max-tokens 24 --bootstrap 200 --out "$tmp/gen" >"$tmp/gen.out" 2>"$tmp/gen.err" \
  || { cat "$tmp/gen.err"; fail "eval generate"; }
py - "$tmp/gen/results.json" "$tmp" <<'PY' || fail "generate results"
import json, sys
r = json.load(open(sys.argv[1])); tmp = sys.argv[2]
outs = r["outputs"]
assert len(outs) == 26 and r["items"] == 26
with open(f"{tmp}/hyp.txt", "w") as h, open(f"{tmp}/ref.txt", "w") as f:
    for o in outs:
        assert "\n" not in o["references"][0]
        h.write(o["output"].replace("\n", " ") + "\n"); f.write(o["references"][0] + "\n")
m = r["metrics"]
for k in ("bleu", "rouge1_f", "rouge2_f", "rougeL_f", "rougeLsum_f", "exact_match", "f1"):
    assert k in m, (k, list(m))
g = r["per_group"]["exact_match"]
tr, un = g["groups"]["trained"]["value"], g["groups"]["untrained"]["value"]
gap = g["largest_gap"]
print(f"exact match trained {tr:.1f} vs untrained {un:.1f}; gap {gap['gap']:.1f} CI {gap['ci95']}")
assert tr >= 70 and un <= 10, (tr, un)
assert gap["high"] == "trained" and gap["significant"], gap
b = r["per_group"]["bleu"]["groups"]
assert b["trained"]["value"] > b["untrained"]["value"] + 30, b
cf = {p["pair"]: p for p in r["counterfactual"]["per_pair"]}
hs = cf["he/she"]
assert hs["items"] == 2 and hs["changed_rate"] == 1.0, hs
assert hs["mean_loglik_diff"] < -1.0, hs
he = next(o for o in outs if o["id"] == "he")
assert he["counterfactual"]["swapped_prompt"] == "she keeps" and he["counterfactual"]["loglik_swapped"] < he["counterfactual"]["loglik_original"]
PY
cf metrics bleu --hyp "$tmp/hyp.txt" --ref "$tmp/ref.txt" --json --bootstrap 10 > "$tmp/bleu.json"
py - "$tmp/gen/results.json" "$tmp/bleu.json" <<'PY' || fail "generate BLEU vs metrics bleu"
import json, sys
r, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert abs(r["metrics"]["bleu"]["value"] - b["bleu"]["score"]) < 1e-9, (r["metrics"]["bleu"], b["bleu"]["score"])
assert r["bleu"]["signature"] == b["bleu"]["signature"], (r["bleu"]["signature"], b["bleu"]["signature"])
print(f"BLEU {b['bleu']['score']:.2f} from eval generate and from metrics bleu")
PY
grep -q "BLEU|nrefs:1|case:mixed|eff:no|tok:13a" "$tmp/gen.out" || fail "BLEU line: $(head -2 "$tmp/gen.out")"
grep -q "exact_match by group\|<svg" "$tmp/gen/report.html" || fail "generate report lacks charts"
grep -q "Counterfactual term swaps" "$tmp/gen/report.html" || fail "generate report lacks counterfactual table"
# --tokenize zh and sampling flags are accepted; batch size does not change greedy output
cf eval generate --model "$M" --data "$tmp/gen.jsonl" --tokenize zh --batch 3 --max-tokens 24 --bootstrap 10 \
  --out "$tmp/gen_zh" >/dev/null 2>&1 || fail "generate --tokenize zh --batch 3"
py - "$tmp/gen/results.json" "$tmp/gen_zh/results.json" <<'PY' || fail "batch changes greedy output"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert [o["output"] for o in a["outputs"]] == [o["output"] for o in b["outputs"]]
assert "tok:zh" in b["bleu"]["signature"]
PY

# ---- choice
cf eval choice --model "$M" --data "$tmp/choice.jsonl" --group-field group --bootstrap 200 --out "$tmp/choice" \
  >"$tmp/choice.out" 2>"$tmp/choice.err" || { cat "$tmp/choice.err"; fail "eval choice"; }
py - "$tmp/choice/results.json" <<'PY' || fail "choice results"
import json, sys
r = json.load(open(sys.argv[1]))
acc, raw = r["metrics"]["accuracy"]["value"], r["metrics"]["accuracy_unnormalised"]["value"]
print(f"choice accuracy {acc:.1f}% (unnormalised {raw:.1f}%)")
assert acc >= 90, acc
right = raw_right = 0
for o in r["outputs"]:
    opts = o["options"]
    for p in opts: assert abs(p["loglik_per_token"] - p["loglik"] / p["tokens"]) < 1e-9 and p["loglik"] < 0
    assert o["predicted"] == max(range(len(opts)), key=lambda i: opts[i]["loglik_per_token"])
    assert o["predicted_unnormalised"] == max(range(len(opts)), key=lambda i: opts[i]["loglik"])
    right += o["predicted"] == o["answer"]; raw_right += o["predicted_unnormalised"] == o["answer"]
assert abs(acc - 100 * right / len(r["outputs"])) < 1e-9 and abs(raw - 100 * raw_right / len(r["outputs"])) < 1e-9
assert set(r["per_group"]["accuracy"]["groups"]) == {"a", "b"}
PY

# ---- human-kit from two models
cf eval human-kit --data "$tmp/gen.jsonl" --model "$M" --model "$tmp/run/best" --max-tokens 8 --out "$tmp/kit" \
  >/dev/null 2>"$tmp/kit.err" || { cat "$tmp/kit.err"; fail "human-kit --model"; }
[ -f "$tmp/kit/sheet.html" ] && [ -f "$tmp/kit/key.json" ] || fail "human-kit files"
[ "$(wc -l < "$(ls "$tmp"/kit/answers_*_a.jsonl)")" = 26 ] || fail "human-kit answers"
# a run's checkpoint link is named after the run: ".../run/best" -> "run-best"
[ -f "$tmp/kit/answers_run-best_b.jsonl" ] || fail "human-kit: B's answers not named after its run: $(ls "$tmp/kit")"
grep -q '"run-best"' "$tmp/kit/key.json" || fail "human-kit: B not named run-best in key.json"

# ---- bad input: one line naming file:line, exit 1
expect_error() {  # expect_error PATTERN -- command...
  local pat=$1; shift 2; local out rc=0
  out=$("$@" 2>&1 >/dev/null) || rc=$?
  [ "$rc" = 1 ] || fail "expected exit 1 for '$pat', got $rc: $out"
  echo "$out" | grep -q -- "$pat" || fail "expected '$pat' in: $out"
  [ "$(echo "$out" | wc -l)" = 1 ] || fail "expected one line: $out"
}
printf '{"prompt": "a keeps", "reference": "x"}\n{"prompt": "b keeps"}\n' > "$tmp/noref.jsonl"
expect_error "noref.jsonl:2: item '2': references missing" -- cf eval generate --model "$M" --data "$tmp/noref.jsonl" --out "$tmp/x"
printf '{"prompt": "a keeps", "reference": "x", "group": "g"}\n{"prompt": "b keeps", "reference": "y", "group": ""}\n' > "$tmp/nogroup.jsonl"
expect_error "nogroup.jsonl:2: item '2': group field 'group' is empty" -- \
  cf eval generate --model "$M" --data "$tmp/nogroup.jsonl" --group-field group --out "$tmp/x"
expect_error "group 'zz'" -- cf eval generate --model "$M" --data "$tmp/gen.jsonl" --group-field group \
  --expect-groups trained,zz --out "$tmp/x"
printf '{"prompt": "a keeps", "choices": [" x", " y"], "answer": 0}\n{"prompt": "b keeps", "answer": 0}\n' > "$tmp/c1.jsonl"
expect_error "c1.jsonl:2: item '2': 'choices' missing" -- cf eval choice --model "$M" --data "$tmp/c1.jsonl" --out "$tmp/x"
printf '{"id": "q7", "prompt": "a keeps", "choices": [" x", " y"], "answer": 2}\n' > "$tmp/c2.jsonl"
expect_error "c2.jsonl:1: item 'q7': answer index 2 out of range (0..1)" -- \
  cf eval choice --model "$M" --data "$tmp/c2.jsonl" --out "$tmp/x"
printf 'he\n' > "$tmp/badpairs.tsv"
expect_error "badpairs.tsv:1" -- cf eval generate --model "$M" --data "$tmp/gen.jsonl" --counterfactual "$tmp/badpairs.tsv" --out "$tmp/x"
expect_error "does not exist" -- cf eval perplexity --model "$M" --data "$tmp/missing.txt" --out "$tmp/x"
printf '{"body": "x"}\n' > "$tmp/notext.jsonl"
expect_error "notext.jsonl:1: needs a string 'text' field" -- cf eval perplexity --model "$M" --data "$tmp/notext.jsonl" --out "$tmp/x"
rc=0; cf eval perplexity --model "$M" --data "$val" --window 5000 --out "$tmp/x" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "--window beyond the context should be a usage error (2), got $rc"
rc=0; out=$(cf eval human-kit --data "$tmp/gen.jsonl" --model "$M" --out "$tmp/x" 2>&1) || rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "exactly two model directories" || fail "one --model: $rc $out"
rc=0; out=$(cf eval human-kit --data "$tmp/gen.jsonl" --answers-a "$tmp/gen.jsonl" --out "$tmp/x" 2>&1) || rc=$?
[ "$rc" = 2 ] && echo "$out" | grep -q "answers-b" || fail "only --answers-a: $rc $out"
echo "eval model tasks OK"
