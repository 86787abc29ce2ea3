# Sourced by the generate/chat script tests: make_chat_model DIR [n_layer n_embd n_ctx]
# writes DIR/model: a random-weight GPT with a small byte-level BPE tokenizer (English and
# Chinese text, <|endoftext|>, <|im_start|>, <|im_end|>) saved next to it, and sets
# IM_START, IM_END and EOT to the ids of those special tokens.
make_chat_model() {
  local dir=$1 layers=${2:-2} embd=${3:-64} ctx=${4:-256}
  mkdir -p "$dir/corpus"
  for i in 1 2 3 4 5 6; do
    printf 'Hello, how are you today? I am fine, thank you. The weather is nice %d.\n' "$i"
    printf '你好，今天天气很好。我们一起去公园散步吧。谢谢你的帮助！第%d行。\n' "$i"
  done > "$dir/corpus/text.txt"
  "$CHATFORGE" tokenizer train --input "$dir/corpus" --vocab-size 400 --out "$dir/tok" \
    --special-tokens '<|endoftext|>' '<|im_start|>' '<|im_end|>' >/dev/null 2>&1
  local vocab
  # vocab.txt: a header line, then one line per token; the model gets 5 spare rows (as
  # checkpoints often have), which generation must never emit
  vocab=$(( $(wc -l < "$dir/tok/vocab.txt") - 1 + 5 ))
  "$CHATFORGE" model init --out "$dir/model" --n-layer "$layers" --n-head 2 --n-embd "$embd" \
    --vocab-size "$vocab" --n-ctx "$ctx" --seed 3 >/dev/null
  cp "$dir/tok/tokenizer.json" "$dir/model/"
  IM_END=$(awk -F'\t' '$2 == "<|im_end|>" {print $1}' "$dir/tok/vocab.txt")
  IM_START=$(awk -F'\t' '$2 == "<|im_start|>" {print $1}' "$dir/tok/vocab.txt")
  EOT=$(awk -F'\t' '$2 == "<|endoftext|>" {print $1}' "$dir/tok/vocab.txt")
}
