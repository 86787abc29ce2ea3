#!/usr/bin/python3
"""Writes the PyTorch golden fixture for chatforge's preference losses (tests/golden/test_pref_golden.cpp).

Policy and reference are make_golden.py's tiny GPT-2 (scripts/torch_gpt2.py) with two different
random initialisations. N examples, each two sequences of L tokens (x[0..L]: inputs x[0..L-1],
targets x[1..L], a 0/1 mask on the "answer" tokens). The losses, written here in plain torch
from their papers as TRL computes them (trl/trainer/dpo_trainer.py, kto_trainer.py):
  log p(seq) = sum over masked targets of log_softmax(logits)[target]
  dpo (sigmoid, label smoothing eps):  d = (pc - rc) - (pr - rr)
      loss = mean(-(1 - eps) logsigmoid(beta d) - eps logsigmoid(-beta d))
  ipo: d = (pc - rc)/nc - (pr - rr)/nr,  loss = mean((d - 1/(2 beta))^2)
  kto: z = clamp(mean(p_kl - r_kl), min=0) detached (the second sequence of each row is the
      KL sequence); desirable: w_d (1 - sigmoid(beta (p - r - z))), undesirable:
      w_u (1 - sigmoid(beta (z - (p - r)))); loss = mean over examples.
For each variant: the loss, every policy gradient ("<v>.grad." + HF name), and the losses of
STEPS AdamW steps on the same batch ("<v>.curve"; make_golden.py's optimizer: decay on matmul
weights, clipping at 1.0; the final weights are left out to keep the fixture small).
With LoRA ("lora." adapters A, B on c_attn, c_proj, c_fc as make_lora_golden.py writes them,
r 4, alpha 8): the policy is the base ("param.") with the adapters, the reference the same
model with the adapters off; DPO's loss, the adapters' gradients ("lora_dpo.grad.") and 10
AdamW steps over the adapters ("lora_dpo.curve").
Tensors: "param." (policy) and "ref." (reference) in HF names; "seq_a", "seq_b" (N, L+1) int32,
"mask_a", "mask_b" (N, L) uint8, "desirable" (N) uint8.

Usage: /usr/bin/python3 scripts/make_pref_golden.py [--seed 7] [--out tests/golden/gpt2_pref.safetensors]
"""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402
import make_lora_golden as mlg  # noqa: E402
from torch_gpt2 import Gpt2  # noqa: E402

N, L = 3, 8
STEPS = 10
LORA_R, LORA_ALPHA = 4, 8.0
HP = dict(lr=1e-3, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, grad_clip=1.0)
VARIANTS = {
    "dpo": dict(loss="sigmoid", beta=0.5, label_smoothing=0.1),
    "ipo": dict(loss="ipo", beta=0.5),
    "kto": dict(loss="kto", beta=0.5, desirable_weight=1.0, undesirable_weight=1.5),
}


def seq_logps(model, seq, mask):
    logits = model(seq[:, :-1])
    lp = torch.gather(F.log_softmax(logits, dim=-1), 2, seq[:, 1:].unsqueeze(-1)).squeeze(-1)
    return (lp * mask.float()).sum(dim=1)


def loss_of(v, model, ref, seq_a, seq_b, mask_a, mask_b, desirable):
    c = VARIANTS[v]
    pa, pb = seq_logps(model, seq_a, mask_a), seq_logps(model, seq_b, mask_b)
    with torch.no_grad():
        ra, rb = seq_logps(ref, seq_a, mask_a), seq_logps(ref, seq_b, mask_b)
    beta = c["beta"]
    if c["loss"] == "sigmoid":
        d = (pa - ra) - (pb - rb)
        eps = c["label_smoothing"]
        return (-(1 - eps) * F.logsigmoid(beta * d) - eps * F.logsigmoid(-beta * d)).mean()
    if c["loss"] == "ipo":
        d = (pa - ra) / mask_a.sum(1).clamp(min=1) - (pb - rb) / mask_b.sum(1).clamp(min=1)
        return ((d - 1 / (2 * beta)) ** 2).mean()
    z = (pb - rb).mean().detach().clamp(min=0)
    ratio = pa - ra
    good = desirable.bool()
    losses = torch.where(good, c["desirable_weight"] * (1 - torch.sigmoid(beta * (ratio - z))),
                         c["undesirable_weight"] * (1 - torch.sigmoid(beta * (z - ratio))))
    return losses.mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default="tests/golden/gpt2_pref.safetensors")
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    V = mg.CFG["vocab_size"]
    policy0 = Gpt2(**mg.CFG)
    mg.init_weights(policy0, gen)
    ref = Gpt2(**mg.CFG)
    mg.init_weights(ref, gen)
    seq_a = torch.randint(0, V, (N, L + 1), generator=gen, dtype=torch.int64)
    seq_b = torch.randint(0, V, (N, L + 1), generator=gen, dtype=torch.int64)
    mask_a = torch.zeros((N, L), dtype=torch.uint8)
    mask_b = torch.zeros((N, L), dtype=torch.uint8)
    for i in range(N):  # a prompt of 2..4 tokens, then the answer
        mask_a[i, int(torch.randint(2, 5, (1,), generator=gen)):] = 1
        mask_b[i, int(torch.randint(2, 5, (1,), generator=gen)):] = 1
    desirable = torch.tensor([1, 0, 1], dtype=torch.uint8)
    tensors = [("seq_a", seq_a.to(torch.int32)), ("seq_b", seq_b.to(torch.int32)), ("mask_a", mask_a),
               ("mask_b", mask_b), ("desirable", desirable)]
    tensors += [("param." + n, t) for n, t in mg.hf_tensors(policy0, False)]
    tensors += [("ref." + n, t) for n, t in mg.hf_tensors(ref, False)]
    meta = {k: str(v) for k, v in mg.CFG.items()}
    for v, c in VARIANTS.items():
        model = Gpt2(**mg.CFG)
        model.load_state_dict(policy0.state_dict())
        loss = loss_of(v, model, ref, seq_a, seq_b, mask_a, mask_b, desirable)
        loss.backward()
        tensors += [(f"{v}.loss", loss.detach().reshape(1))]
        tensors += [(f"{v}.grad." + n, t) for n, t in mg.hf_tensors(model, True)]
        decay, no_decay = [], []
        for name, p in model.named_parameters():
            (decay if p.dim() == 2 and not name.startswith(("wte", "wpe")) else no_decay).append(p)
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": HP["weight_decay"]},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=HP["lr"], betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"], foreach=False)
        losses = []
        for _ in range(STEPS):
            opt.zero_grad(set_to_none=False)
            step_loss = loss_of(v, model, ref, seq_a, seq_b, mask_a, mask_b, desirable)
            step_loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), HP["grad_clip"])
            opt.step()
            losses.append(step_loss.item())
        tensors += [(f"{v}.curve", torch.tensor(losses, dtype=torch.float32))]
        meta.update({f"{v}.{k}": str(x) for k, x in c.items()})
        print(f"{v}: loss {loss.item():.6f}, curve {losses[0]:.6f} -> {losses[-1]:.6f}")
    # LoRA: the policy is the base (policy0) with adapters on every projection, the reference
    # the same model with the adapters off (scaling 0: exactly the base), DPO as above.
    model = Gpt2(**mg.CFG)
    model.load_state_dict(policy0.state_dict())
    found = mlg.wrap(model, "gpt2", ["c_attn", "c_proj", "c_fc"], LORA_R, LORA_ALPHA)
    with torch.no_grad():
        for _, m in found:  # A as PEFT draws it, B random (so the policy differs from the reference)
            m.lora_A.weight.copy_((torch.rand(m.lora_A.weight.shape, generator=gen) * 2 - 1)
                                  / math.sqrt(m.lora_A.weight.shape[1]))
            m.lora_B.weight.copy_(0.1 * torch.randn(m.lora_B.weight.shape, generator=gen))
    tensors += [("lora." + n, t) for n, t in mlg.adapters(found, "weight")]

    class AdaptersOff:
        def __init__(self, m, found):
            self.m, self.found = m, found

        def __call__(self, idx):
            for _, lm in self.found:
                lm.scaling, lm.saved = 0.0, lm.scaling
            try:
                return self.m(idx)
            finally:
                for _, lm in self.found:
                    lm.scaling = lm.saved

    lref = AdaptersOff(model, found)
    loss = loss_of("dpo", model, lref, seq_a, seq_b, mask_a, mask_b, desirable)
    loss.backward()
    tensors += [("lora_dpo.loss", loss.detach().reshape(1))]
    tensors += [("lora_dpo.grad." + n, t) for n, t in mlg.adapters(found, "grad")]
    params = [p_ for _, m in found for p_ in (m.lora_A.weight, m.lora_B.weight)]
    opt = torch.optim.AdamW(params, lr=HP["lr"], betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"],
                            weight_decay=HP["weight_decay"], foreach=False)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=False)
        step_loss = loss_of("dpo", model, lref, seq_a, seq_b, mask_a, mask_b, desirable)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(params, HP["grad_clip"])
        opt.step()
        losses.append(step_loss.item())
    tensors += [("lora_dpo.curve", torch.tensor(losses, dtype=torch.float32))]
    meta.update({"lora_r": str(LORA_R), "lora_alpha": repr(LORA_ALPHA), "lora_targets": "c_attn,c_proj,c_fc"})
    print(f"lora dpo: loss {loss.item():.6f}, curve {losses[0]:.6f} -> {losses[-1]:.6f}")
    meta.update({k: repr(x) for k, x in HP.items()})
    meta.update({"N": str(N), "L": str(L), "steps": str(STEPS), "seed": str(args.seed), "torch": torch.__version__})
    mg.write_safetensors(args.out, tensors, meta)
    print(f"wrote {args.out}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
