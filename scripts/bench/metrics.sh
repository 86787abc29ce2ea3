#!/usr/bin/env bash
# Benchmark: corpus BLEU of 20,000 pre-tokenised segments (2 references each) with
# `chatforge metrics bleu --tokenize none` against NLTK's corpus_bleu on the same tokens,
# in one invocation, median of 3 runs each. Both produce the same score (checked here);
# chatforge also computes a bootstrap interval (--bootstrap 10 keeps that negligible).
# Builds nothing: expects build/release/chatforge (or $CHATFORGE).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CHATFORGE=${CHATFORGE:-$ROOT/build/release/chatforge}
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
[[ -x $CHATFORGE ]] || { echo "missing $CHATFORGE (build first)"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

CHATFORGE="$CHATFORGE" TMP="$TMP" "$PY" - <<'PYEOF'
import json, os, random, statistics, subprocess, time
from nltk.translate.bleu_score import corpus_bleu
cf, tmp = os.environ["CHATFORGE"], os.environ["TMP"]
rng = random.Random(1)
vocab = [f"w{i}" for i in range(3000)]
hyps, refs1, refs2 = [], [], []
for _ in range(20000):
    r = [rng.choice(vocab) for _ in range(rng.randint(10, 30))]
    h = [w if rng.random() < 0.7 else rng.choice(vocab) for w in r]
    r2 = [w if rng.random() < 0.8 else rng.choice(vocab) for w in r]
    hyps.append(h); refs1.append(r); refs2.append(r2)
for name, data in (("hyp", hyps), ("ref1", refs1), ("ref2", refs2)):
    open(f"{tmp}/{name}.txt", "w").write("\n".join(" ".join(x) for x in data) + "\n")

def ours():
    t = time.perf_counter()
    out = subprocess.run([cf, "metrics", "bleu", "--hyp", f"{tmp}/hyp.txt", "--ref", f"{tmp}/ref1.txt", "--ref",
                          f"{tmp}/ref2.txt", "--tokenize", "none", "--json", "--bootstrap", "10"],
                         capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, json.loads(out)["bleu"]["score"]

def nltk():
    t = time.perf_counter()
    # NLTK gets the files' text too, so both sides include reading and splitting.
    h = [l.split() for l in open(f"{tmp}/hyp.txt")]
    r1 = [l.split() for l in open(f"{tmp}/ref1.txt")]
    r2 = [l.split() for l in open(f"{tmp}/ref2.txt")]
    s = corpus_bleu([[a, b] for a, b in zip(r1, r2)], h)
    return time.perf_counter() - t, 100 * s

o = [ours() for _ in range(3)]
n = [nltk() for _ in range(3)]
t_ours, t_nltk = statistics.median(x[0] for x in o), statistics.median(x[0] for x in n)
same = abs(o[0][1] - n[0][1]) < 1e-6
print(f"chatforge metrics bleu: {t_ours:.3f} s   NLTK corpus_bleu: {t_nltk:.3f} s   "
      f"speedup {t_nltk / t_ours:.1f}x   BLEU {o[0][1]:.4f} vs {n[0][1]:.4f} ({'equal' if same else 'DIFFERENT'})")
print(f"RESULT bench=metrics_bleu segments=20000 chatforge_s={t_ours:.3f} nltk_s={t_nltk:.3f} "
      f"speedup={t_nltk / t_ours:.2f} scores_equal={int(same)}")
PYEOF
