#!/usr/bin/env bash
# `chatforge data augment`: token noise on pretraining shards. Each noise kind at rate r
# changes about r of the tokens (checked against the clean shards token by token), the
# same seed gives identical shards, validation shards are copied unchanged, and SFT
# shards or a rate sum over 1 are refused.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
cf=$CHATFORGE
tmp=$CF_BINARY_DIR/test-tmp/chat_augment_text
rm -rf "$tmp" && mkdir -p "$tmp"
source "$CF_SOURCE_DIR/tests/scripts/lib/make_text_shards.sh"
make_text_shards "$tmp/d"
cd "$tmp"
fail() { echo "FAIL: $*"; exit 1; }

"$cf" data augment --tokenizer d/tok --input d/shards --out sub --substitute-rate 0.15 --seed 4 --no-progress >/dev/null
"$cf" data augment --tokenizer d/tok --input d/shards --out sub2 --substitute-rate 0.15 --seed 4 --no-progress >/dev/null
cmp -s sub/train_000000.bin sub2/train_000000.bin || fail "same seed, different output"
cmp -s d/shards/val_000000.bin sub/val_000000.bin || fail "validation shard changed"
"$cf" data augment --tokenizer d/tok --input d/shards --out del --delete-rate 0.1 --no-progress >/dev/null
"$cf" data augment --tokenizer d/tok --input d/shards --out msk --mask-rate 0.2 --mask-token '#' \
  --keep-original --no-progress >/dev/null
/usr/bin/python3 - <<'PY'
import json, struct
def docs(path):
    b = open(path, "rb").read()
    n = struct.unpack_from("<Q", b, 16)[0]; eot = struct.unpack_from("<i", b, 40)[0]
    toks = struct.unpack_from(f"<{n}H", b, 64)
    out, cur = [], []
    for t in toks:
        if t == eot: out.append(cur); cur = []
        else: cur.append(t)
    return out, eot
clean, eot = docs("d/shards/train_000000.bin")
total = sum(len(d) for d in clean)
sub, _ = docs("sub/train_000000.bin")
assert len(sub) == len(clean) and all(len(a) == len(b) for a, b in zip(sub, clean))
changed = sum(x != y for a, b in zip(sub, clean) for x, y in zip(a, b))
assert abs(changed / total - 0.15) < 0.02, changed / total
m = json.load(open("sub/meta.json"))["augment"]
assert m["substituted"] == changed and m["touchable_tokens"] == total, (m, changed, total)
dele, _ = docs("del/train_000000.bin")
gone = total - sum(len(d) for d in dele)
assert abs(gone / total - 0.1) < 0.02, gone / total
msk, _ = docs("msk/train_000000.bin")
assert len(msk) == 2 * len(clean) and msk[0::2] == clean, "--keep-original: clean copies first"
hash_id = json.load(open("d/tok/tokenizer.json"))["model"]["vocab"]["#"]
masked = sum(x == hash_id and y != hash_id for a, b in zip(msk[1::2], clean) for x, y in zip(a, b))
assert all(len(a) == len(b) for a, b in zip(msk[1::2], clean))
assert abs(masked / total - 0.2) < 0.02, masked / total
print(f"substituted {changed/total:.3f}, deleted {gone/total:.3f}, masked {masked/total:.3f}")
PY
rc=0; "$cf" data augment --tokenizer d/tok --input d/shards --out x --delete-rate 0.6 --shuffle-rate 0.6 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "rates over 1: exit $rc"
rc=0; "$cf" data augment --tokenizer d/tok --input d/shards --out x >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "no rate: exit $rc"
echo "chat_augment_text: all passed"
