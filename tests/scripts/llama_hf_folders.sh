#!/usr/bin/env bash
# Hugging Face Llama-family folders in and out. Random-weight LlamaForCausalLM,
# MistralForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM folders, written as
# transformers saves them (scripts/make_hf_model.py: f32, bf16 or f16; one file or shards
# with model.safetensors.index.json), load with `generate --model`: its KV-cached greedy
# continuation must equal the PyTorch reference's (scripts/torch_llama.py, full recompute
# over the same stored weights) token for token. Then `convert --from hf` and `--to hf` in
# the stored dtype give back every tensor byte for byte, every config.json key, and the
# folder's tokenizer and generation files (tokenizer_config.json with the model's own chat
# template, generation_config.json, special_tokens_map.json) unchanged.
# Skipped (77) when /usr/bin/python3 has no torch.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch" 2>/dev/null || { echo "no torch: skipped"; exit 77; }
tmp="$CF_BINARY_DIR/test-tmp/llama_hf_folders"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
make_chat_model "$tmp" 1 32 64  # for its tokenizer
V=$(( $(wc -l < "$tmp/tok/vocab.txt") - 1 ))
N=24
# arch dtype shards kv-heads extra flags
while read -r arch dtype shards kv extra; do
  m="$tmp/$arch-$dtype"
  # init-std 0.1: logits peaked enough that greedy choices are clear (margins >> float error)
  "$PY" "$CF_SOURCE_DIR/scripts/make_hf_model.py" --arch "$arch" --out "$m" --dtype "$dtype" --shards "$shards" \
    --vocab "$V" --layers 2 --hidden 64 --heads 4 --kv-heads "$kv" --intermediate 96 --max-pos 128 --seed 5 \
    --init-std 0.1 $extra >/dev/null
  cp "$tmp/tok/tokenizer.json" "$m/"
  # a model's own chat template and special-token map (a Llama-3-style template here)
  cat > "$m/tokenizer_config.json" <<'JSON'
{"add_bos_token": false, "model_max_length": 128, "eos_token": "<|im_end|>",
 "chat_template": "{% for m in messages %}{{ '<|im_start|>' + m['role'] + ': ' + m['content'] + '<|im_end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant: ' }}{% endif %}"}
JSON
  echo '{"eos_token": "<|im_end|>", "bos_token": null}' > "$m/special_tokens_map.json"
  "$CHATFORGE" generate --model "$m" --prompt "Hello, how are you today? 你好" --temperature 0 --max-tokens $N \
    --json --prompt-logprobs --quiet > "$m.gen.json"
  ids=$("$PY" -c "import json,sys; print(','.join(str(x['id']) for x in json.load(open(sys.argv[1]))['prompt_logprobs']))" "$m.gen.json")
  "$PY" "$CF_SOURCE_DIR/scripts/make_hf_model.py" --arch "$arch" --out "$m.ref" --dtype "$dtype" --shards "$shards" \
    --vocab "$V" --layers 2 --hidden 64 --heads 4 --kv-heads "$kv" --intermediate 96 --max-pos 128 --seed 5 \
    --init-std 0.1 $extra --ids "$ids" --greedy $N --logits-out "$m.ref.json" >/dev/null
  "$PY" - "$m.gen.json" "$m.ref.json" "$EOT,$IM_END" "$arch $dtype" <<'PY' || fail "$arch $dtype: chatforge differs from PyTorch"
import json, sys
got, want = json.load(open(sys.argv[1]))["tokens"], json.load(open(sys.argv[2]))["greedy"]
stops, what = {int(x) for x in sys.argv[3].split(",")}, sys.argv[4]
assert got == want[:len(got)], (what, got, want)
assert len(got) == len(want) or want[len(got)] in stops, (what, "stopped early", got, want)
assert len(set(want)) >= 4, (what, "a degenerate model proves little", want)
print(f"{what}: {len(got)} greedy tokens equal PyTorch's")
PY
  # HF -> chatforge -> HF in the stored dtype: the same tensors, byte for byte
  "$CHATFORGE" convert --from hf --input "$m" --out "$m.cf" >/dev/null
  "$CHATFORGE" convert --to hf --input "$m.cf" --out "$m.hf" --dtype "$dtype" >/dev/null
  for f in tokenizer.json tokenizer_config.json special_tokens_map.json generation_config.json; do
    cmp "$m/$f" "$m.cf/$f" || fail "$arch $dtype: convert --from hf changed $f"
    cmp "$m/$f" "$m.hf/$f" || fail "$arch $dtype: convert --to hf changed $f"
  done
  "$PY" - "$m" "$m.hf" <<'PY' || fail "$arch $dtype: the exported folder differs"
import glob, json, os, struct, sys
def tensors(d):
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        raw = open(f, "rb").read()
        n = struct.unpack("<Q", raw[:8])[0]
        for name, h in json.loads(raw[8:8 + n]).items():
            if name == "__metadata__": continue
            a, b = h["data_offsets"]
            out[name] = (h["dtype"], h["shape"], raw[8 + n + a:8 + n + b])
    return out
a, b = tensors(sys.argv[1]), tensors(sys.argv[2])
assert sorted(a) == sorted(b), (sorted(set(a) ^ set(b)))
for k in a: assert a[k] == b[k], k
ca, cb = json.load(open(sys.argv[1] + "/config.json")), json.load(open(sys.argv[2] + "/config.json"))
for k, v in ca.items():
    if k == "transformers_version": continue
    assert cb.get(k) == v, (k, v, cb.get(k))
print(f"{len(a)} tensors and {len(ca)} config keys round-trip")
PY
done <<'CASES'
llama f32 1 2 --no-tie
mistral bf16 3 2 --no-tie
qwen2 f16 2 1 --tie --init-std 0.2
qwen3 bf16 1 2 --head-dim 24
CASES
echo "llama_hf_folders: OK"
