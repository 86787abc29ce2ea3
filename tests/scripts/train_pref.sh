#!/usr/bin/env bash
# Preference tuning end to end: `data prefs` turns preference JSONL (the feedback export's
# layout, and bad records skipped with file:line or refused under --strict) into shards;
# `train --stage dpo` from a random --init model learns the preferred answer style: on
# held-out pairs the reward margin (0 at the start: the policy is the reference) becomes
# clearly positive with most pairs ranked right; resume is bit-exact; --stage kto on the same
# data as rated answers separates liked from disliked; DPO with LoRA (reference = the base
# with the adapters off) learns too; 2 MPI ranks (ZeRO-1) equal 1 rank with accumulation;
# wrong data for a stage is a one-line error.
set -euo pipefail
tmp=$CF_BINARY_DIR/test-tmp/train_pref
rm -rf "$tmp"; mkdir -p "$tmp"
cd "$tmp"
/usr/bin/python3 - <<'PY'
import json, random
random.seed(5)
items = "apple|bread|coffee|lamp|chair|book|shirt|phone|bike|pen|cup|rug".split("|")
with open("prefs.jsonl", "w") as f, open("text.txt", "w") as t:
    for i in range(240):
        it = random.choice(items); n = random.randint(2, 99)
        prompt = [{"role": "user", "content": f"how much is the {it}?"}]
        chosen = f"the {it} costs {n} dollars."
        rejected = random.choice(["i do not know.", "ask someone else.", "no idea, sorry."])
        f.write(json.dumps({"prompt": prompt, "chosen": chosen, "rejected": rejected}) + "\n")
        t.write(f"how much is the {it}? {chosen} {rejected}\n")
with open("bad.jsonl", "w") as f:
    f.write('{"prompt": "q", "chosen": "a"}\n')
    f.write('{"prompt": "q", "chosen": "same", "rejected": "same"}\n')
    f.write('not json\n')
    f.write(json.dumps({"prompt": "q " * 200, "chosen": "a", "rejected": "b"}) + "\n")
    f.write(json.dumps({"prompt": "how much is the pen?", "chosen": "the pen costs 3 dollars.", "rejected": "no."}) + "\n")
PY
"$CHATFORGE" tokenizer train --input text.txt --vocab-size 400 --out tok \
  --special-tokens '<|endoftext|>' '<|im_start|>' '<|im_end|>' >/dev/null 2>&1
vocab=$(( $(wc -l < tok/vocab.txt) - 1 ))
"$CHATFORGE" model init --out base --n-layer 2 --n-head 2 --n-embd 48 --vocab-size "$vocab" --n-ctx 128 --seed 3 >/dev/null
# bad records: skipped and counted with file:line, or the first one stops --strict
"$CHATFORGE" data prefs --tokenizer tok --input bad.jsonl --max-len 128 --val-fraction 0 --out bad_out > bad.log
grep -q "read 5, train rows 1, val rows 0, skipped 4 (too long 1)" bad.log || { cat bad.log; exit 1; }
grep -q "bad.jsonl:1: missing field 'rejected'" bad.log
grep -q "bad.jsonl:2: chosen and rejected are identical" bad.log
grep -q "bad.jsonl:3: " bad.log
grep -q "bad.jsonl:4: .* tokens, more than --max-len 128" bad.log
set +e
"$CHATFORGE" data prefs --tokenizer tok --input bad.jsonl --strict --out bad_strict >/dev/null 2>strict.log; rc=$?
set -e
[ $rc = 1 ] && [ "$(wc -l < strict.log)" = 1 ] && grep -q "bad.jsonl:1: missing field 'rejected'" strict.log \
  || { echo "FAIL --strict ($rc)"; cat strict.log; exit 1; }
# DPO data and training (the first run computes the reference's log-probabilities once and
# keeps them with the data; later runs on the same reference reuse them)
"$CHATFORGE" data prefs --tokenizer tok --input prefs.jsonl --max-len 128 --val-fraction 0.2 --out dpo > dpo.log
grep -q "dpo preference data: read 240" dpo.log || { cat dpo.log; exit 1; }
metric() {  # metric FILE KEY: the value of KEY in the last eval record
  /usr/bin/python3 -c "
import json,sys
ev=[json.loads(l) for l in open(sys.argv[1]) if json.loads(l)['type']=='eval']
print(ev[-1][sys.argv[2]])" "$1" "$2"; }
common=(--data dpo --init base --seq-len 128 --batch-size 8 --lr 2e-3 --beta 0.1 --eval-every 10 --eval-batches 6
        --no-progress --seed 4)
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 30 --out run_dpo 2>dpo_train.log
margin=$(metric run_dpo/metrics.jsonl rewards/margins)
acc=$(metric run_dpo/metrics.jsonl rewards/accuracies)
/usr/bin/python3 -c "import sys; m,a=float(sys.argv[1]),float(sys.argv[2]); assert m > 1.0 and a >= 0.9, (m,a)" \
  "$margin" "$acc" || { echo "FAIL: DPO did not learn (held-out margin $margin, accuracy $acc)"; exit 1; }
grep -q "Rewards on held-out examples" run_dpo/report.html && grep -q "<th>rewards/accuracies</th>" run_dpo/report.html \
  || { echo "FAIL: report.html lacks the preference metrics"; exit 1; }
echo "dpo: held-out reward margin 0 -> $margin, accuracy $acc"
/usr/bin/python3 - run_dpo/metrics.jsonl <<'PY'
import json, sys
kl = [r["kl"] for r in map(json.loads, open(sys.argv[1])) if r["type"] == "eval"]
# (0 before the first step: the policy is the reference) it grows as the policy moves away
assert 0 < kl[0] <= kl[-1], ("the KL estimate should be positive and grow", kl)
print(f"dpo: held-out KL estimate {kl[0]:.3f} (step 10) -> {kl[-1]:.3f}")
PY
grep -Eq "reference log-probabilities: [0-9]+ rows in dpo/ref_logps/[0-9a-f]{16}.bin \(240 computed now.*the reference model is released" \
  dpo_train.log || { echo "FAIL: no reference cache"; cat dpo_train.log; exit 1; }
# bit-exact resume: 12 steps against 5 + 7
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 12 --save-every 4 --out full 2>/dev/null
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 12 --save-every 4 --out split --stop-after 5 2>/dev/null
"$CHATFORGE" train --resume split --no-progress 2>resume.log
grep -q "resuming .* at step 5 of 12" resume.log || { cat resume.log; exit 1; }
for f in model.safetensors optimizer.safetensors; do
  cmp "full/last/$f" "split/last/$f" || { echo "FAIL: $f differs after resume"; exit 1; }
done
echo "dpo: resume is bit-exact"
# the cached reference equals the reference computed every step (to float rounding); a torn
# cache file is rebuilt, not trusted
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 12 --ref-cache off --out nocache 2>nocache.log
! grep -q "reference log-probabilities:" nocache.log
/usr/bin/python3 - full/metrics.jsonl nocache/metrics.jsonl <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(f)] for f in sys.argv[1:])
la = [r["loss"] for r in a if r["type"] == "train"]; lb = [r["loss"] for r in b if r["type"] == "train"]
assert len(la) == len(lb) == 12, (len(la), len(lb))
worst = max(abs(x - y) / max(1.0, abs(y)) for x, y in zip(la, lb))
assert worst < 1e-4, ("cached reference changed the losses", worst)
print(f"dpo: cached reference == per-step reference (worst relative loss difference {worst:.1e})")
PY
cache=$(ls dpo/ref_logps/*.bin)
size=$(stat -c %s "$cache")
head -c 1000 "$cache" > torn && mv torn "$cache"
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 1 --ref-cache on --out torn_run 2>torn.log
grep -q "warning: $cache: .* bytes of rows where the header promises .* computing it again" torn.log \
  && [ "$(stat -c %s "$cache")" = "$size" ] || { echo "FAIL: torn cache"; cat torn.log; exit 1; }
# KTO on the same pairs as rated answers (chosen liked, rejected disliked)
"$CHATFORGE" data prefs --kind kto --tokenizer tok --input prefs.jsonl --max-len 128 --val-fraction 0.2 --out kto > kto.log
grep -Eq "desirable ([0-9]+), undesirable \1," kto.log || { cat kto.log; exit 1; }
"$CHATFORGE" train --stage kto "${common[@]}" --data kto --steps 30 --ref-cache on --out run_kto 2>kto_train.log
grep -q "reference log-probabilities: .* rows in kto/ref_logps/" kto_train.log || { cat kto_train.log; exit 1; }
good=$(metric run_kto/metrics.jsonl rewards/chosen)
bad=$(metric run_kto/metrics.jsonl rewards/rejected)
/usr/bin/python3 -c "import sys; g,b=float(sys.argv[1]),float(sys.argv[2]); assert g - b > 0.5, (g,b)" "$good" "$bad" \
  || { echo "FAIL: KTO did not separate liked ($good) from disliked ($bad)"; exit 1; }
echo "kto: held-out rewards liked $good, disliked $bad"
# LoRA: the reference is the base with the adapters detached (no second model)
"$CHATFORGE" train --stage dpo "${common[@]}" --steps 30 --lr 1e-2 --lora-rank 8 --lora-dropout 0 --out run_lora \
  2>lora.log
margin=$(metric run_lora/metrics.jsonl rewards/margins)
/usr/bin/python3 -c "import sys; assert float(sys.argv[1]) > 0.5, sys.argv[1]" "$margin" \
  || { echo "FAIL: LoRA DPO did not learn (margin $margin)"; exit 1; }
echo "dpo + LoRA: held-out reward margin $margin"
# data parallel: 2 ranks x 4 examples == 1 rank with 2-fold accumulation (DPO; KTO too, whose
# KL estimate is per micro-batch: the same rows either way); the reference cache's pass split
# over 2 ranks writes the same file as 1 rank
source "$CF_SOURCE_DIR/tests/scripts/lib/mpi.sh"
for stage in dpo kto; do
  ddp=(--stage "$stage" --data "$stage" --init base --seq-len 128 --batch-size 4 --total-batch-tokens 1024 --lr 2e-3
       --steps 6 --eval-every 3 --eval-batches 2 --no-progress --seed 4 --peak-gflops 10 --ref-cache on)
  rm -rf "$stage/ref_logps"
  OMP_NUM_THREADS=1 "$CHATFORGE" train "${ddp[@]}" --out "ddp_one_$stage" 2>/dev/null
  mv "$stage/ref_logps" "ref_one_$stage"
  cf_mpirun 2 train "${ddp[@]}" --zero 1 --out "ddp_two_$stage" 2>"ddp_$stage.log" || { cat "ddp_$stage.log"; exit 1; }
  cmp "ref_one_$stage"/*.bin "$stage"/ref_logps/*.bin || { echo "FAIL: 2-rank reference cache differs"; exit 1; }
  grep -q "(4 x 128 x 1 accumulation x 2 ranks)" "ddp_$stage.log" || { cat "ddp_$stage.log"; exit 1; }
  /usr/bin/python3 "$CF_SOURCE_DIR/tests/scripts/ddp_compare.py" "ddp_one_$stage" "ddp_two_$stage" --tol 1e-5
done
# wrong data for the stage, a missing --init: one-line errors
set +e
"$CHATFORGE" train --stage kto --data dpo --init base --seq-len 128 --steps 1 --out e1 --no-progress 2>e1.log; rc1=$?
"$CHATFORGE" train --stage dpo --data dpo --seq-len 128 --steps 1 --out e2 --no-progress 2>e2.log; rc2=$?
"$CHATFORGE" train --stage dpo --data dpo --init base --seq-len 16 --steps 1 --out e3 --no-progress 2>e3.log; rc3=$?
set -e
[ $rc1 = 1 ] && grep -q "data made with --kind dpo, not for --stage kto" e1.log || { echo "FAIL e1 ($rc1)"; cat e1.log; exit 1; }
[ $rc2 = 2 ] && grep -q "needs --init" e2.log || { echo "FAIL e2 ($rc2)"; cat e2.log; exit 1; }
[ $rc3 = 1 ] && grep -q "more than --seq-len 16" e3.log || { echo "FAIL e3 ($rc3)"; cat e3.log; exit 1; }
echo "preference training: data prefs, dpo, kto, LoRA, bit-exact resume, errors"
