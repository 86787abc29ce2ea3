#!/usr/bin/env bash
# LoRA training end to end (`chatforge train --lora-rank`), for GPT-2 and a Qwen3-architecture
# base: the adapters learn over a frozen --init model; a checkpoint holds only the adapter in
# PEFT's format (adapter_config.json + adapter_model.safetensors with base_model.model.*
# names) and its AdamW moments; resume is bit-exact (a 30-step run against 15 + 15 steps with
# the second half under --recompute, with adapter dropout on: identical adapter, moments and
# logged losses); a resume on another base is refused; bad flags are one-line usage errors;
# --stage sft trains adapters on chat shards.
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/run_losses.sh"
tmp=$CF_BINARY_DIR/test-tmp/train_lora
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
for arch in gpt2 qwen3; do
  arch_flags=(--arch "$arch")
  [ "$arch" = qwen3 ] && arch_flags+=(--n-kv-head 1 --untied-head)
  d=$tmp/$arch; mkdir -p "$d"
  "$CHATFORGE" train --data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32 \
    "${arch_flags[@]}" --batch-size 4 --steps 20 --eval-every 0 --lr 3e-3 --no-progress --seed 3 --out "$d/base" \
    2>"$d/base.log"
  base=$d/base/last
  common=(--data "$tmp/shards" --init "$base" --seq-len 32 --batch-size 4 --total-batch-tokens 256 --steps 30
          --eval-every 10 --eval-batches 2 --save-every 7 --lr 5e-3 --no-progress --seed 5
          --lora-rank 4 --lora-dropout 0.1)
  "$CHATFORGE" train "${common[@]}" --out "$d/full" 2>"$d/full.log"
  grep -q "LoRA: rank 4, alpha 8, dropout 0.1" "$d/full.log" || { echo "FAIL: no LoRA plan line"; cat "$d/full.log"; exit 1; }
  ck=$d/full/last
  [ ! -e "$ck/model.safetensors" ] || { echo "FAIL: a LoRA checkpoint holds the base weights"; exit 1; }
  /usr/bin/python3 - "$ck" "$arch" "$base" <<'PY'
import json, struct, sys
ck, arch, base = sys.argv[1:]
c = json.load(open(f"{ck}/adapter_config.json"))
assert c["peft_type"] == "LORA" and c["task_type"] == "CAUSAL_LM", c
assert c["r"] == 4 and c["lora_alpha"] == 8 and abs(c["lora_dropout"] - 0.1) < 1e-6, c
assert c["base_model_name_or_path"] == base, c
want = ["c_attn", "c_proj", "c_fc"] if arch == "gpt2" else \
       ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
assert c["target_modules"] == want, c["target_modules"]
assert c["fan_in_fan_out"] == (arch == "gpt2"), c
f = open(f"{ck}/adapter_model.safetensors", "rb")
n = struct.unpack("<Q", f.read(8))[0]
h = json.loads(f.read(n))
names = sorted(k for k in h if k != "__metadata__")
per_layer = 8 if arch == "gpt2" else 14  # attn.c_proj and mlp.c_proj both match c_proj
assert len(names) == 2 * per_layer, names
pre = "base_model.model.transformer.h.0." if arch == "gpt2" else "base_model.model.model.layers.0."
assert any(k.startswith(pre) for k in names), names
for k in names:
    assert k.endswith(".lora_A.weight") or k.endswith(".lora_B.weight"), k
    r_dim = h[k]["shape"][0] if ".lora_A." in k else h[k]["shape"][1]
    assert r_dim == 4, (k, h[k]["shape"])
if arch == "qwen3":  # q_proj rows are the query heads only: 2 heads x 16 = 32; k/v one kv head
    assert h[pre + "self_attn.q_proj.lora_B.weight"]["shape"] == [32, 4], h[pre + "self_attn.q_proj.lora_B.weight"]
    assert h[pre + "self_attn.k_proj.lora_B.weight"]["shape"] == [16, 4]
print(f"{arch}: adapter_config.json and {len(names)} PEFT tensors as PEFT writes them")
PY
  "$CHATFORGE" train "${common[@]}" --out "$d/split" --stop-after 15 2>"$d/split1.log"
  "$CHATFORGE" train --resume "$d/split" --no-progress --recompute 2>"$d/split2.log"
  grep -q "resuming .* at step 15 of 30" "$d/split2.log"
  expect_exact_resume_that_learns "$d" "$arch"
  echo "$arch: LoRA resume is bit-exact (dropout on, second half with --recompute); loss $FIRST_LOSS -> $LAST_LOSS"
  # a resume on another base is refused
  cp -r "$d/split" "$d/other"
  step=$(readlink "$d/other/last")
  sed -i 's/"lora_base": "[^"]*"/"lora_base": "gpt2 L1 C1 V1 #0000000000000000"/' "$d/other/$step/trainer_state.json"
  if "$CHATFORGE" train --resume "$d/other" --no-progress --steps 31 2>"$d/other.log"; then
    echo "FAIL: resumed on another base"; exit 1
  fi
  grep -q "is not the one this LoRA run started on" "$d/other.log" || { cat "$d/other.log"; exit 1; }
done
# usage errors: one line, exit 2
set +e
"$CHATFORGE" train --data "$tmp/shards" --out "$tmp/x" --lora-rank 4 --no-progress 2>"$tmp/e1.log"; rc1=$?
"$CHATFORGE" train --data "$tmp/shards" --out "$tmp/x" --init "$tmp/gpt2/base/last" --lora-rank 4 \
  --lora-targets q_proj --no-progress 2>"$tmp/e2.log"; rc2=$?
set -e
[ $rc1 = 2 ] && grep -q "lora-rank needs --init: the base model the adapters train on" "$tmp/e1.log" || { echo "FAIL e1 ($rc1)"; cat "$tmp/e1.log"; exit 1; }
[ $rc2 = 2 ] && grep -q "LoRA target 'q_proj' names no module of a gpt2 model (its modules: c_attn, c_proj, c_fc)" \
  "$tmp/e2.log" || { echo "FAIL e2 ($rc2)"; cat "$tmp/e2.log"; exit 1; }
# SFT on chat shards: adapters over the pretrained base, assistant-only loss
/usr/bin/python3 - "$tmp" <<'PY'
import json, sys
with open(f"{sys.argv[1]}/chats.jsonl", "w") as f:
    for i in range(200):
        f.write(json.dumps({"messages": [{"role": "user", "content": f"the cat sees {i % 7}"},
                                         {"role": "assistant", "content": "the dog follows the red ball."}]}) + "\n")
PY
"$CHATFORGE" tokenizer train --input "$tmp/train.jsonl" --vocab-size 320 --special-tokens '<|im_start|>' '<|im_end|>' \
  --out "$tmp/chat_tok" >/dev/null 2>&1
"$CHATFORGE" data chat --tokenizer "$tmp/chat_tok" --input "$tmp/chats.jsonl" --val-fraction 0 --out "$tmp/sft" \
  >/dev/null 2>&1
# the base: pretrained on the text (a frozen random embedding would bound the logits near uniform)
"$CHATFORGE" data tokenize --tokenizer "$tmp/chat_tok" --input "$tmp/train.jsonl" "$tmp/val.jsonl" \
  --out "$tmp/chat_shards" --no-progress >/dev/null 2>&1
"$CHATFORGE" train --data "$tmp/chat_shards" --arch qwen3 --n-layer 2 --n-head 2 --n-embd 64 --seq-len 32 \
  --batch-size 8 --steps 80 --lr 5e-3 --eval-every 0 --no-progress --out "$tmp/sft_base" 2>/dev/null
"$CHATFORGE" train --stage sft --data "$tmp/sft" --init "$tmp/sft_base/last" --lora-rank 8 --lora-alpha 16 \
  --lora-targets q_proj,v_proj,down_proj --seq-len 32 --batch-size 8 --steps 60 --lr 2e-2 --eval-every 0 --no-progress \
  --out "$tmp/sft_run" 2>"$tmp/sft.log"
first=$(losses "$tmp/sft_run/metrics.jsonl" | sed -n 1p | cut -d' ' -f2)
last=$(losses "$tmp/sft_run/metrics.jsonl" | tail -1 | cut -d' ' -f2)
/usr/bin/python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); assert b < 0.2 * a, (a,b)" "$first" "$last" \
  || { echo "FAIL: SFT LoRA loss did not fall to a fifth ($first -> $last)"; exit 1; }
grep -q '"target_modules": \[' "$tmp/sft_run/last/adapter_config.json"
echo "sft: LoRA on q_proj,v_proj,down_proj, assistant loss $first -> $last"
echo "LoRA training: PEFT-format checkpoints, bit-exact resume, base identity checked, usage errors, sft"
# Using the adapter: generate --lora equals generate on the checkpoint convert --merge-lora writes
"$CHATFORGE" convert --to hf --input "$tmp/sft_base/last" --merge-lora "$tmp/sft_run/last" --out "$tmp/merged" >/dev/null
gen=(--temperature 0 --max-tokens 12 --prompt "the cat sees 3" --tokenizer "$tmp/chat_tok")
with=$("$CHATFORGE" generate --model "$tmp/sft_base/last" --lora "$tmp/sft_run/last" "${gen[@]}" 2>/dev/null)
merged=$("$CHATFORGE" generate --model "$tmp/merged" "${gen[@]}" 2>/dev/null)
plain=$("$CHATFORGE" generate --model "$tmp/sft_base/last" "${gen[@]}" 2>/dev/null)
zero=$("$CHATFORGE" generate --model "$tmp/sft_base/last" --lora "$tmp/sft_run/last:0" "${gen[@]}" 2>/dev/null)
[ "$with" = "$merged" ] || { echo "FAIL: --lora ($with) differs from --merge-lora ($merged)"; exit 1; }
[ "$zero" = "$plain" ] || { echo "FAIL: --lora DIR:0 ($zero) differs from the base ($plain)"; exit 1; }
[ "$with" != "$plain" ] || { echo "FAIL: the adapter changed nothing ($with)"; exit 1; }
if "$CHATFORGE" generate --model "$tmp/gpt2/base/last" --lora "$tmp/sft_run/last" "${gen[@]}" 2>"$tmp/bad.log"; then
  echo "FAIL: a qwen3 adapter loaded on a gpt2 base"; exit 1
fi
grep -q "adapter_config.json: LoRA target 'q_proj' names no module of a gpt2 model" "$tmp/bad.log" || { cat "$tmp/bad.log"; exit 1; }
echo "generate --lora = convert --merge-lora (greedy: '$with'); DIR:0 = the base; wrong base refused"
