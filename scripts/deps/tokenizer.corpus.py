#!/usr/bin/env python3
"""Generates the tokenizer test and benchmark corpora into .cache/tokenizer-data/ from the
public-domain text fetched by tokenizer.fetch.sh plus generated material. Deterministic
(fixed seeds), so every run and machine gets the same bytes.

  parity   (>= 1 MB): English prose, source code, runs of spaces/newlines/tabs, numbers,
           Chinese, Japanese, emoji, other scripts, and invalid UTF-8 bytes.
  english  (50 MB):   Moby Dick and Python documentation paragraphs, shuffled, repeated.
  chinese  (20 MB):   fortunes-zh + Debian Reference (zh_CN) lines, shuffled and repeated.
  encode   (10 MB):   valid UTF-8 mix for encode throughput (English, code, Chinese).
Usage: tokenizer.corpus.py parity|english|chinese|encode OUT_FILE"""
import os
import random
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".cache", "tokenizer-data")


def read(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read().decode("utf-8", "replace")


WORDS = ("the of and to in is was he that it his her you as had with for she not at but be my on "
         "have him by which this all they from so said were one would there their we me been no when "
         "are an what who them if more out into your could do like then time very upon about little "
         "whale sea ship captain water boat ocean harbour wind sail rope deck storm island").split()


def prose(rng, n_words):
    out = []
    for i in range(n_words):
        w = rng.choice(WORDS)
        r = rng.random()
        if r < 0.05:
            w = w.capitalize()
        elif r < 0.07:
            w = w.upper()
        elif r < 0.10:
            w += rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'LL", "n't"])
        out.append(w)
        if rng.random() < 0.08:
            out[-1] += rng.choice([",", ".", ";", ":", "!", "?", "...", "—", "\"", ")", "'"])
    return " ".join(out)


def code(rng):
    names = ["i", "count", "buffer_size", "tokenizer", "self", "x0", "HTTPServer", "utf8_len"]
    lines = []
    for _ in range(rng.randint(5, 30)):
        indent = rng.choice(["", "  ", "    ", "\t", "\t\t", "        "])
        a, b = rng.choice(names), rng.choice(names)
        lines.append(indent + rng.choice([
            f"for (int {a} = 0; {a} < {b}.size(); ++{a}) {{",
            f"if {a} is not None and {b} >= 0x{rng.randint(0, 65535):04X}:",
            f"return {a} * {rng.randint(0, 999)} + {b}[{rng.randint(0, 9)}];",
            f"def {a}(self, {b}: int = {rng.randint(0, 99)}) -> str:",
            f"const auto {a} = std::make_unique<{b}>();  // TODO(me): {rng.choice(WORDS)}",
            f"#include <{a}.h>", "}", "};", f"  {a} += {b} << 2;   ", f"s = '{a}\\n{b}\\t'",
            f'printf("%d %s\\n", {a}, "{b}");', "/* multi\n * line comment */", "",
        ]))
    return "\n".join(lines) + "\n"


WHITESPACE = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n", "\n ", "\t\t", " \t ", "\u00a0", "\u3000",
              "\u2003", "\u0085", "\u2028", "\x0b", "\x0c", "\ufeff", "\u200b", "        "]


def whitespace_mix(rng):
    parts = []
    for _ in range(rng.randint(5, 40)):
        parts.append("".join(rng.choice(WHITESPACE) for _ in range(rng.randint(1, 6))))
        parts.append(rng.choice(WORDS + ["!", "(", "12", "中", "'s", "x"]))
    return "".join(parts)


def numbers(rng):
    items = [str(rng.randint(0, 10 ** rng.randint(1, 12))), f"{rng.random() * 1000:.4f}",
             f"{rng.randint(1, 999)},{rng.randint(100, 999)},{rng.randint(100, 999)}", f"-{rng.randint(0, 99)}e{rng.randint(-9, 9)}",
             "２０２４年", "٣٤٥", "½ ¾ ²³", "ⅫⅣ", "१२३", "0x7FFF", "3.14159265358979", "1st 2nd 3rd", "+1 (555) 010-9999"]
    return " ".join(rng.choice(items) for _ in range(rng.randint(5, 30)))


def japanese(rng):
    hira = [chr(c) for c in range(0x3041, 0x3097)]
    kata = [chr(c) for c in range(0x30A1, 0x30FB)]
    kanji = "日本語東京大学先生時間今日明日電車会社仕事友達"
    s = []
    for _ in range(rng.randint(10, 80)):
        s.append(rng.choice([rng.choice(hira), rng.choice(kata), rng.choice(kanji), "。", "、", "ー", "「", "」"]))
    return "".join(s)


EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "🇺🇸", "❤️", "🔥", "✨", "🤖", "🏳️‍🌈", "👩🏻‍💻", "🙂", "🎉", "☕", "🚀",
         "😂😂😂", "🧑‍🚀"]
OTHER_SCRIPTS = ["Привет, мир! Это тест.", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก",
                 "안녕하세요 세계", "Ελληνικά κείμενα", "e\u0301le\u0300ve", "ﬁ ﬀ Å Ω", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
                 "<|endoftext|>", "<|im_start|>user", "a<|endoftext|>b"]
INVALID = [b"\xff", b"\xfe\xff", b"\x80", b"\xbf\xbf", b"\xc0\xaf", b"\xc1", b"\xe4\xb8", b"\xe4", b"\xf0\x9f\x98",
           b"\xed\xa0\x80", b"\xe0\x80\x80", b"\xf5\x80\x80\x80", b"\xf8", b"\xc3", b"\xe2\x82"]


def parity(rng):
    moby = read("moby-dick.txt").split("\n\n")
    zh = [l for l in read("fortunes-zh.txt").splitlines() if l.strip()]
    out = []
    size = 0
    while size < 1_200_000:
        kind = rng.randrange(10)
        if kind == 0:
            s = rng.choice(moby)
        elif kind == 1:
            s = prose(rng, rng.randint(20, 200))
        elif kind == 2:
            s = code(rng)
        elif kind == 3:
            s = whitespace_mix(rng)
        elif kind == 4:
            s = numbers(rng)
        elif kind == 5:
            s = "\n".join(rng.choice(zh) for _ in range(rng.randint(1, 8)))
        elif kind == 6:
            s = japanese(rng)
        elif kind == 7:
            s = " ".join(rng.choice(EMOJI) + rng.choice(["", " ", "!", "ok", "中文"]) for _ in range(rng.randint(1, 10)))
        elif kind == 8:
            s = rng.choice(OTHER_SCRIPTS)
        else:
            s = None
        if s is None:  # invalid UTF-8, glued to neighbours or standing alone
            b = rng.choice([b"", b" ", b"a", b"!", b"\n", "中".encode()]) + rng.choice(INVALID) + \
                rng.choice([b"", b" ", b"x", b"?", b"  ", "文".encode(), b"123"])
            if rng.random() < 0.1:
                b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))  # random bytes
        else:
            b = s.encode("utf-8")
        out.append(b)
        out.append(rng.choice([b" ", b"\n", b"\n\n", b"", b"  ", b"\t"]))
        size += len(b) + 1
    return b"".join(out)


def repeat_lines(lines, target, rng):
    out, size = [], 0
    while size < target:
        rng.shuffle(lines)
        for l in lines:
            out.append(l)
            size += len(l.encode("utf-8")) + 1
            if size >= target:
                break
    return ("\n".join(out) + "\n").encode("utf-8")


def main():
    kind, path = sys.argv[1], sys.argv[2]
    rng = random.Random(20240229)
    if kind == "parity":
        data = parity(rng)
    elif kind == "english":
        text = read("moby-dick.txt") + "\n\n" + read("python-docs.txt")
        data = repeat_lines([p for p in text.split("\n\n") if p.strip()], 50 << 20, rng)
    elif kind == "chinese":
        zh = [l.strip() for l in (read("fortunes-zh.txt") + read("debian-reference-zh.txt")).splitlines() if l.strip()]
        data = repeat_lines(zh, 20 << 20, rng)
    elif kind == "encode":
        moby = [p for p in read("moby-dick.txt").split("\n\n") if p.strip()]
        zh = [l for l in read("fortunes-zh.txt").splitlines() if l.strip()]
        parts, size = [], 0
        while size < 10 << 20:
            r = rng.random()
            s = rng.choice(moby) if r < 0.7 else code(rng) if r < 0.85 else rng.choice(zh)
            parts.append(s)
            size += len(s.encode()) + 1
        data = ("\n".join(parts) + "\n").encode("utf-8")
    else:
        sys.exit(f"unknown corpus kind {kind}")
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


if __name__ == "__main__":
    main()
