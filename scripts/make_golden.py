#!/usr/bin/python3
"""Writes the PyTorch golden fixture for chatforge's GPT-2 (tests/golden/test_golden.cpp).

A tiny GPT-2 (HF GPT2LMHeadModel math: pre-LN, tanh GELU, tied embeddings) is built by
hand in PyTorch with random weights (non-zero biases, LayerNorm weights near 1, so every
gradient path matters). The fixture (a safetensors file) holds the inputs, targets and
loss mask, the logits, the masked mean loss, every parameter and its gradient under
Hugging Face names (Conv1D layout), and the losses and final weights of 10 AdamW steps
(weight decay on matmul weights only, global-norm clipping at 1.0).

With --packed, every row holds several documents: the fixture adds "doc" and "pos" (per
token document ids and positions restarting at 0), the reference attends causally within
each document only, and a document's last token has mask 0 (it must not predict the next).

Usage: /usr/bin/python3 scripts/make_golden.py [--seed 1337] [--out tests/golden/gpt2_tiny.safetensors] [--packed]
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

CFG = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=96, n_ctx=32)
B, T = 3, 16
STEPS = 10
HP = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)


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
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--out", default="tests/golden/gpt2_tiny.safetensors")
    ap.add_argument("--packed", action="store_true", help="rows of several documents (doc and pos tensors)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    model = Gpt2(**CFG)
    init_weights(model, gen)
    V = CFG["vocab_size"]
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
    tensors += [("param." + n, t) for n, t in hf_tensors(model, False)]
    logits = model(inputs, doc, pos)
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    tensors += [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
    tensors += [("grad." + n, t) for n, t in hf_tensors(model, True)]

    decay, no_decay = [], []
    for name, p in model.named_parameters():
        is_matmul = p.dim() == 2 and not name.startswith("wte") and not name.startswith("wpe")
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
    tensors += [("final." + n, t) for n, t in hf_tensors(model, False)]

    meta = {k: str(v) for k, v in CFG.items()}
    meta.update({k: repr(v) for k, v in HP.items()})
    meta.update({"B": str(B), "T": str(T), "steps": str(STEPS), "seed": str(args.seed),
                 "torch": torch.__version__})
    if args.packed:
        meta["packed"] = "1"
    write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out}: loss {loss.item():.6f}, {len(tensors)} tensors")


if __name__ == "__main__":
    main()
