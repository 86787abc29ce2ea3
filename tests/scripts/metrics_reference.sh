#!/usr/bin/env bash
# `chatforge metrics` against implementations we did not write or that are written
# independently here from the published definitions:
#  - BLEU vs NLTK's corpus_bleu (Debian python3-nltk) on seeded random corpora with 1-3
#    references (some missing), short hypotheses (brevity penalty), mixed case; smoothing
#    exp/floor/none vs NLTK's method3/method1/method0. Agreement to 1e-6.
#  - the 13a / zh / char tokenizers vs Python `re` versions of sacreBLEU's rules, on random
#    Unicode text (punctuation, digits, entities, CJK, exotic whitespace), and BLEU on raw
#    text vs NLTK on the Python-tokenised text.
#  - the Porter stemmer vs NLTK's PorterStemmer (both modes) on ~10k English words.
#  - ROUGE-1/2/L/Lsum P/R/F (with and without stemming, CJK-aware or not) vs a Python
#    implementation of rouge-score's definitions; QA EM/F1 vs the SQuAD v1.1 formulas.
set -euo pipefail
CHATFORGE=${CHATFORGE:?path to the chatforge binary}
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
TMP=${CF_BINARY_DIR:-/tmp}/test-tmp/metrics_reference
rm -rf "$TMP" && mkdir -p "$TMP"
"$PY" -c "import nltk" 2>/dev/null || { echo "FAIL: python3-nltk missing (scripts/deps/eval.apt)"; exit 1; }

CHATFORGE="$CHATFORGE" TMP="$TMP" "$PY" - <<'PYEOF'
import glob, json, math, os, random, re, string, subprocess, sys, unicodedata, warnings
from collections import Counter
from nltk.translate.bleu_score import corpus_bleu, SmoothingFunction
from nltk.stem.porter import PorterStemmer

CF, TMP = os.environ["CHATFORGE"], os.environ["TMP"]
warnings.simplefilter("ignore")  # NLTK warns about zero n-gram counts, which we test on purpose
failures = []

def run(*args, stdin=None):
    r = subprocess.run([CF, *args], input=stdin, capture_output=True, text=True)
    if r.returncode != 0:
        print("command failed:", " ".join(args), r.stderr, file=sys.stderr)
        sys.exit(1)
    return r.stdout

def write(name, lines):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(l + "\n" for l in lines))
    return path

def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (" " + detail if detail else ""))
    if not ok:
        failures.append(name)

# ---------------------------------------------------------------- BLEU vs NLTK
VOCAB = ["the", "a", "cat", "dog", "sat", "on", "mat", "ran", "quickly", "under", "big", "red", "house", "and",
         "with", "of", "to", "in", "was", "is", "it", "he", "she", "they", "saw", "blue", "tree", "old", "man"]

def make_corpus(rng, n, max_refs, sparse):
    hyps, streams = [], [[] for _ in range(max_refs)]
    for i in range(n):
        base = [rng.choice(VOCAB) for _ in range(rng.randint(6, 18))]
        refs = []
        for r in range(max_refs):
            ref = list(base)
            for _ in range(rng.randint(0, 4)):
                ref[rng.randrange(len(ref))] = rng.choice(VOCAB)
            if rng.random() < 0.3:
                del ref[rng.randrange(len(ref))]
            refs.append(ref)
        hyp = list(refs[0])
        for _ in range(rng.randint(0, 5 if not sparse else 12)):
            hyp[rng.randrange(len(hyp))] = rng.choice(VOCAB)
        if rng.random() < 0.35:  # short hypothesis: brevity penalty, but >= 4 tokens
            hyp = hyp[: max(4, len(hyp) // 2)]
        if rng.random() < 0.3:
            hyp = [w.capitalize() if rng.random() < 0.5 else w for w in hyp]
        hyps.append(hyp)
        for r in range(max_refs):
            # a missing extra reference (empty line) gives this segment fewer references
            streams[r].append(refs[r] if r == 0 or rng.random() > 0.2 else None)
    return hyps, streams

def nltk_bleu(hyps, streams, smoothing, lowercase):
    low = (lambda t: [w.lower() for w in t]) if lowercase else (lambda t: t)
    list_of_refs = [[low(s[i]) for s in streams if s[i] is not None] for i in range(len(hyps))]
    return 100 * corpus_bleu(list_of_refs, [low(h) for h in hyps], smoothing_function=smoothing)

sf = SmoothingFunction()
rng = random.Random(20261128)
worst = 0.0
cases = 0
for trial in range(8):
    sparse = trial >= 5
    n = rng.choice([1, 3, 5]) if sparse else rng.randint(20, 60)
    hyps, streams = make_corpus(rng, n, rng.randint(1, 3), sparse)
    hyp_path = write(f"bleu{trial}.hyp", [" ".join(h) for h in hyps])
    ref_paths = [write(f"bleu{trial}.ref{r}", [" ".join(x) if x is not None else "" for x in s])
                 for r, s in enumerate(streams)]
    refargs = sum((["--ref", p] for p in ref_paths), [])
    for ours, theirs in (("exp", sf.method3), ("floor", sf.method1), ("none", sf.method0)):
        for lc in (False, True):
            args = ["metrics", "bleu", "--hyp", hyp_path, *refargs, "--tokenize", "none", "--smooth-method", ours,
                    "--json", "--bootstrap", "10"] + (["--lowercase"] if lc else [])
            got = json.loads(run(*args))["bleu"]["score"]
            want = nltk_bleu(hyps, streams, theirs, lc)
            worst = max(worst, abs(got - want))
            cases += 1
            if abs(got - want) > 1e-6:
                check(f"bleu trial {trial} smooth {ours} lc {lc}", False, f"ours {got!r} nltk {want!r}")
check(f"BLEU == NLTK corpus_bleu on {cases} corpora", worst <= 1e-6, f"(max |diff| {worst:.2e} BLEU points)")

# ------------------------------------------------ sacreBLEU tokenizers, Python version
RE13A = [(re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
         (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
         (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
         (re.compile(r'([0-9])(-)'), r'\1 \2 ')]

def post(line):
    for r, rep in RE13A:
        line = r.sub(rep, line)
    return " ".join(line.split())

def tok13a(line):
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return post(f" {line} ")

ZH_RANGES = [('\u3400', '\u4db5'), ('\u4e00', '\u9fa5'), ('\u9fa6', '\u9fbb'), ('\uf900', '\ufa2d'),
             ('\ufa30', '\ufa6a'), ('\ufa70', '\ufad9'), ('\u20000', '\u2a6d6'), ('\u2f800', '\u2fa1d'),
             ('\uff00', '\uffef'), ('\u2e80', '\u2eff'), ('\u3000', '\u303f'), ('\u31c0', '\u31ef'),
             ('\u2f00', '\u2fdf'), ('\u2ff0', '\u2fff'), ('\u3100', '\u312f'), ('\u31a0', '\u31bf'),
             ('\ufe10', '\ufe1f'), ('\ufe30', '\ufe4f'), ('\u2600', '\u26ff'), ('\u2700', '\u27bf'),
             ('\u3200', '\u32ff'), ('\u3300', '\u33ff')]

def tokzh(line):
    out = ""
    for ch in line.strip():
        out += f" {ch} " if any(a <= ch <= b for a, b in ZH_RANGES) else ch
    return post(out)

def tokchar(line):
    return " ".join(" ".join(ch for ch in line).split())

POOL = (list(string.ascii_letters) * 3 + list(string.digits) * 3 + list(string.punctuation) * 2 + [" "] * 25 +
        ["&quot;", "&amp;", "&lt;", "&gt;", "<skipped>", "-", ".", ",", "3.5", "1,000", "\t", "\u3000", "\u00a0",
         "\u2003", "\u2001", "\u2a6d", "\u2f81", "\x0b", "\x1c", "\x85", "\u2028", "é", "ß", "Ж", "😀", "\u0301"] +
        list("我爱自然语言处理。，！？「」（）：；中文测试") * 2 + list("ｈｅｌｌｏ１２３ＡＢ") + list("ひらがなカタカナ한국어") +
        ["\u4db6", "\u9fbc", "\U00020000", "\U0002a6d6", "\u2600", "\u27bf", "\u3300"])

rng = random.Random(7)
raw = ["".join(rng.choice(POOL) for _ in range(rng.randint(0, 60))) for _ in range(400)]
raw_path = write("raw.txt", raw)
for scheme, fn in (("13a", tok13a), ("zh", tokzh), ("char", tokchar), ("none", lambda s: " ".join(s.split()))):
    got = run("metrics", "tokenize", "--scheme", scheme, stdin="".join(l + "\n" for l in raw)).split("\n")[:-1]
    want = [fn(l) for l in raw]
    bad = [i for i in range(len(raw)) if got[i] != want[i]]
    check(f"tokenizer {scheme} == Python re version of sacreBLEU's rules on {len(raw)} lines", not bad,
          f"first mismatch line {bad[0] + 1}: {raw[bad[0]]!r}: ours {got[bad[0]]!r} ref {want[bad[0]]!r}" if bad else "")

# BLEU on raw text: chatforge tokenises; NLTK gets the Python-tokenised text.
rng = random.Random(11)
for scheme, fn in (("13a", tok13a), ("zh", tokzh), ("char", tokchar)):
    words = ["Hello,", "world!", "It's", "3.5-4.", "(yes)", "U.S.A.", "我们", "今天", "天气", "很好。", "吗？",
             "e-mail", "x&amp;y", "\"quoted\"", "1,000", "end."]
    hyps, refs = [], []
    for i in range(40):
        ref = [rng.choice(words) for _ in range(rng.randint(5, 12))]
        hyp = [w if rng.random() < 0.8 else rng.choice(words) for w in ref]
        if rng.random() < 0.3:
            hyp = hyp[: max(3, len(hyp) // 2)]
        hyps.append(" ".join(hyp))
        refs.append(" ".join(ref))
    hp, rp = write(f"raw_{scheme}.hyp", hyps), write(f"raw_{scheme}.ref", refs)
    got = json.loads(run("metrics", "bleu", "--hyp", hp, "--ref", rp, "--tokenize", scheme, "--json",
                         "--bootstrap", "10"))["bleu"]["score"]
    want = 100 * corpus_bleu([[fn(r).split()] for r in refs], [fn(h).split() for h in hyps])
    check(f"BLEU --tokenize {scheme} on raw text == NLTK on Python-tokenised text", abs(got - want) <= 1e-6,
          f"(ours {got:.9f} nltk {want:.9f})")

# ---------------------------------------------------------------- Porter stemmer
texts = []
for p in sorted(glob.glob("/usr/share/common-licenses/*")) + sorted(glob.glob(
        "/usr/lib/python3/dist-packages/nltk/stem/*.py")) + sorted(glob.glob(
        "/usr/lib/python3/dist-packages/nltk/translate/*.py")):
    if os.path.isfile(p):
        texts.append(open(p, encoding="utf-8", errors="ignore").read())
words = sorted(set(re.findall(r"[a-z]+", " ".join(texts).lower())))
words += ["caresses", "ponies", "ties", "dies", "dying", "skies", "spied", "tied", "agreed", "feed", "conflated",
          "troubled", "sized", "hopping", "falling", "hissing", "fizzed", "failing", "filing", "happy", "sky",
          "relational", "conditional", "valenci", "digitizer", "conformabli", "radicalli", "differentli", "vileli",
          "analogousli", "vietnamization", "predication", "operator", "feudalism", "decisiveness", "hopefulness",
          "callousness", "formaliti", "sensitiviti", "sensibiliti", "triplicate", "formative", "formalize",
          "electriciti", "electrical", "hopeful", "goodness", "revival", "allowance", "inference", "airliner",
          "gyroscopic", "adjustable", "defensible", "irritant", "replacement", "adjustment", "dependent", "adoption",
          "homologou", "communism", "activate", "angulariti", "homologous", "effective", "bowdlerize", "probate",
          "rate", "cease", "controlling", "roll", "generously", "geology", "analogi", "fulli", "innings", "news",
          "proceed", "exceed", "succeed", "howe", "canning", "is", "as", "by", "yy", "y", "a", "abli", "bli"]
stdin = "\n".join(words) + "\n"
for scheme, mode in (("porter", PorterStemmer.NLTK_EXTENSIONS), ("porter-original", PorterStemmer.ORIGINAL_ALGORITHM)):
    stemmer = PorterStemmer(mode=mode)
    got = run("metrics", "tokenize", "--scheme", scheme, stdin=stdin).split("\n")[:-1]
    want = [stemmer.stem(w) for w in words]
    bad = [i for i in range(len(words)) if got[i] != want[i]]
    check(f"Porter ({scheme}) == NLTK PorterStemmer({mode}) on {len(words)} words", not bad,
          f"first mismatch {words[bad[0]]!r}: ours {got[bad[0]]!r} nltk {want[bad[0]]!r}" if bad else "")

# ---------------------------------------------------------------- ROUGE
stemmer = PorterStemmer()

def is_cjk(c):
    o = ord(c)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x323AF or 0xF900 <= o <= 0xFAFF or
            0x2F800 <= o <= 0x2FA1F or 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xAC00 <= o <= 0xD7AF or
            0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F)

def rtok(text, stem, cjk):
    text = text.lower()
    if cjk:
        toks = re.findall(r"[a-z0-9]+|.", text)
        toks = [t for t in toks if re.fullmatch(r"[a-z0-9]+", t) or is_cjk(t)]
    else:
        toks = re.sub(r"[^a-z0-9]+", " ", text).split()
    return [stemmer.stem(t) if stem and len(t) > 3 and t.isascii() else t for t in toks]

def prf(hit, p_total, r_total):
    p, r = hit / p_total if p_total else 0.0, hit / r_total if r_total else 0.0
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)

def rouge_n(t, p, n):
    tc = Counter(tuple(t[i:i + n]) for i in range(len(t) - n + 1))
    pc = Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
    hit = sum((tc & pc).values())
    return prf(hit, max(sum(pc.values()), 1), max(sum(tc.values()), 1))

def lcs_table(a, b):
    t = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            t[i][j] = t[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(t[i - 1][j], t[i][j - 1])
    return t

def rouge_l(t, p):
    if not t or not p:
        return 0.0, 0.0, 0.0
    l = lcs_table(t, p)[-1][-1]
    return prf(l, len(p), len(t))

def lcs_positions(r, c):
    t, i, j, out = lcs_table(r, c), len(r), len(c), []
    while i > 0 and j > 0:
        if r[i - 1] == c[j - 1]:
            out.append(i - 1); i -= 1; j -= 1
        elif t[i][j - 1] > t[i - 1][j]:
            j -= 1
        else:
            i -= 1
    return out

def rouge_lsum(tsents, psents):
    m, n = sum(map(len, tsents)), sum(map(len, psents))
    if not tsents or not psents or not m or not n:
        return 0.0, 0.0, 0.0
    br, bc = Counter(w for s in tsents for w in s), Counter(w for s in psents for w in s)
    hits = 0
    for r in tsents:
        for i in sorted(set(i for c in psents for i in lcs_positions(r, c))):
            w = r[i]
            if br[w] > 0 and bc[w] > 0:
                hits += 1; br[w] -= 1; bc[w] -= 1
    return prf(hits, n, m)

def rouge_all(target, pred, stem, cjk):
    t, p = rtok(target, stem, cjk), rtok(pred, stem, cjk)
    sents = lambda x: [rtok(s, stem, cjk) for s in x.split("\n") if s]
    return {"rouge1": rouge_n(t, p, 1), "rouge2": rouge_n(t, p, 2), "rougeL": rouge_l(t, p),
            "rougeLsum": rouge_lsum(sents(target), sents(pred))}

rng = random.Random(5)
RW = ["The", "cats", "cat", "running", "runs", "ran", "quickly", "jumped", "jumping", "over", "lazy", "dogs", "dog's",
      "généralement", "2024", "x-ray", "connection", "connected", "我们", "喜欢", "自然", "语言", "。", "，", "happiness",
      "happy", "generalizations", "general", "a", "of", "and"]
hyps, ref_streams = [], [[], []]
for i in range(60):
    def sent():
        return " ".join(rng.choice(RW) for _ in range(rng.randint(1, 9)))
    ref = " <n> ".join(sent() for _ in range(rng.randint(1, 3)))
    hyp = " <n> ".join(sent() for _ in range(rng.randint(1, 3)))
    hyps.append(hyp)
    ref_streams[0].append(ref)
    ref_streams[1].append(" <n> ".join(sent() for _ in range(rng.randint(1, 2))) if rng.random() < 0.6 else "")
hp = write("rouge.hyp", hyps)
rps = [write(f"rouge.ref{k}", s) for k, s in enumerate(ref_streams)]
for stem in (False, True):
    for cjk in (False, True):
        args = ["metrics", "rouge", "--hyp", hp, "--ref", rps[0], "--ref", rps[1], "--sentence-sep", "<n>", "--json",
                "--bootstrap", "10"] + (["--stem"] if stem else []) + ([] if cjk else ["--no-cjk"])
        got = json.loads(run(*args))
        worst = 0.0
        for kind in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
            per = []
            for i in range(len(hyps)):
                refs = [s[i].replace("<n>", "\n") for s in ref_streams if s[i]]
                scores = [rouge_all(r, hyps[i].replace("<n>", "\n"), stem, cjk)[kind] for r in refs]
                per.append(max(scores, key=lambda s: s[2]) if len(scores) > 1 else scores[0])
            want = [100 * sum(s[k] for s in per) / len(per) for k in range(3)]
            have = [got["rouge"][kind]["precision"], got["rouge"][kind]["recall"], got["metrics"][kind + "_f"]["value"]]
            worst = max(worst, max(abs(a - b) for a, b in zip(have, want)))
        check(f"ROUGE-1/2/L/Lsum P/R/F == Python rouge-score definitions (stem={stem}, cjk={cjk})", worst <= 1e-6,
              f"(max |diff| {worst:.2e})")

# ---------------------------------------------------------------- QA EM / F1
def squad_norm(s, cjk):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation) and not (cjk and unicodedata.category(ch).startswith("P")))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    toks = s.split()
    if cjk:  # every CJK character is a token of its own
        toks = [x for tok in toks for x in _split_cjk(tok)]
    return toks

def _split_cjk(tok):
    out, cur = [], ""
    for ch in tok:
        if is_cjk(ch):
            if cur: out.append(cur); cur = ""
            out.append(ch)
        else:
            cur += ch
    if cur: out.append(cur)
    return out

def squad_f1(p, t):
    common = Counter(p) & Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    pr, rc = same / len(p), same / len(t)
    return 2 * pr * rc / (pr + rc)

QW = ["The", "the", "a", "an", "Eiffel", "Tower", "tower!", "Paris,", "in", "France.", "1889", "theatre", "anaconda",
      "巴黎", "埃菲尔铁塔", "在", "，", "。", "“引号”", "Ångström", "x_y", "an-other"]
rng = random.Random(9)
hyps, refs = [], []
for i in range(80):
    ref = " ".join(rng.choice(QW) for _ in range(rng.randint(1, 6)))
    hyp = ref if rng.random() < 0.3 else " ".join(rng.choice(QW) for _ in range(rng.randint(1, 6)))
    hyps.append(hyp); refs.append(ref)
hp, rp = write("qa.hyp", hyps), write("qa.ref", refs)
for cjk in (False, True):
    got = json.loads(run("metrics", "qa", "--hyp", hp, "--ref", rp, "--json", "--bootstrap", "10",
                         *([] if cjk else ["--no-cjk"])))["metrics"]
    em = 100 * sum(squad_norm(h, cjk) == squad_norm(r, cjk) for h, r in zip(hyps, refs)) / len(hyps)
    f1 = 100 * sum(squad_f1(squad_norm(h, cjk), squad_norm(r, cjk)) for h, r in zip(hyps, refs)) / len(hyps)
    check(f"QA EM/F1 == SQuAD v1.1 formulas (cjk={cjk})",
          abs(got["exact_match"]["value"] - em) <= 1e-6 and abs(got["f1"]["value"] - f1) <= 1e-6,
          f"(EM ours {got['exact_match']['value']:.6f} ref {em:.6f}; F1 ours {got['f1']['value']:.6f} ref {f1:.6f})")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all reference checks passed")
PYEOF
