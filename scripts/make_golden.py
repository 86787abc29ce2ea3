#!/usr/bin/python3
"""Writes the PyTorch golden fixtures for chatforge's transformer (tests/golden/test_golden.cpp).

--arch gpt2 (the default): a tiny GPT-2 (HF GPT2LMHeadModel math: pre-LN, tanh GELU, tied
embeddings) built by hand in PyTorch (scripts/torch_gpt2.py) with random weights (non-zero
biases, LayerNorm weights near 1, so every gradient path matters). The fixture (a
safetensors file) holds the inputs, targets and loss mask, the logits, the masked mean loss,
every parameter and its gradient under Hugging Face names (Conv1D layout), and the losses
and final weights of 10 AdamW steps (weight decay on matmul weights only, global-norm
clipping at 1.0). Metadata: the GPT-2 sizes (n_layer, n_head, n_embd, vocab_size, n_ctx).

--arch llama|qwen2|qwen3: the same layout for the Llama family (scripts/torch_llama.py, the
math of HF LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM) under HF Llama names
("param.model.layers.0.self_attn.q_proj.weight", nn.Linear's (out, in) layout, no
"lm_head.weight" when tied). Weights: RMSNorm weights 1 + 0.1 randn, biases and matrices
and embeddings 0.02 randn. AdamW decays the 2-D matmul weights (lm_head included, not
embed_tokens). Metadata: "arch" and "hf_config" (the model's config.json, JSON). The tiny
configs (TINY below) between them hit every feature: GQA and MQA, llama3 and yarn rope
scaling, q/k/v biases (qwen2), q/k norms with head_dim != hidden/heads and o_proj biases
(qwen3), tied and untied heads. --rope-scaling JSON (or "none") replaces the config's;
--config-set JSON sets any config keys (e.g. {"max_position_embeddings": 12} so that
"dynamic" rope scaling acts on T = 16).

With --packed, every row holds several documents: the fixture adds "doc" and "pos" (per
token document ids and positions restarting at 0), the reference attends causally within
each document only, and a document's last token has mask 0 (it must not predict the next).

Usage: /usr/bin/python3 scripts/make_golden.py [--arch gpt2|llama|qwen2|qwen3] [--seed 1337]
           [--out tests/golden/ARCH_tiny.safetensors] [--packed] [--rope-scaling JSON|none]
           [--config-set JSON]
The committed fixtures are tests/golden/{gpt2,llama,qwen2,qwen3}_tiny.safetensors, seed 1337.
Needs Debian's python3-torch (1.13, CPU).
"""
import argparse
import json
import math
import struct

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_gpt2 import Gpt2, masked_loss  # noqa: E402
import torch_llama  # noqa: E402

CFG = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=96, n_ctx=32)
B, T = 3, 16
STEPS = 10
HP = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)

# config.json of each tiny Llama-family model (what save_pretrained would write, less the
# bookkeeping keys). llama3's original context 28 puts the 8 rotary pairs of head size 16
# in all three bands (pair 0 kept: wavelength 6.3 < 28/4; pair 1 smoothed; pairs 2.. / 8).
# qwen3's yarn (factor 2, original context 16 = max_position_embeddings / 2) keeps pair 0,
# scales pair 1 by 3/4 and halves pairs 2..11, and scales cos/sin by 0.1 ln 2 + 1. qwen2 carries a sliding_window smaller
# than T with use_sliding_window false, as real Qwen2 configs do: it must be ignored.
_COMMON = dict(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
               num_attention_heads=4, hidden_act="silu", attention_dropout=0.0,
               initializer_range=0.02, max_position_embeddings=32, torch_dtype="float32", use_cache=True)
TINY = {
    "llama": dict(_COMMON, architectures=["LlamaForCausalLM"], model_type="llama",
                  num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5, rope_theta=10000.0,
                  rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                "high_freq_factor": 4.0, "original_max_position_embeddings": 28},
                  attention_bias=False, mlp_bias=False, pretraining_tp=1, tie_word_embeddings=False),
    "qwen2": dict(_COMMON, architectures=["Qwen2ForCausalLM"], model_type="qwen2",
                  num_key_value_heads=1, rms_norm_eps=1e-6, rope_theta=1000000.0, rope_scaling=None,
                  use_sliding_window=False, sliding_window=8, max_window_layers=1, tie_word_embeddings=True),
    "qwen3": dict(_COMMON, architectures=["Qwen3ForCausalLM"], model_type="qwen3",
                  num_key_value_heads=2, head_dim=24, rms_norm_eps=1e-6, rope_theta=10000.0,
                  rope_scaling={"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 16},
                  attention_bias=True, use_sliding_window=False, sliding_window=None, max_window_layers=2,
                  tie_word_embeddings=False),
}


def init_weights(model, gen):
    L = CFG["n_layer"]
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            elif name.endswith("bias"):
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))
            else:
                std = 0.02 / math.sqrt(2 * L) if ("c_proj" in name or "mlp_proj" in name) else 0.02
                p.copy_(std * torch.randn(p.shape, generator=gen))


def hf_tensors(model, use_grad):
    """(name, tensor) pairs in Hugging Face GPT-2 naming and Conv1D layout."""
    def get(p):
        return (p.grad if use_grad else p).detach().clone()

    out = [("transformer.wte.weight", get(model.wte.weight)), ("transformer.wpe.weight", get(model.wpe.weight))]
    for i, b in enumerate(model.h):
        pre = f"transformer.h.{i}."
        out += [
            (pre + "ln_1.weight", get(b.ln_1.weight)), (pre + "ln_1.bias", get(b.ln_1.bias)),
            (pre + "attn.c_attn.weight", get(b.c_attn.weight).t()), (pre + "attn.c_attn.bias", get(b.c_attn.bias)),
            (pre + "attn.c_proj.weight", get(b.c_proj.weight).t()), (pre + "attn.c_proj.bias", get(b.c_proj.bias)),
            (pre + "ln_2.weight", get(b.ln_2.weight)), (pre + "ln_2.bias", get(b.ln_2.bias)),
            (pre + "mlp.c_fc.weight", get(b.c_fc.weight).t()), (pre + "mlp.c_fc.bias", get(b.c_fc.bias)),
            (pre + "mlp.c_proj.weight", get(b.mlp_proj.weight).t()), (pre + "mlp.c_proj.bias", get(b.mlp_proj.bias)),
        ]
    out += [("transformer.ln_f.weight", get(model.ln_f.weight)), ("transformer.ln_f.bias", get(model.ln_f.bias))]
    return out


def init_llama_weights(model, gen):
    """RMSNorm weights 1 + 0.1 randn, everything else (biases, matrices, embeddings) 0.02 randn."""
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(0.02 * torch.randn(p.shape, generator=gen))


def write_safetensors(path, tensors, metadata):
    dtypes = {torch.float32: "F32", torch.int32: "I32", torch.uint8: "U8"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        data = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": dtypes[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["gpt2"] + sorted(TINY), default="gpt2")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--out", help="default tests/golden/ARCH_tiny.safetensors")
    ap.add_argument("--packed", action="store_true", help="rows of several documents (doc and pos tensors)")
    ap.add_argument("--rope-scaling", help="Llama family: rope_scaling JSON replacing the tiny config's, or none")
    ap.add_argument("--config-set", help="Llama family: JSON object of config.json keys to set")
    args = ap.parse_args()
    out = args.out or f"tests/golden/{args.arch}_tiny.safetensors"
    if (args.rope_scaling or args.config_set) and args.arch == "gpt2":
        ap.error("--rope-scaling and --config-set are for the Llama family")
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    if args.arch == "gpt2":
        model = Gpt2(**CFG)
        init_weights(model, gen)
        V = CFG["vocab_size"]
        named = hf_tensors
        no_decay_prefixes = ("wte", "wpe")
    else:
        hf_config = dict(TINY[args.arch])
        if args.rope_scaling:
            hf_config["rope_scaling"] = None if args.rope_scaling == "none" else json.loads(args.rope_scaling)
        if args.config_set:
            hf_config.update(json.loads(args.config_set))
        model = torch_llama.Llama(hf_config)
        init_llama_weights(model, gen)
        V = hf_config["vocab_size"]
        named = torch_llama.hf_tensors
        no_decay_prefixes = ("model.embed_tokens",)
    inputs = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, V, (B, T), generator=gen, dtype=torch.int64)
    mask = (torch.rand((B, T), generator=gen) > 0.2).to(torch.uint8)
    mask[0, 0] = 1
    doc = pos = None
    if args.packed:  # random document lengths 1..T per row; the last slot of a document trains nothing
        doc = torch.zeros((B, T), dtype=torch.int64)
        pos = torch.zeros((B, T), dtype=torch.int64)
        for b in range(B):
            d, p = 0, 0
            left = int(torch.randint(1, T + 1, (1,), generator=gen))
            for t in range(T):
                if left == 0:
                    mask[b, t - 1] = 0
                    d, p = d + 1, 0
                    left = int(torch.randint(1, T + 1, (1,), generator=gen))
                doc[b, t], pos[b, t] = d, p
                p, left = p + 1, left - 1

    tensors = [("inputs", inputs.to(torch.int32)), ("targets", targets.to(torch.int32)), ("mask", mask)]
    if args.packed:
        tensors += [("doc", doc.to(torch.int32)), ("pos", pos.to(torch.int32))]
    tensors += [("param." + n, t) for n, t in named(model, False)]
    logits = model(inputs, doc, pos)
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    tensors += [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
    tensors += [("grad." + n, t) for n, t in named(model, True)]

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        is_matmul = p.dim() == 2 and not name.startswith(no_decay_prefixes)
        (decay if is_matmul else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": HP["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=HP["lr"], betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"], foreach=False)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=False)
        loss = masked_loss(model(inputs, doc, pos), targets, mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), HP["grad_clip"])
        opt.step()
        losses.append(loss.item())
    tensors += [("adamw_losses", torch.tensor(losses, dtype=torch.float32))]
    tensors += [("final." + n, t) for n, t in named(model, False)]

    if args.arch == "gpt2":
        meta = {k: str(v) for k, v in CFG.items()}
    else:
        meta = {"arch": args.arch, "hf_config": json.dumps(hf_config, sort_keys=True)}
    meta.update({k: repr(v) for k, v in HP.items()})
    meta.update({"B": str(B), "T": str(T), "steps": str(STEPS), "seed": str(args.seed),
                 "torch": torch.__version__})
    if args.packed:
        meta["packed"] = "1"
    write_safetensors(out, tensors, meta)
    print(f"wrote {out}: loss {loss.item():.6f}, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
