#!/usr/bin/env bash
# `chatforge data tokenize` + `data inspect` end to end: trains a small tokenizer on a
# cleaned corpus (or uses $CF_TEST_TOKENIZER_DIR), writes shards, and checks token
# counts, the train/val routing, eot separators, byte-identical shards for 1 and 2
# threads, a decoded sample, the refusal of a shard meta.json does not list, and the
# error for a truncated shard. Skips (and says so) when this build has no tokenizer.
set -euo pipefail
if ! "$CHATFORGE" data --help 2>/dev/null | grep '^ *tokenize' >/dev/null; then
  echo "skipped: this build has no tokenizer (chatforge data tokenize is not available)"
  exit 0
fi
work="$CF_BINARY_DIR/test-tmp/data_tokenize"
rm -rf "$work" && mkdir -p "$work"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$PY" - "$work" <<'PYEOF'
import json, os, random, sys
sys.path.insert(0, os.path.join(os.environ["CF_SOURCE_DIR"], "tests", "scripts"))
from data_corpus import make_chinese, make_english, make_vocab
rng = random.Random(11)
vocab = make_vocab(rng)
w = sys.argv[1]
with open(os.path.join(w, "train.jsonl"), "w", encoding="utf-8") as f:
    for i in range(300):
        t = make_english(rng, vocab) if i % 3 else make_chinese(rng)
        f.write(json.dumps({"text": t, "source": "s"}, ensure_ascii=False) + "\n")
    f.write("{broken line\n")
with open(os.path.join(w, "val.jsonl"), "w", encoding="utf-8") as f:
    for i in range(20):
        f.write(json.dumps({"text": make_english(rng, vocab)}) + "\n")
PYEOF
tok=${CF_TEST_TOKENIZER_DIR:-}
if [ -z "$tok" ]; then
  tok="$work/tok"
  # The tokenizer's own CLI: adjust here if its flags change.
  "$CHATFORGE" tokenizer train --input "$work/train.jsonl" --out "$tok" --vocab-size 512 >/dev/null
fi
"$CHATFORGE" data tokenize --tokenizer "$tok" --input "$work/train.jsonl" "$work/val.jsonl" --out "$work/s2" \
  --shard-tokens 20k --threads 2 --no-progress > "$work/tokenize.log"
cat "$work/tokenize.log"
"$CHATFORGE" data tokenize --tokenizer "$tok" --input "$work/train.jsonl" "$work/val.jsonl" --out "$work/s1" \
  --shard-tokens 20k --threads 1 --no-progress >/dev/null
for f in "$work"/s2/*.bin; do cmp "$f" "$work/s1/$(basename "$f")"; done
grep -q "skipped input lines: 1" "$work/tokenize.log"
"$CHATFORGE" data inspect "$work/s2" > "$work/inspect_dir.log"
grep -q "total: .* 320 documents" "$work/inspect_dir.log"
"$CHATFORGE" data inspect "$work/s2/val_000000.bin" --tokenizer "$tok" --sample 8 > "$work/inspect.log"
cat "$work/inspect.log"
"$PY" - "$work" <<'PYEOF'
import json, os, struct, sys
w = sys.argv[1]
meta = json.load(open(os.path.join(w, "s2", "meta.json")))
assert meta["splits"]["train"]["n_docs"] == 300, meta
assert meta["splits"]["val"]["n_docs"] == 20, meta
assert len(meta["splits"]["train"]["files"]) > 1, "shards were not split at --shard-tokens"
total = 0
for split in ("train", "val"):
    for name in meta["splits"][split]["files"]:
        data = open(os.path.join(w, "s2", name), "rb").read()
        magic, ver, tb, nt, nd, hm, vs, eot = struct.unpack("<8sIIQQIIi", data[:44])
        assert magic == b"CFSHARD\0" and ver == 1 and hm == 0 and vs == meta["vocab_size"] and eot == meta["eot_id"]
        assert len(data) == 64 + nt * tb, name
        fmt = "<%d%s" % (nt, "H" if tb == 2 else "I")
        toks = struct.unpack(fmt, data[64:])
        assert toks.count(eot) == nd and toks[-1] == eot, name
        assert nt <= 20000 or nd == 1, name
        total += nt
assert total == meta["splits"]["train"]["n_tokens"] + meta["splits"]["val"]["n_tokens"]
first_val = json.loads(open(os.path.join(w, "val.jsonl")).readline())["text"]
log = open(os.path.join(w, "inspect.log"), encoding="utf-8").read()
decoded = log.rstrip("\n").split("\n")[-1]
assert len(decoded) > 5 and first_val.startswith(decoded), (decoded, first_val[:80])
print("shard checks passed")
PYEOF
# A shard from another set in the directory (as a write killed before its meta.json leaves
# one): every reader of the split refuses it, naming the file and meta.json.
cp "$work/s2/val_000000.bin" "$work/s2/train_000099.bin"
set +e
"$CHATFORGE" data inspect "$work/s2" > /dev/null 2> "$work/err.log"
rc=$?
set -e
[ "$rc" = 1 ] || { echo "mixed shard set: exit $rc, expected 1"; cat "$work/err.log"; exit 1; }
grep -q "meta.json: train_000099.bin is not one of the .* 'train' shards it lists: an interrupted or mixed write" "$work/err.log"
rm "$work/s2/train_000099.bin"
f="$work/s2/train_000000.bin"
truncate -s 100 "$f"
if "$CHATFORGE" data inspect "$f" 2> "$work/err.log"; then echo "truncated shard accepted"; exit 1; fi
grep -q "train_000000.bin: truncated shard" "$work/err.log"
echo "data tokenize checks passed"
