# Sourced by script tests: make_text_shards DIR [vocab] builds DIR/tok (a trained
# tokenizer) and DIR/shards (train/val token shards) from generated English-like text.
make_text_shards() {
  local dir=$1 vocab=${2:-320}
  mkdir -p "$dir"
  /usr/bin/python3 - "$dir" <<'PY'
import random, sys
d = sys.argv[1]
random.seed(7)
subj = "the cat|a dog|my friend|the old man|a small bird|the teacher".split("|")
verb = "sees|likes|finds|follows|paints|remembers".split("|")
obj = "the red ball|a quiet river|the tall tree|an open door|the warm bread|a bright star".split("|")
def para():
    return " ".join(f"{random.choice(subj)} {random.choice(verb)} {random.choice(obj)}." for _ in range(random.randint(3, 8)))
with open(f"{d}/train.jsonl", "w") as f:
    for _ in range(1500): f.write('{"text": "%s"}\n' % para())
with open(f"{d}/val.jsonl", "w") as f:
    for _ in range(100): f.write('{"text": "%s"}\n' % para())
PY
  "$CHATFORGE" tokenizer train --input "$dir/train.jsonl" --vocab-size "$vocab" --out "$dir/tok" >/dev/null 2>&1
  "$CHATFORGE" data tokenize --tokenizer "$dir/tok" --input "$dir/train.jsonl" "$dir/val.jsonl" --out "$dir/shards" \
    --no-progress >/dev/null 2>&1
}
