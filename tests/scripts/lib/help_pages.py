"""Every `chatforge` help page, for the script tests that check them (help_consistency,
numeric_flags): the subcommands a page lists and a walk over the whole command tree."""
import re
import subprocess


def run(chatforge, args, cwd):
    """(exit code, stdout + stderr) of `chatforge ARGS` in `cwd`."""
    p = subprocess.run([chatforge] + args, cwd=cwd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def subcommands(help_text):
    """The names under a help page's 'Subcommands:' heading."""
    out, on = [], False
    for line in help_text.splitlines():
        if line.startswith("Subcommands:"):
            on = True
            continue
        if on and line and not line.startswith(" "):
            on = False
        if on and re.match(r"^  [a-z]", line):
            out.append(line.split()[0])
    return out


def walk(chatforge, cwd, path=()):
    """(command path, help text) for `chatforge PATH --help` and every subcommand below it.
    A help page that exits non-zero is an error."""
    rc, text = run(chatforge, list(path) + ["--help"], cwd)
    if rc != 0:
        raise SystemExit(f"FAIL: chatforge {' '.join(path)} --help exited {rc}")
    yield list(path), text
    for s in subcommands(text):
        yield from walk(chatforge, cwd, tuple(path) + (s,))
