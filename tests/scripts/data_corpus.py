#!/usr/bin/env python3
"""Synthetic corpora for the data tests and benchmarks: English-like and Chinese-like
documents built from random sentences (no two documents alike unless planted).

  data_corpus.py bench --out DIR --mb 100      # ~100 MB of JSONL for benchmarks
The test (data_clean_check.py) imports make_english/make_chinese for planted corpora.
"""
import argparse
import json
import os
import random

SYLLABLES = ["ka", "lo", "mi", "ren", "ta", "vos", "el", "dun", "shi", "por", "an", "bel", "cor", "dri", "fen",
             "gal", "hes", "ist", "jor", "lum", "nar", "ost", "pel", "qua", "ril", "sen", "tor", "ul", "ver", "wyn"]
COMMON = ["the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "was", "on", "with", "as", "by"]
HAN = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经"
       "十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全"
       "表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员"
       "革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南"
       "给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万"
       "每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须"
       "际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王")


def english_sentence(rng, vocab):
    n = rng.randint(6, 16)
    words = []
    for i in range(n):
        words.append(rng.choice(COMMON) if rng.random() < 0.3 else rng.choice(vocab))
    s = " ".join(words)
    return s[0].upper() + s[1:] + rng.choice([".", ".", ".", "?", "!"])


def chinese_sentence(rng):
    n = rng.randint(8, 24)
    parts = []
    for i in range(n):
        parts.append(rng.choice(HAN))
        if i and i % rng.randint(5, 9) == 0 and i < n - 1:
            parts.append("，")
    return "".join(parts) + rng.choice(["。", "。", "！", "？"])


def make_vocab(rng, size=3000):
    vocab = set()
    while len(vocab) < size:
        vocab.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3))))
    return sorted(vocab)


def make_english(rng, vocab, sentences=(8, 30)):
    n = rng.randint(*sentences)
    out, para = [], []
    for i in range(n):
        para.append(english_sentence(rng, vocab))
        if len(para) >= rng.randint(3, 7):
            out.append(" ".join(para))
            para = []
    if para:
        out.append(" ".join(para))
    return "\n\n".join(out)


def make_chinese(rng, sentences=(6, 20)):
    n = rng.randint(*sentences)
    return "".join(chinese_sentence(rng) for _ in range(n))


def bench(args):
    rng = random.Random(args.seed)
    vocab = make_vocab(rng)
    # A pool of sentences to draw from keeps generation fast; documents still differ.
    en_pool = [english_sentence(rng, vocab) for _ in range(200000)]
    zh_pool = [chinese_sentence(rng) for _ in range(100000)]
    os.makedirs(args.out, exist_ok=True)
    target = int(args.mb * 1e6)
    written, i = 0, 0
    path = os.path.join(args.out, "corpus.jsonl")
    with open(path + ".part", "w", encoding="utf-8") as f:
        recent = []
        while written < target:
            r = rng.random()
            if r < 0.6:
                k = rng.randint(10, 40)
                text = "\n\n".join(" ".join(rng.choices(en_pool, k=5)) for _ in range(k // 5 + 1))
                src = "web" if rng.random() < 0.8 else "books"
            else:
                text = "".join(rng.choices(zh_pool, k=rng.randint(10, 40)))
                src = "zh"
            if recent and rng.random() < 0.03:  # planted exact duplicates
                text = rng.choice(recent)
            if rng.random() < 0.01:  # planted PII
                text += f" Contact: user{i}@example.com, tel 138{rng.randint(10000000, 99999999)}."
            recent.append(text)
            if len(recent) > 100:
                recent.pop(0)
            line = json.dumps({"text": text, "source": src}, ensure_ascii=False) + "\n"
            f.write(line)
            written += len(line.encode("utf-8"))
            i += 1
    os.replace(path + ".part", path)
    print(f"wrote {path}: {written / 1e6:.1f} MB, {i} documents")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--out", required=True)
    b.add_argument("--mb", type=float, default=100)
    b.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    bench(a)
