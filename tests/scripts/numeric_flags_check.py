"""Walks `chatforge ... --help` for every command and subcommand, finds every numeric
flag (INT, UINT, FLOAT) and asserts that
  - its help shows a range ("FLOAT:[0, 1)"), except --threads (capped elsewhere);
  - "nan", "inf" and a value just outside each finite end are usage errors: exit 2, one
    line naming the flag and the range, before any work starts (no output files);
  - a value inside the range is not rejected for its range;
  - a --config file with an out-of-range value is rejected the same way.
Every call ends in an unknown flag: CLI11 checks values before it reports that one (or a
missing required flag), so no command ever runs.
Usage: numeric_flags_check.py CHATFORGE WORKDIR"""
import math
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import help_pages  # noqa: E402

chatforge, work = sys.argv[1], sys.argv[2]
EXEMPT = {"--threads"}  # thread counts are capped by the thread limit (docs/limits.md)
STOP = "--no-such-flag-so-nothing-runs"


def run(args, cwd=work):
    rc, out = help_pages.run(chatforge, args, cwd)
    return rc, out.strip()


def numeric_flags(help_text):
    """(flag, type text) for every numeric option in a help page."""
    flags, in_subs = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            in_subs = True
            continue
        if line and not line.startswith(" "):
            in_subs = False
        m = re.match(r"^ +(-\w,)?(--[\w-]+)(?:,--?[\w-]+)* ((?:INT|UINT|FLOAT)\S*(?: [^ ]+[\])])?)", line)
        if not in_subs and m:
            flags.append((m.group(2), m.group(3)))
    return flags


def walk(path):
    return help_pages.walk(chatforge, work, tuple(path))


def parse_bound(b):
    b = b.strip()
    if b in ("inf", "-inf"):
        return float(b)
    m = re.fullmatch(r"2\^(\d+)(-1)?", b)
    if m:
        return 2.0 ** int(m.group(1)) - (1 if m.group(2) else 0)
    return float(b)


def outside_values(spec, is_int):
    """Values just outside a range like "[0, 1)": the open end itself, or one step past a
    closed end (1 for integers, a little for floats); none past an infinite end or one
    beyond what a double holds exactly."""
    lo_open, hi_open = spec[0] == "(", spec[-1] == ")"
    lo, hi = (parse_bound(x) for x in spec[1:-1].split(","))
    vals = []
    for end, is_open, sign in ((lo, lo_open, -1), (hi, hi_open, +1)):
        if math.isinf(end) or abs(end) >= 2**53:
            continue
        if is_open:
            vals.append(end)
        else:
            step = 1 if is_int else max(abs(end) * 1e-3, 1e-3)
            vals.append(end + sign * step)
    inside = None
    for cand in (lo, hi, (lo + hi) / 2 if not math.isinf(lo + hi) else 1.0, 1.0, 0.0):
        if math.isinf(cand) or abs(cand) >= 2**53:
            continue
        if is_int:
            cand = math.ceil(cand) if cand >= 0 else math.floor(cand)
        ok_lo = cand > lo if lo_open else cand >= lo
        ok_hi = cand < hi if hi_open else cand <= hi
        if ok_lo and ok_hi:
            inside = cand
            break
    return vals, inside


def fmt(v, is_int):
    return str(int(v)) if is_int else repr(float(v))


failures = []
checked = 0
for path, text in walk([]):
    if not path:
        continue
    for flag, typ in numeric_flags(text):
        if flag in EXEMPT:
            continue
        m = re.match(r"(INT|UINT|FLOAT):([\[(][^\])]*[\])])", typ)
        if not m:
            failures.append(f"{' '.join(path)} {flag}: no range in --help ({typ})")
            continue
        is_int = m.group(1) != "FLOAT"
        spec = m.group(2)
        outs, inside = outside_values(spec, is_int)
        bad = (["nan", "inf", "-inf"] if not is_int else []) + [fmt(v, is_int) for v in outs]
        for value in bad:
            rc, out = run(path + [f"{flag}={value}", STOP])
            lines = out.splitlines()
            if rc != 2 or flag not in out or spec not in out or len(lines) != 1:
                failures.append(f"{' '.join(path)} {flag}={value}: expected exit 2 naming {flag} and {spec}, "
                                f"got {rc}: {out[:300]}")
            checked += 1
        if inside is not None:
            rc, out = run(path + [f"{flag}={fmt(inside, is_int)}", STOP])
            if rc != 2 or (flag + ":" in out and "must be" in out):
                failures.append(f"{' '.join(path)} {flag}={fmt(inside, is_int)} (inside {spec}) was rejected: {out}")
        if os.listdir(work):
            failures.append(f"{' '.join(path)} {flag}: a rejected call wrote {os.listdir(work)}")
            for f in os.listdir(work):
                subprocess.run(["rm", "-rf", os.path.join(work, f)])

# --config values are expanded into flags: the same checks hold
cfg = os.path.join(work, "..", "numeric_flags_config.toml")
with open(cfg, "w") as f:
    f.write("data = \"x\"\nout = \"y\"\nbeta2 = 2\n")
rc, out = run(["train", "--config", cfg, STOP])
if rc != 2 or "--beta2" not in out or "[0, 1)" not in out:
    failures.append(f"train --config with beta2 = 2: expected exit 2 naming --beta2, got {rc}: {out}")
os.remove(cfg)

for f in failures:
    print("FAIL:", f)
if failures:
    print(f"{len(failures)} failures in {checked} rejected values")
    sys.exit(1)
print(f"numeric flags: {checked} out-of-range values rejected with exit 2, every flag's range in --help")
