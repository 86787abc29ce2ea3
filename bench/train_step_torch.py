#!/usr/bin/python3
"""PyTorch reference for the train-step benchmark: the same model shape, random data,
forward + backward + AdamW in fp32, configured fairly (threads set by the caller via
--threads; run with OMP_WAIT_POLICY=PASSIVE). Prints the median step time, tokens/s and
the peak resident memory (getrusage; includes torch's own libraries).
Usage: train_step_torch.py L NH C V B T [--steps 5] [--warmup 1] [--threads 2] [architecture flags]
The architecture flags are bench_train_step's (`chatforge train`'s): --arch gpt2 (default,
scripts/torch_gpt2.py) or llama|mistral|qwen2|qwen3 (scripts/torch_llama.py, Hugging Face's
math), --n-kv-head, --head-dim, --ffn-dim, --rope-theta, --untied-head, with
model::new_model_config's defaults where one is 0 (llama_config below mirrors them).
--plan: print the model's parameter count ("PLAN params=N") and exit, as bench_train_step
--plan does (tests/scripts/bench_train_step_arch.sh compares the two)."""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_gpt2 import Gpt2, masked_loss  # noqa: E402
from torch_llama import Llama  # noqa: E402


def llama_config(a):
    """The Hugging Face config.json dict of the model chatforge's model::new_model_config
    builds from the same flags (GptConfig::for_arch's defaults: kv heads n_head / 4 where that
    divides, MLP 8C/3 rounded up to 64, rms_norm_eps 1e-6, rope_theta 10000, tied head)."""
    kv = a.n_kv_head or (a.NH // 4 if a.NH % 4 == 0 else a.NH)
    cfg = dict(model_type=a.arch, vocab_size=a.V, hidden_size=a.C, num_hidden_layers=a.L,
               num_attention_heads=a.NH, num_key_value_heads=kv,
               intermediate_size=a.ffn_dim or (8 * a.C // 3 + 63) // 64 * 64,
               rms_norm_eps=1e-6, rope_theta=a.rope_theta or 10000.0, rope_scaling=None,
               max_position_embeddings=max(a.T, 1024), tie_word_embeddings=not a.untied_head,
               attention_bias=False)
    if a.head_dim:
        cfg["head_dim"] = a.head_dim
    if a.arch == "mistral":
        cfg["sliding_window"] = None
    return cfg


def main():
    ap = argparse.ArgumentParser()
    for k in ("L", "NH", "C", "V", "B", "T"):
        ap.add_argument(k, type=int)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--arch", default="gpt2", choices=("gpt2", "llama", "mistral", "qwen2", "qwen3"))
    ap.add_argument("--n-kv-head", type=int, default=0)
    ap.add_argument("--head-dim", type=int, default=0)
    ap.add_argument("--ffn-dim", type=int, default=0)
    ap.add_argument("--rope-theta", type=float, default=0.0)
    ap.add_argument("--untied-head", action="store_true")
    ap.add_argument("--plan", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.arch == "gpt2":
        if a.n_kv_head or a.head_dim or a.ffn_dim or a.rope_theta or a.untied_head:
            ap.error("--n-kv-head, --head-dim, --ffn-dim, --rope-theta and --untied-head are for the Llama family")
        model = Gpt2(a.L, a.NH, a.C, a.V, max(a.T, 1024))
    else:
        model = Llama(llama_config(a))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {a.arch}, {n_params} parameters")
    if a.plan:
        print(f"PLAN params={n_params}")
        return
    # chatforge's Gpt::init_weights: norm weights 1, biases 0, matrices N(0, 0.02); the Llama
    # projections into the residual stream N(0, 0.02 / sqrt(2 L)) as chatforge's (the GPT-2
    # side keeps N(0, 0.02) everywhere, as it always has: the step time does not depend on it)
    resid_std = 0.02 / (2 * a.L) ** 0.5
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "ln_" in name or "norm" in name:
                p.fill_(1.0)
            elif name.endswith(("o_proj.weight", "down_proj.weight")):
                p.normal_(0.0, resid_std)
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
