#!/usr/bin/env bash
# The guide (docs/guide/*.md) works as written: every ```sh block of every page runs, in
# page order, against a small demo directory built here (the demo's data, its stages with
# a tiny model), with `chatforge` on PATH and `demo/` in the working directory, exactly as a
# reader who ran `chatforge demo --out demo` would type them. A block right after a line
# `<!-- not tested: REASON -->` is skipped (servers, interactive sessions, downloads).
# First it checks the links of the guide and of docs/brief-map.md, and the flags their
# inline `chatforge ...` commands name.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
tmp="$CF_BINARY_DIR/test-tmp/docs_guide"
rm -rf "$tmp" && mkdir -p "$tmp/bin" "$tmp/work" "$tmp/blocks"
fail() { echo "FAIL: $*" >&2; exit 1; }
ln -s "$(cd "$(dirname "$CHATFORGE")" && pwd)/$(basename "$CHATFORGE")" "$tmp/bin/chatforge"
export PATH="$tmp/bin:$PATH"
# One thread: the models are tiny, and on a shared machine two threads mostly wait for each other.
export OMP_NUM_THREADS=1
guide="$CF_SOURCE_DIR/docs/guide"

# 1. Links and flags, in docs/guide/*.md and docs/brief-map.md: every relative link names an
#    existing file (and an existing heading, for #anchors, as GitHub spells them), and every
#    inline `chatforge SUB ... --flag` names flags that `chatforge SUB --help` lists.
/usr/bin/python3 - "$CF_SOURCE_DIR/docs" "$CHATFORGE" <<'PY' || fail "links or flags in the guide"
import os, re, subprocess, sys
docs, exe = sys.argv[1], sys.argv[2]
pages = [os.path.join(docs, "guide", f) for f in sorted(os.listdir(os.path.join(docs, "guide"))) if f.endswith(".md")]
pages.append(os.path.join(docs, "brief-map.md"))
def slugs(path):
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+ (.*)", line)
        if m:
            t = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower().replace("`", ""))
            out.add(t.replace(" ", "-"))
    return out
errors, helps = [], {}
for page in pages:
    text = open(page, encoding="utf-8").read()
    text_no_code = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)]+)\)", text_no_code):
        if re.match(r"[a-z]+://", target): continue
        path, _, anchor = target.partition("#")
        full = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
        if not os.path.exists(full): errors.append(f"{page}: broken link {target}"); continue
        if anchor and full.endswith(".md") and anchor not in slugs(full):
            errors.append(f"{page}: no heading for #{anchor} in {path or 'this page'}")
    for span in re.findall(r"`([^`]*chatforge [^`]*)`", text_no_code):
        words = span[span.index("chatforge ") + len("chatforge "):].split()
        sub = []
        for w in words:
            if not re.fullmatch(r"[a-z][a-z-]*", w) or w.startswith("-"): break
            sub.append(w)
        flags = [w for w in words if w.startswith("--") and len(w) > 2]
        key = " ".join(sub)
        if key not in helps:
            r = subprocess.run([exe] + sub + ["--help"], capture_output=True, text=True)
            helps[key] = r.stdout if r.returncode == 0 else None
        if helps[key] is None: errors.append(f"{page}: `chatforge {key} --help` fails (from `{span}`)"); continue
        for f in flags:
            if not re.search(re.escape(f) + r"\b", helps[key]):
                errors.append(f"{page}: `chatforge {key}` has no flag {f} (from `{span}`)")
for e in errors: print("FAIL:", e, file=sys.stderr)
print(f"checked links and flags of {len(pages)} pages ({len(helps)} commands)")
sys.exit(1 if errors else 0)
PY

# 2. A small demo directory: the demo's generated data and every stage of
#    demo/commands.sh, with a 2-layer 64-wide model and a few steps instead of minutes (the
#    demo's 256-token context and 257-token packed chat rows, so the guide's commands fit).
cd "$tmp/work"
{
  chatforge demo data --out demo/data
  chatforge data clean --input demo/data/raw/docs.jsonl --txt-split paragraph --out demo/clean \
    --sensitive-words demo/data/raw/sensitive_words.txt --val-fraction 0.03 --seed 2026 --no-progress
  chatforge tokenizer train --input demo/clean/train.jsonl --vocab-size 4096 --pattern cjk \
    --special-tokens '<|im_start|>' '<|im_end|>' --out demo/tokenizer
  chatforge data tokenize --tokenizer demo/tokenizer --input demo/clean/train.jsonl demo/clean/val.jsonl \
    --out demo/shards/pretrain --no-progress
  chatforge train --stage pretrain --data demo/shards/pretrain --out demo/runs/pretrain --n-layer 2 --n-head 2 \
    --n-embd 64 --n-ctx 256 --seq-len 256 --batch-size 4 --steps 6 --eval-every 6 --eval-batches 1 --no-progress
  chatforge data chat --tokenizer demo/tokenizer --mixture demo/data/chat/mixture.yaml --out demo/shards/sft \
    --max-len 257 --truncate keep-last-turns --pack --val-fraction 0.03 \
    --delete-rate 0.08 --substitute-rate 0.05 --shuffle-rate 0.05 --seed 2026 --no-progress
  chatforge train --stage sft --init demo/runs/pretrain/last --data demo/shards/sft --out demo/runs/sft \
    --seq-len 256 --batch-size 4 --steps 6 --eval-every 6 --eval-batches 1 --no-progress
  # demo/chat.toml as `chatforge demo` writes it (its system prompt is mixture.yaml's).
  system=$(sed -n 's/^ *system: "\(.*\)"$/\1/p' demo/data/chat/mixture.yaml | head -1)
  printf 'model = "runs/sft/last"\ntemperature = 0\ncontext-policy = "truncate-oldest"\nsystem = "%s"\n' "$system" > demo/chat.toml
} > "$tmp/setup.log" 2>&1 || { tail -30 "$tmp/setup.log"; fail "building the small demo directory"; }

# 3. Extract the ```sh blocks (page order), each to its own script, and run them.
n_blocks=0
n_skipped=0
for md in "$guide"/*.md; do
  page=$(basename "$md" .md)
  awk -v dir="$tmp/blocks" -v page="$page" '
    /^ *```sh *$/ && !inblock { inblock = 1; skip = (prev ~ /^ *<!-- not tested/); start = NR
      indent = index($0, "`") - 1
      n++; file = sprintf("%s/%s.%02d.%s.sh", dir, page, n, skip ? "skip" : "run"); printf "" > file; next }
    /^ *``` *$/ && inblock { inblock = 0; prev = "```"; close(file); printf "%s:%d\n", file, start; next }
    inblock { print substr($0, indent + 1) > file; next }
    NF { prev = $0 }' "$md" > "$tmp/blocks/$page.index"
  [ -s "$tmp/blocks/$page.index" ] || [ "$page" = README ] || fail "$page.md has no sh block"
  ! grep -n '```\(bash\|shell\|console\)' "$md" || fail "$page.md: use \`\`\`sh for commands (the test runs those)"
  [ "$(grep -c '^ *```sh *$' "$md" || true)" = "$(wc -l < "$tmp/blocks/$page.index")" ] \
    || fail "$page.md: an sh block was not extracted (unclosed fence?)"
  while IFS=: read -r block line; do
    if [[ "$block" == *.skip.sh ]]; then n_skipped=$((n_skipped + 1)); continue; fi
    n_blocks=$((n_blocks + 1))
    start=$(date +%s)
    if ! (cd "$tmp/work" && bash -euo pipefail "$block") > "$block.log" 2>&1; then
      echo "--- docs/guide/$page.md, block at line $line:" >&2
      cat "$block" >&2
      echo "--- its output (last 40 lines):" >&2
      tail -40 "$block.log" >&2
      fail "docs/guide/$page.md: the sh block at line $line failed"
    fi
    echo "ok  docs/guide/$page.md:$line  ($(( $(date +%s) - start ))s)"
  done < "$tmp/blocks/$page.index"
done
[ "$n_blocks" -ge 20 ] || fail "only $n_blocks tested blocks found (expected the whole guide)"
echo "docs guide ok: $n_blocks blocks ran, $n_skipped marked not tested"
