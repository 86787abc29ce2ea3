#!/usr/bin/env python3
"""PyTorch side of the GPU training benchmark (scripts/bench/gpu-train.sh): a nanoGPT-style
GPT-2 (pre-LN blocks, tanh GELU, tied embeddings, biases) with F.scaled_dot_product_attention
(flash attention) and torch.compile, trained in bf16 autocast with fp32 master weights and
fused AdamW, on random tokens. Finds the largest micro-batch that fits (or takes --batch),
then prints the median step time, tokens/s and MFU against the given bf16 peak.
Usage: gpu_train.py [--layers 12 --heads 12 --embd 768 --vocab 50257 --seq 1024]
                    [--batch B] [--steps 20] [--peak-tflops 989] [--no-compile]
Output (last line): RESULT impl=torch batch=B tok_s=... mfu=... step_ms=..."""
import argparse
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, L, NH, C, V, T):
        super().__init__()
        self.wte = nn.Embedding(V, C)
        self.wpe = nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for b in self.h:
            x = b(x)
        logits = F.linear(self.ln_f(x), self.wte.weight)  # tied head
        return F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.view(-1))


def flops_per_token(L, C, V, T):
    # the same count as chatforge's Gpt::flops_per_token (6N for matmul weights incl. the
    # head, plus attention scores and weighted sums over the full T x T)
    Vp = (V + 127) // 128 * 128
    return 6.0 * (L * 12.0 * C * C + Vp * C) + L * 12.0 * T * C


def run(a, B):
    torch.manual_seed(1)
    model = Gpt(a.layers, a.heads, a.embd, a.vocab, a.seq).cuda()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1, fused=True)
    step_fn = torch.compile(model) if a.compile else model
    inp = torch.randint(0, a.vocab, (B, a.seq), device="cuda")
    tgt = torch.randint(0, a.vocab, (B, a.seq), device="cuda")
    times = []
    for i in range(a.warmup + a.steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = step_fn(inp, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        torch.cuda.synchronize()
        if i >= a.warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times), float(loss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--embd", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--seq", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=0, help="0: the largest of 64, 32, 16, 8, 4, 2, 1 that fits")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--peak-tflops", type=float, default=989.0)
    ap.add_argument("--no-compile", dest="compile", action="store_false")
    a = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = True
    candidates = [a.batch] if a.batch else [64, 32, 16, 8, 4, 2, 1]
    for B in candidates:
        try:
            dt, loss = run(a, B)
        except torch.cuda.OutOfMemoryError:
            print(f"batch {B}: out of memory")
            torch._dynamo.reset()
            torch.cuda.empty_cache()
            continue
        tok_s = B * a.seq / dt
        mfu = tok_s * flops_per_token(a.layers, a.embd, a.vocab, a.seq) / (a.peak_tflops * 1e12)
        print(f"torch {torch.__version__} on {torch.cuda.get_device_name()}: batch {B}, step {dt*1e3:.1f} ms, "
              f"loss {loss:.3f}, {tok_s:.0f} tok/s, MFU {100*mfu:.1f}%")
        print(f"RESULT impl=torch batch={B} tok_s={tok_s:.1f} mfu={mfu:.4f} step_ms={dt*1e3:.2f}")
        return
    raise SystemExit("no batch size fits")


if __name__ == "__main__":
    main()
