#!/usr/bin/env python3
"""End-to-end check of `chatforge data clean` on a generated corpus with planted cases:
exact and near duplicates of known Jaccard, spam, sensitive words (English and Chinese),
e-mails and phone numbers, malformed lines, unbalanced sources. Asserts each planted
case is handled and counted in report.json, that clean documents pass through unchanged,
that reruns are byte-identical, that --strict stops at file:line, and that a failing run
never leaves a half output file. Usage: data_clean_check.py CHATFORGE WORKDIR"""
import gzip
import json
import os
import random
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data_corpus import make_chinese, make_english, make_vocab  # noqa: E402

CF, WORK = sys.argv[1], sys.argv[2]
failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)
        print("FAIL:", msg)


def run(args, expect_rc=0):
    p = subprocess.run([CF, "data", "clean", "--no-progress", "--threads", "2"] + args, capture_output=True, text=True)
    if p.returncode != expect_rc:
        print(p.stdout, p.stderr)
    check(p.returncode == expect_rc, f"exit code {p.returncode} != {expect_rc} for {args}")
    return p


def words5(text):
    w = re.findall(r"\w+", text.lower())
    return {tuple(w[i:i + 5]) for i in range(max(1, len(w) - 4))}


def jaccard(a, b):
    sa, sb = words5(a), words5(b)
    return len(sa & sb) / len(sa | sb)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


rng = random.Random(7)
vocab = make_vocab(rng)
inp = os.path.join(WORK, "in")
os.makedirs(os.path.join(inp, "forum"), exist_ok=True)

clean_en = [make_english(rng, vocab) for _ in range(240)]
clean_zh = [make_chinese(rng) for _ in range(80)]
forum = [make_english(rng, vocab, (4, 8)) for _ in range(30)]

planted = []  # (text, source, expected drop reason)
# Exact duplicates: verbatim, and differing only in case/whitespace.
for i in range(10):
    planted.append((clean_en[i], "web", "exact_duplicate"))
for i in range(10, 15):
    planted.append((clean_en[i].upper().replace(" ", "   "), "web", "exact_duplicate"))
# Near duplicates with known Jaccard: change the last few words of a long document.
near_hi, near_lo = [], []
long_docs = [t for t in clean_en[20:120] if len(t.split()) > 250][:10]
for t in long_docs:
    w = t.split(" ")
    hi = " ".join(w[:-3] + ["zzqx", "yyqw", "xxqe."])
    lo = " ".join(w[: len(w) // 2] + [rng.choice(vocab) for _ in range(len(w) - len(w) // 2)])
    near_hi.append((jaccard(t, hi), hi))
    near_lo.append((jaccard(t, lo), lo))
    planted.append((hi, "web", "near_duplicate"))
    planted.append((lo, "web", None))  # kept: below the threshold
# Spam.
for i in range(6):
    planted.append(("\n".join(["BUY CHEAP WATCHES AT OUR SHOP TODAY"] * 20), "web", "repeated_lines"))
    planted.append(("点击这里免费领取大奖，" * 20 + str(i), "zh", "repeated_ngrams"))
    planted.append(("free money " * 60 + f"offer {i}", "web", "repeated_ngrams"))

# Sensitive words and PII inside otherwise clean documents.
sens_en = [clean_en[200 + i] + " This mentions the forbidden darnword here." for i in range(5)]
sens_zh = [clean_zh[60 + i] + "这里有违禁词出现。" for i in range(5)]
pii = [clean_en[210 + i] + f" Write to person{i}@example.org or call 138{1000000 + i * 7919:08d}." for i in range(6)]
for t in sens_en + pii:
    planted.append((t, "web", None))
for t in sens_zh:
    planted.append((t, "zh", None))
# Invalid UTF-8 and normalisation cases go through the text file below.

with open(os.path.join(WORK, "sensitive.txt"), "w", encoding="utf-8") as f:
    f.write("# one term per line\ndarnword\n违禁词\nclass\n")

clean_set = set(clean_en[:200]) | set(clean_zh[:60]) | set(forum)
lines = []
for t in clean_en[15:200]:
    if t in long_docs:
        continue
    lines.append(json.dumps({"text": t, "source": "web", "label": "en"}, ensure_ascii=False))
for t in clean_zh[:60]:
    lines.append(json.dumps({"text": t, "source": "zh", "label": "zh"}, ensure_ascii=False))
for text, src, _ in planted:
    lines.append(json.dumps({"text": text, "source": src, "label": "planted"}, ensure_ascii=False))
rng.shuffle(lines)
# Originals of the exact/near duplicates come first so the copies are the ones dropped.
originals = [json.dumps({"text": t, "source": "web", "label": "en"}) for t in clean_en[:15] + long_docs]
bad_lines = ['{"text": "unterminated', '{"body": "no text field here"}']
web_lines = originals + lines[: len(lines) // 2]
web_lines.insert(3, bad_lines[0])
web_lines.insert(7, bad_lines[1])
with open(os.path.join(inp, "web.jsonl"), "w", encoding="utf-8") as f:
    f.write("\n".join(web_lines) + "\n")
with gzip.open(os.path.join(inp, "more.jsonl.gz"), "wt", encoding="utf-8") as f:
    f.write("\n".join(lines[len(lines) // 2:]) + "\n")
for i, t in enumerate(forum):
    with open(os.path.join(inp, "forum", f"post{i:03d}.txt"), "w", encoding="utf-8") as f:
        f.write(t)
with open(os.path.join(inp, "forum", "broken.txt"), "wb") as f:
    f.write(clean_en[230].encode() + b" bad byte \xff here")
clean_set.add(clean_en[15])

out = os.path.join(WORK, "out")
common = ["--input", os.path.join(inp, "web.jsonl"), os.path.join(inp, "more.jsonl.gz"), os.path.join(inp, "forum"),
          "--sensitive-words", os.path.join(WORK, "sensitive.txt"), "--val-fraction", "0.1"]
p = run(common + ["--out", out])
rep = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
train, val = read_jsonl(os.path.join(out, "train.jsonl")), read_jsonl(os.path.join(out, "val.jsonl"))
outputs = [d["text"] for d in train + val]
out_set = set(outputs)

# 1. Clean documents pass through unchanged.
missing = [t for t in clean_set if t not in out_set]
check(not missing, f"{len(missing)} clean documents missing or changed, e.g. {missing[:1]}")
check(len(outputs) == len(out_set), "duplicate documents in the output")
check(0.03 < len(val) / len(outputs) < 0.2, f"val fraction {len(val) / len(outputs):.3f} far from 0.1")
# 2. Planted drops, by reason, counted.
expected = {}
for text, src, reason in planted:
    if reason:
        expected[reason] = expected.get(reason, 0) + 1
        if reason != "exact_duplicate":  # an exact copy's original is (rightly) kept
            check(text not in out_set, f"planted {reason} kept: {text[:60]!r}")
for reason, n in expected.items():
    got = rep["dropped"].get(reason, {}).get("docs", 0)
    check(got == n, f"report counts {got} {reason}, planted {n}")
    check(len(rep["dropped"].get(reason, {}).get("examples", [])) > 0, f"no examples for {reason}")
check(min(j for j, _ in near_hi) > 0.9, f"near-dup plant Jaccard too low: {near_hi}")
check(max(j for j, _ in near_lo) < 0.6, f"far plant Jaccard too high: {near_lo}")
for j, t in near_lo:
    check(t in out_set, f"document with Jaccard {j:.2f} (< 0.8) was dropped")
# 3. Sensitive words masked (English whole word: 'class' must not hit 'classes' etc.).
for t in sens_en:
    check(t.replace("darnword", "***") in out_set, "English sensitive word not masked")
for t in sens_zh:
    check(t.replace("违禁词", "***") in out_set, "Chinese sensitive word not masked")
check(rep["modified"]["sensitive_matches"] == 10, f"sensitive matches {rep['modified']['sensitive_matches']} != 10")
# 4. PII scrubbed and counted.
for i, t in enumerate(pii):
    want = t.replace(f"person{i}@example.org", "<EMAIL>").replace(f"138{1000000 + i * 7919:08d}", "<PHONE>")
    check(want in out_set, f"PII not scrubbed as expected: {want[-80:]!r}")
check(rep["modified"]["pii"]["email"] == 6 and rep["modified"]["pii"]["phone"] == 6,
      f"PII counts {rep['modified']['pii']}")
check(not any("@example" in t for t in outputs), "an e-mail address survived")
# 5. Malformed lines skipped and listed with file:line; invalid UTF-8 repaired and counted.
skipped = rep["skipped_input"]
check(skipped["count"] == 2, f"skipped count {skipped['count']} != 2")
check(any(s.endswith("web.jsonl:4: malformed JSON") for s in skipped["lines"]), f"no file:line for bad JSON: {skipped}")
check(any(s.endswith('web.jsonl:8: missing field "text"') for s in skipped["lines"]), f"no file:line: {skipped}")
check(rep["modified"]["invalid_utf8_docs"] == 1, "invalid UTF-8 document not counted")
check(any("bad byte \ufffd here" in t for t in outputs), "invalid UTF-8 not repaired to U+FFFD")
# 6. Sources before/after, HTML report with SVG.
groups = rep["groups"]["source"]
check(groups["input"]["forum"]["docs"] == 31, "forum directory documents not counted under source 'forum'")
html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
check("<svg" in html and "near_duplicate" in html and "web.jsonl:4" in html, "report.html lacks charts or details")
check(rep["input"]["docs"] == sum(1 for _ in web_lines) - 2 + (len(lines) - len(lines) // 2) + 31,
      f"input docs {rep['input']['docs']}")

# 7. Byte-identical rerun (also with one thread).
out2 = os.path.join(WORK, "out2")
subprocess.run([CF, "data", "clean", "--no-progress", "--threads", "1"] + common + ["--out", out2], check=True,
               capture_output=True)
for name in ["train.jsonl", "val.jsonl", "report.json", "report.html"]:
    a = open(os.path.join(out, name), "rb").read()
    b = open(os.path.join(out2, name), "rb").read().replace(out2.encode(), out.encode())
    check(a == b, f"{name} differs between runs")

# 8. Rebalancing: web dominates the input; cap every source at 40% of the bytes.
out3 = os.path.join(WORK, "out3")
run(common + ["--out", out3, "--max-share", "0.4"])
rep3 = json.load(open(os.path.join(out3, "report.json"), encoding="utf-8"))
o = rep3["groups"]["source"]["output"]
total = sum(g["bytes"] for g in o.values())
kept_web = rep3["groups"]["source"]["kept"]["web"]["bytes"] / sum(g["bytes"] for g in rep3["groups"]["source"]["kept"].values())
check(kept_web > 0.6, f"test corpus not unbalanced enough ({kept_web:.2f})")
check(o["web"]["bytes"] / total < 0.47, f"web still {o['web']['bytes'] / total:.2f} of the output")
check(rep3["dropped"]["rebalance_downsample"]["docs"] > 0, "down-sampling not counted")
out4 = os.path.join(WORK, "out4")
run(common + ["--out", out4, "--balance", "web=0.4,zh=0.4,forum=0.2", "--upsample", "--balance-unit", "docs"])
rep4 = json.load(open(os.path.join(out4, "report.json"), encoding="utf-8"))
o4 = rep4["groups"]["source"]["output"]
n4 = sum(g["docs"] for g in o4.values())
check(abs(o4["forum"]["docs"] / n4 - 0.2) < 0.06, f"forum share {o4['forum']['docs'] / n4:.2f} != 0.2")
check(rep4["output"]["upsampled_copies"] > 0, "up-sampling made no copies")

# 9. --strict stops at file:line; a failing run leaves no output under the final names.
out5 = os.path.join(WORK, "out5")
p = run(common + ["--out", out5, "--strict"], expect_rc=1)
check(re.search(r"error: .*web\.jsonl:4: malformed JSON", p.stderr) is not None, f"strict error: {p.stderr!r}")
check(not os.path.exists(os.path.join(out5, "train.jsonl")), "strict failure left train.jsonl")
check([f for f in os.listdir(out5) if not f.startswith(".")] == [] if os.path.isdir(out5) else True,
      f"strict failure left files: {os.listdir(out5)}")
with open(os.path.join(inp, "zz_corrupt.jsonl.zst"), "wb") as f:
    f.write(b"(\xb5/\xfd" + b"\x00garbage" * 10)
p = run(["--input", inp, "--out", out], expect_rc=1)
check("zz_corrupt.jsonl.zst" in p.stderr, f"corrupt file not named: {p.stderr!r}")
check(open(os.path.join(out, "train.jsonl"), "rb").read() == open(os.path.join(out2, "train.jsonl"), "rb").read(),
      "a failed run changed the previous train.jsonl")
check(not [f for f in os.listdir(out) if ".tmp" in f], f"temp files left: {os.listdir(out)}")
os.remove(os.path.join(inp, "zz_corrupt.jsonl.zst"))
p = run(["--input", "/proc/self/mem", "--out", out5], expect_rc=1)
check("/proc/self/mem" in p.stderr, f"unreadable file not named: {p.stderr!r}")
p = run(["--input", os.path.join(inp, "nope.jsonl"), "--out", out5], expect_rc=1)
check("nope.jsonl does not exist" in p.stderr, f"missing file error: {p.stderr!r}")
p = run(["--input", inp, "--out", out5, "--near-dup-threshold", "2"], expect_rc=2)

# 10. A run killed mid-way (SIGKILL, no cleanup at all) leaves no train.jsonl behind.
big = os.path.join(WORK, "big.jsonl")
with open(big, "w", encoding="utf-8") as f:
    for i in range(6000):
        f.write(json.dumps({"text": make_english(rng, vocab)}) + "\n")
out6 = os.path.join(WORK, "out6")
os.makedirs(out6)
proc = subprocess.Popen([CF, "data", "clean", "--no-progress", "--input", big, "--out", out6],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
import time  # noqa: E402
deadline = time.time() + 60
while time.time() < deadline and proc.poll() is None and not any(".clean-spool" in f for f in os.listdir(out6)):
    time.sleep(0.002)
if proc.poll() is None:
    proc.kill()
    proc.wait()
    check(not os.path.exists(os.path.join(out6, "train.jsonl")), "killed run left train.jsonl")
    check(not os.path.exists(os.path.join(out6, "report.json")), "killed run left report.json")
    # The next run into the same directory clears the dead run's temp files.
    run(["--input", os.path.join(inp, "web.jsonl"), "--out", out6])
    check(sorted(os.listdir(out6)) == ["report.html", "report.json", "train.jsonl", "val.jsonl"],
          f"stale temp files after a rerun: {os.listdir(out6)}")
else:
    print("note: the run finished before it could be killed; kill check not exercised")

print(f"{len(failures)} failed" if failures else "all data clean checks passed")
sys.exit(1 if failures else 0)
