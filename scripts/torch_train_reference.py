#!/usr/bin/python3
"""PyTorch reference of a `chatforge train --loader sequential` pretraining run: the same
initial weights (a chatforge/HF checkpoint directory), the same token windows in the same
order, the same warmup + cosine schedule, AdamW groups (decay on matmul weights only) and
global-norm clipping. Prints one line per step: "step loss". Used by
tests/scripts/train_vs_torch.sh to check chatforge's loss curve step by step.

Usage: torch_train_reference.py --init DIR --shard FILE --batch-size B --seq-len T --steps N
       --lr LR --warmup W --min-lr-ratio R --weight-decay WD --beta1 B1 --beta2 B2 --grad-clip C"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cf_files import read_safetensors, read_shard  # noqa: E402
from torch_gpt2 import Gpt2, masked_loss  # noqa: E402


def load_model(init):
    cfg = json.load(open(os.path.join(init, "config.json")))
    m = Gpt2(cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"])
    w = {k: torch.from_numpy(v.copy()) for k, v in read_safetensors(os.path.join(init, "model.safetensors")).items()}
    with torch.no_grad():
        m.wte.weight.copy_(w["transformer.wte.weight"])
        m.wpe.weight.copy_(w["transformer.wpe.weight"])
        m.ln_f.weight.copy_(w["transformer.ln_f.weight"])
        m.ln_f.bias.copy_(w["transformer.ln_f.bias"])
        for i, b in enumerate(m.h):
            p = f"transformer.h.{i}."
            b.ln_1.weight.copy_(w[p + "ln_1.weight"]); b.ln_1.bias.copy_(w[p + "ln_1.bias"])
            b.ln_2.weight.copy_(w[p + "ln_2.weight"]); b.ln_2.bias.copy_(w[p + "ln_2.bias"])
            b.c_attn.weight.copy_(w[p + "attn.c_attn.weight"].t()); b.c_attn.bias.copy_(w[p + "attn.c_attn.bias"])
            b.c_proj.weight.copy_(w[p + "attn.c_proj.weight"].t()); b.c_proj.bias.copy_(w[p + "attn.c_proj.bias"])
            b.c_fc.weight.copy_(w[p + "mlp.c_fc.weight"].t()); b.c_fc.bias.copy_(w[p + "mlp.c_fc.bias"])
            b.mlp_proj.weight.copy_(w[p + "mlp.c_proj.weight"].t()); b.mlp_proj.bias.copy_(w[p + "mlp.c_proj.bias"])
    return m


def lr_at(step, a):
    if a.warmup > 0 and step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    if a.steps <= a.warmup + 1:
        return a.lr
    p = min(max((step - a.warmup) / (a.steps - 1 - a.warmup), 0.0), 1.0)
    lo = a.lr * a.min_lr_ratio
    return lo + (a.lr - lo) * 0.5 * (1 + math.cos(math.pi * p))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--init", required=True)
    ap.add_argument("--shard", required=True)
    for k, t in (("batch-size", int), ("seq-len", int), ("steps", int), ("lr", float), ("warmup", int),
                 ("min-lr-ratio", float), ("weight-decay", float), ("beta1", float), ("beta2", float),
                 ("grad-clip", float)):
        ap.add_argument("--" + k, type=t, required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = load_model(a.init)
    tokens = read_shard(a.shard)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith(("wte", "wpe"))]
    rest = [p for n, p in model.named_parameters() if not (p.dim() == 2 and not n.startswith(("wte", "wpe")))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=a.lr, betas=(a.beta1, a.beta2), eps=1e-8, foreach=False)
    B, T = a.batch_size, a.seq_len
    cursor = 0
    for step in range(a.steps):
        rows = []
        for _ in range(B):  # sequential windows of T+1 tokens, stride T, wrapping at the end
            if cursor + T + 1 > len(tokens):
                cursor = 0
            rows.append(tokens[cursor:cursor + T + 1])
            cursor += T
        batch = torch.from_numpy(np.stack(rows))
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a)
        opt.zero_grad(set_to_none=False)
        loss = masked_loss(model(batch[:, :-1]), batch[:, 1:])
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        opt.step()
        print(step + 1, repr(loss.item()))


if __name__ == "__main__":
    main()
