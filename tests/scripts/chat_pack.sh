#!/usr/bin/env bash
# `chatforge data chat --pack` end to end: packing many short conversations into rows of
# --max-len tokens cuts the row count and the padding (reported on stdout and in
# meta.json), keeps every conversation and trained token, writes version-2 shards with a
# row table, and `train --stage sft` runs on them (finite, falling loss; validation too).
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}"
cf=$CHATFORGE
tmp=$CF_BINARY_DIR/test-tmp/chat_pack
rm -rf "$tmp" && mkdir -p "$tmp"
cd "$tmp"
py=/usr/bin/python3
fail() { echo "FAIL: $*"; exit 1; }

$py - <<'PY'
import json, random
random.seed(3)
words = "what is the capital of france paris hello there how are you today fine thanks 你好 世界 谢谢".split()
with open("corpus.txt", "w") as f:
    for _ in range(300):
        f.write(" ".join(random.choice(words) for _ in range(12)) + "\n")
with open("chats.jsonl", "w") as f:
    for i in range(300):
        q = " ".join(random.choice(words) for _ in range(random.randint(1, 12)))
        a = " ".join(random.choice(words) for _ in range(random.randint(1, 20)))
        f.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]},
                           ensure_ascii=False) + "\n")
PY
"$cf" tokenizer train --input corpus.txt --vocab-size 300 --out tok --special-tokens '<|im_start|>' '<|im_end|>' \
  >/dev/null 2>&1
"$cf" data chat --tokenizer tok --input chats.jsonl --max-len 257 --val-fraction 0.1 --out plain --no-progress >/dev/null
"$cf" data chat --tokenizer tok --input chats.jsonl --max-len 257 --val-fraction 0.1 --pack --out packed \
  --no-progress >packed.out
cat packed.out
grep -q '^pack train .* conversations -> .* rows of 257 tokens; padding' packed.out || fail "no packing summary"

$py - <<'PY' || exit 1
import json, struct, sys, glob
plain, packed = json.load(open("plain/meta.json")), json.load(open("packed/meta.json"))
p = packed["chat"]["pack"]
tr = p["train"]
print(f"train rows {tr['rows_before']} -> {tr['rows_after']}, padding {tr['padding_before']:.3f} -> {tr['padding_after']:.3f}")
def check(cond, msg):
    if not cond:
        print("FAIL:", msg); sys.exit(1)
check(p["row_tokens"] == 257, "row_tokens")
check(tr["rows_before"] == plain["splits"]["train"]["n_docs"], "rows before = conversations")
check(tr["rows_after"] * 3 < tr["rows_before"], "packing must cut rows at least 3x for these short chats")
check(tr["padding_after"] < 0.2 < tr["padding_before"], "padding must drop")
check(packed["splits"]["train"]["n_rows"] == tr["rows_after"], "meta n_rows")
for split in ("train", "val"):
    a, b = plain["splits"][split], packed["splits"][split]
    check(a["n_docs"] == b["n_docs"] and a["n_tokens"] == b["n_tokens"], f"{split}: conversations/tokens kept")
check(plain["chat"]["trained_tokens"] == packed["chat"]["trained_tokens"], "trained tokens kept")
check(packed["chat"]["options"]["pack"] is True, "options.pack")
# version-2 shard: header version 2, n_rows at byte 44, row table of n_rows uint64 at the end
raw = open(glob.glob("packed/train_*.bin")[0], "rb").read()
version, = struct.unpack_from("<I", raw, 8)
n_tokens, n_docs = struct.unpack_from("<QQ", raw, 16)
n_rows, = struct.unpack_from("<I", raw, 44)
check(version == 2 and n_rows == tr["rows_after"], f"header version {version}, rows {n_rows}")
ends = struct.unpack_from(f"<{n_rows}Q", raw, len(raw) - 8 * n_rows)
check(list(ends) == sorted(set(ends)) and ends[-1] == n_docs, "row table ends at the last document")
check(struct.unpack_from("<I", open(glob.glob("plain/train_*.bin")[0], "rb").read(), 8)[0] == 1, "plain stays v1")
PY

"$cf" train --stage sft --data packed --out run --n-layer 2 --n-head 2 --n-embd 64 --seq-len 256 --batch-size 4 \
  --steps 30 --lr 3e-3 --warmup 3 --eval-every 15 --eval-batches 2 --no-progress 2>train.log >/dev/null ||
  { cat train.log; fail "train on packed shards"; }
$py - <<'PY' || exit 1
import json, math, sys
rows = [json.loads(l) for l in open("run/metrics.jsonl")]
train = [r["loss"] for r in rows if r.get("type") == "train"]
val = [r for r in rows if r.get("type") == "eval"]
print(f"train loss {train[0]:.3f} -> {train[-1]:.3f} over {len(train)} steps; {len(val)} evaluations")
if len(train) != 30 or not all(math.isfinite(x) for x in train) or not train[-1] < train[0] or not val:
    print("FAIL: training on packed shards did not run as expected"); sys.exit(1)
PY
# pretraining loaders refuse packed rows with a clear error
if "$cf" train --data packed --out run2 --loader random --n-layer 1 --n-head 1 --n-embd 16 --seq-len 32 --steps 1 \
  --no-progress >/dev/null 2>err.txt; then fail "random loader accepted packed shards"; fi
grep -q "documents loader" err.txt || { cat err.txt; fail "error should name the documents loader"; }
echo "chat_pack: OK"
