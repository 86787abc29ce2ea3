#!/usr/bin/python3
"""PyTorch reference for the train-step benchmark: the same GPT-2 shape, random data,
forward + backward + AdamW in fp32, configured fairly (threads set by the caller via
--threads; run with OMP_WAIT_POLICY=PASSIVE). Prints the median step time, tokens/s and
the peak resident memory (getrusage; includes torch's own libraries).
Usage: train_step_torch.py L NH C V B T [--steps 5] [--warmup 1] [--threads 2]"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_gpt2 import Gpt2, masked_loss  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for k in ("L", "NH", "C", "V", "B", "T"):
        ap.add_argument(k, type=int)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = Gpt2(a.L, a.NH, a.C, a.V, max(a.T, 1024))
    with torch.no_grad():  # GPT-2 initialisation, as chatforge's side uses
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "ln_" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, 0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), weight_decay=0.1)
    inp = torch.randint(0, a.V, (a.B, a.T))
    tgt = torch.randint(0, a.V, (a.B, a.T))
    times = []
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = masked_loss(model(inp), tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if s >= a.warmup:
            times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT step_s={med:.4f} tok_s={a.B * a.T / med:.1f} loss={loss.item():.4f} threads={torch.get_num_threads()} "
          f"peak_rss_mb={rss_mb:.0f}")


if __name__ == "__main__":
    main()
