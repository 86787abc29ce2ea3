"""Walks `chatforge --help` and the --help of every command and subcommand it lists
(nothing hard-coded: a new command is checked as soon as it exists) and asserts the
--help conventions of docs/architecture.md ("Command-line conventions"):
  - every option that takes a value is REQUIRED or shows its default: "=VALUE" after the
    type, or "default: ..." in its text (for defaults that depend on something);
  - --config shows FILE; an option whose text names a file or directory shows FILE, DIR
    or PATH (file or directory) instead of TEXT;
  - one name per idea: of each group of synonyms (--batch/--batch-size/--parallel, ...)
    at most one spelling is the listed (first) name of an option, across all commands;
    the old spellings still work and are listed beside the new one;
  - --pattern lists every pre-tokenizer name the program accepts (asked from the
    program: the error for an unknown name lists them);
  - --threads reads the same everywhere (type, range, default and text);
  - a --seed says what it seeds ("seed of ...");
  - every option has a text, and every command with options reads --config FILE.
Usage: help_consistency_check.py CHATFORGE WORKDIR"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import help_pages  # noqa: E402

chatforge, work = sys.argv[1], sys.argv[2]
STOP = "--no-such-flag-so-nothing-runs"

# Synonyms: at most one spelling of each group may be an option's listed (first) name.
SYNONYMS = [
    {"--batch", "--batch-size", "--parallel", "--micro-batch"},  # rows/sequences processed together
    {"--db", "--feedback-db", "--database"},                       # the feedback store of serve
    {"--in", "--input", "--inputs"},                               # what a command reads
    {"--out", "--output", "--out-dir", "--output-dir"},            # where a command writes
    {"--bootstrap-seed", "--bootstrap_seed"},                      # seed of the bootstrap intervals
]
# Old spellings that must keep working (and be listed as aliases): command, alias, new name.
ALIASES = [
    ("serve", "--parallel", "--batch-size"),
    ("eval generate", "--batch", "--batch-size"),
    ("eval human-kit", "--batch", "--batch-size"),
    ("eval perplexity", "--feedback-db", "--db"),
    ("eval generate", "--feedback-db", "--db"),
    ("eval choice", "--feedback-db", "--db"),
    ("convert", "--in", "--input"),
    ("metrics bleu", "--seed", "--bootstrap-seed"),
    ("metrics rouge", "--seed", "--bootstrap-seed"),
    ("metrics qa", "--seed", "--bootstrap-seed"),
    ("eval human-score", "--seed", "--bootstrap-seed"),
]
# Options whose text mentions a file or directory but whose value is not a path.
NOT_PATHS = {
    ("data clean", "--txt-split"),     # "documents in .txt/.md files: file, paragraph or line"
    ("data tokenize", "--txt-split"),
    ("data tokenize", "--shard-tokens"),  # "most tokens per shard file"
    ("data chat", "--shard-tokens"),
    ("data augment", "--shard-tokens"),
    ("data chat", "--format"),          # format names
}
PATH_WORDS = re.compile(r"(?<![\w-])(file|files|directory|directories|folder|dir)(?![\w-])", re.I)
PATH_TYPES = ("FILE", "DIR", "PATH")


def run(args):
    return help_pages.run(chatforge, args, work)


def walk(path):
    return help_pages.walk(chatforge, work, tuple(path))


def split_opts(opts):
    """' INT:[1, 65536]=8 ...' -> ('INT', '8', required). Validator texts after the type
    (':[0, 1)', ':{a,b}', ':INT in [0, 9]') are skipped; '=' after them starts the default."""
    m = re.match(r" ([A-Z][A-Z0-9_]*)(?=[:= ]|$)", opts)
    if not m:
        return None, None, False
    typ, i, depth = m.group(1), m.end(), 0
    default = None
    while i < len(opts):
        c = opts[i]
        if c in "[({":
            depth += 1
        elif c in "])}":
            depth -= 1
        elif depth == 0 and c == "=":
            default = re.split(r" \.\.\.| REQUIRED| Excludes:| Needs:", opts[i + 1:])[0]
            break
        elif depth == 0 and c == " " and re.match(r" (\.\.\.|REQUIRED|Excludes:|Needs:|x \d)", opts[i:]):
            break
        i += 1
    return typ, default, " REQUIRED" in opts


def options(text):
    """Every option and positional of a help page: dict(names, head, type, default,
    required, desc). CLI11 writes the option column 30 wide (32 inside an option group);
    a longer one puts the text on the next line at that column."""
    lines = text.splitlines()
    out, section = [], None
    for k, line in enumerate(lines):
        if re.match(r"^ *(Options|Positionals):$", line):
            section = line.strip()[:-1]
            continue
        if line.startswith("Subcommands:"):
            section = None
            continue
        if section is None:
            continue
        m = re.match(r"^( +)(\S+)", line)
        if not m:
            continue
        indent = len(m.group(1))
        col = 30 + (indent - 2)
        if indent not in (2, 4) or (section == "Options" and not m.group(2).startswith("-")):
            continue
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if re.match(r"^ {%d}\S" % col, nxt) and len(line) >= col - 1:
            head, desc = line, nxt.strip()
        else:
            head, desc = line[:col], line[col:].strip()
        head = head.rstrip()[indent:]
        name_part, _, _ = head.partition(" ")
        opts = head[len(name_part):]
        names = name_part.split(",")
        if names == ["-h", "--help"]:
            continue
        typ, default, required = split_opts(opts)
        out.append(dict(names=names, head=head, type=typ, default=default, required=required, desc=desc,
                        positional=section == "Positionals"))
    return out


def primary(o):
    longs = [n for n in o["names"] if n.startswith("--")]
    return longs[0] if longs else o["names"][0]


failures = []
commands = {}
for path, text in walk([]):
    if path:
        commands[" ".join(path)] = (text, options(text))
if len(commands) < 30:
    failures.append(f"found only {len(commands)} commands: {sorted(commands)}")

n_opts = 0
threads_seen = {}
primaries = {}
for cmd, (text, opts) in sorted(commands.items()):
    has_subs = bool(help_pages.subcommands(text))
    names = {n for o in opts for n in o["names"]}
    if opts and "--config" not in names:
        failures.append(f"{cmd}: has options but no --config FILE")
    for o in opts:
        n_opts += 1
        p = primary(o)
        where = f"{cmd} {p}"
        if not o["desc"]:
            failures.append(f"{where}: no help text")
        # defaults shown
        if o["type"] and not o["required"] and o["default"] is None and not re.search(r"default: ", o["desc"]):
            failures.append(f"{where}: takes a value but shows no default ('=VALUE' or 'default: ...'): {o['head']}")
        # FILE / DIR / PATH
        if p == "--config" and o["type"] != "FILE":
            failures.append(f"{where}: must show FILE: {o['head']}")
        what = re.split(r"default: ", o["desc"])[0]  # "(default: the input file's name)" is no path
        if o["type"] == "TEXT" and ":{" not in o["head"] and PATH_WORDS.search(what) and (cmd, p) not in NOT_PATHS:
            failures.append(f"{where}: names a file or directory but shows TEXT, not FILE/DIR/PATH: {o['desc']}")
        # --threads identical everywhere
        if p == "--threads":
            threads_seen.setdefault((o["head"], o["desc"]), []).append(cmd)
        # --seed says what it seeds
        if p.endswith("-seed") or p == "--seed":
            if not o["desc"].startswith("seed of "):
                failures.append(f"{where}: should say what it seeds ('seed of ...'): {o['desc']}")
        for n in o["names"]:
            if n.startswith("--"):
                primaries.setdefault(n, set())
        primaries.setdefault(p, set()).add(cmd)

if len(threads_seen) > 1:
    variants = "; ".join(f"{cmds[0]} (+{len(cmds) - 1}): '{h}' '{d}'" for (h, d), cmds in threads_seen.items())
    failures.append(f"--threads reads {len(threads_seen)} different ways: {variants}")

for group in SYNONYMS:
    used = {n: sorted(primaries[n]) for n in group if primaries.get(n)}
    if len(used) > 1:
        failures.append("one name per idea: " + ", ".join(f"{n} ({', '.join(c)})" for n, c in sorted(used.items())))

for cmd, alias, new in ALIASES:
    if cmd not in commands:
        failures.append(f"{cmd}: command not found (alias check {alias})")
        continue
    opt = [o for o in commands[cmd][1] if new in o["names"]]
    if not opt or primary(opt[0]) != new or alias not in opt[0]["names"]:
        failures.append(f"{cmd}: {new} should be listed with its old spelling {alias} as an alias")
    # The required flags get dummy values, so that the only complaint left is STOP (CLI11
    # reports a missing required flag before unexpected arguments); nothing runs.
    base = cmd.split()
    for o in commands[cmd][1]:
        if o["required"]:
            value = "1" if o["type"] in ("INT", "UINT", "FLOAT") else "x"
            base += [value] if o["positional"] else [primary(o), value]
    cfg = os.path.join(work, "alias.toml")  # a --config key may be the old spelling too
    with open(cfg, "w") as f:
        f.write(f"{alias[2:]} = \"1\"\n")
    for how, args in (("", [alias, "1"]), (f" (as --config key {alias[2:]})", ["--config", cfg])):
        rc, out = run(base + args + [STOP])
        if rc != 2 or STOP not in out or alias in out.replace(STOP, ""):
            failures.append(f"{cmd} {alias}{how}: the old spelling no longer works: {out.strip()[:200]}")

# --pattern names every pre-tokenizer the program knows
pat = [o for o in commands.get("tokenizer train", ("", []))[1] if primary(o) == "--pattern"]
src = os.path.join(work, "one.txt")
with open(src, "w") as f:
    f.write("hello world\n")
rc, out = run(["tokenizer", "train", "--input", src, "--vocab-size", "300", "--out", os.path.join(work, "tok"),
               "--pattern", "no-such-pattern-name"])
m = re.search(r"known: ([^;)]*)", out)
if not pat:
    failures.append("tokenizer train: no --pattern")
elif rc == 0 or not m:
    failures.append(f"tokenizer train --pattern no-such-pattern-name: expected an error listing the known names, got "
                    f"{rc}: {out.strip()[:200]}")
else:
    known = [n.strip() for n in m.group(1).split(",")]
    shown = pat[0]["desc"] + " " + pat[0]["head"]
    missing = [n for n in known if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(n), shown)]
    if missing:
        failures.append(f"tokenizer train --pattern: help does not list {missing} (accepted: {known}): {shown}")

for f in failures:
    print("FAIL:", f)
if failures:
    print(f"{len(failures)} failures in {len(commands)} commands, {n_opts} options")
    sys.exit(1)
print(f"help consistency: {len(commands)} commands, {n_opts} options follow the --help conventions")
