#!/usr/bin/env bash
# `chatforge generate` against an independent PyTorch GPT-2 (scripts/torch_gpt2.py) on the
# same checkpoint: the KV-cached greedy continuation must equal PyTorch's full-recompute
# greedy continuation token for token, and --prompt-logprobs must match PyTorch's
# log-softmax, with the widest decode kernels and with the AVX2 ones. Skipped (77) when /usr/bin/python3 has no torch.
set -euo pipefail
: "${CHATFORGE:?}" "${CF_BINARY_DIR:?}" "${CF_SOURCE_DIR:?}"
PY=${CF_TORCH_PYTHON:-/usr/bin/python3}
"$PY" -c "import torch" 2>/dev/null || { echo "no torch: skipped"; exit 77; }
tmp="$CF_BINARY_DIR/test-tmp/generate_vs_torch"
rm -rf "$tmp" && mkdir -p "$tmp"
fail() { echo "FAIL: $*" >&2; exit 1; }
source "$CF_SOURCE_DIR/tests/scripts/lib/make_chat_model.sh"
make_chat_model "$tmp" 3 96 128
# stop tokens banned (also on the PyTorch side) so every run is 60 tokens long
i=0
for prompt in "Hello, how are you today?" "你好，今天天气很好。" "The"; do
  i=$((i + 1))
  "$CHATFORGE" generate --model "$tmp/model" --prompt "$prompt" --temperature 0 --max-tokens 60 \
    --logit-bias "$IM_END=-100" --logit-bias "$EOT=-100" --json --prompt-logprobs > "$tmp/out$i.json"
done
# the decode kernels an AVX2-only machine runs (ops/cpu/simd.h), on this machine too
CHATFORGE_SIMD=avx2 "$CHATFORGE" generate --model "$tmp/model" --prompt "你好，今天天气很好。" --temperature 0 \
  --max-tokens 60 --logit-bias "$IM_END=-100" --logit-bias "$EOT=-100" --json --prompt-logprobs > "$tmp/out4.json"
"$PY" - "$CF_SOURCE_DIR/scripts" "$tmp/model" "$IM_END,$EOT" "$tmp"/out*.json <<'PY' || fail "chatforge differs from PyTorch"
import json, struct, sys
import torch
sys.path.insert(0, sys.argv[1])
from torch_gpt2 import Gpt2
model_dir, banned = sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
cfg = json.load(open(f"{model_dir}/config.json"))
raw = open(f"{model_dir}/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
def tensor(name):
    h = header.get(name) or header["transformer." + name]
    a, b = h["data_offsets"]
    return torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=torch.float32).reshape(h["shape"])
L, NH, C, V, T = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
m = Gpt2(L, NH, C, V, T)
with torch.no_grad():
    m.wte.weight.copy_(tensor("wte.weight")); m.wpe.weight.copy_(tensor("wpe.weight"))
    m.ln_f.weight.copy_(tensor("ln_f.weight")); m.ln_f.bias.copy_(tensor("ln_f.bias"))
    for l, blk in enumerate(m.h):
        p = f"h.{l}."
        for mod, name in [(blk.ln_1, "ln_1"), (blk.ln_2, "ln_2")]:
            mod.weight.copy_(tensor(p + name + ".weight")); mod.bias.copy_(tensor(p + name + ".bias"))
        for mod, name in [(blk.c_attn, "attn.c_attn"), (blk.c_proj, "attn.c_proj"), (blk.c_fc, "mlp.c_fc"),
                          (blk.mlp_proj, "mlp.c_proj")]:
            mod.weight.copy_(tensor(p + name + ".weight").t()); mod.bias.copy_(tensor(p + name + ".bias"))
for path in sys.argv[4:]:
    out = json.load(open(path))
    prompt = [x["id"] for x in out["prompt_logprobs"]]
    Vs = V - 5  # make_chat_model gives the model 5 spare rows that are never sampled
    seq = list(prompt)
    with torch.no_grad():
        logp = torch.log_softmax(m(torch.tensor([prompt]))[0, :, :Vs].double(), dim=-1)
        for t in range(1, len(prompt)):
            got, want = out["prompt_logprobs"][t]["logprob"], logp[t - 1, prompt[t]].item()
            assert abs(got - want) < 1e-4, (path, t, got, want)
        for _ in range(len(out["tokens"])):
            logits = m(torch.tensor([seq]))[0, -1, :Vs]
            logits[banned] = float("-inf")
            seq.append(int(logits.argmax()))
    assert len(out["tokens"]) == 60, out
    assert seq[len(prompt):] == out["tokens"], (path, seq[len(prompt):], out["tokens"])
PY
echo "generate_vs_torch: OK"
