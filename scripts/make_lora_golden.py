#!/usr/bin/python3
"""Writes the PyTorch golden fixtures for chatforge's LoRA adapters (tests/golden/test_lora_golden.cpp).

The base model is make_golden.py's tiny GPT-2 (scripts/torch_gpt2.py) or Llama-family model
(scripts/torch_llama.py) with the same random weights; LoRA is written here in plain torch as
PEFT computes it (peft/tuners/lora/layer.py, Linear.forward):
    result = base(x) + lora_B(lora_A(dropout(x))) * scaling,   scaling = lora_alpha / r
with lora_A nn.Linear(in, r, bias=False) and lora_B nn.Linear(r, out, bias=False); the base is
frozen. Targets follow PEFT's rule (a module whose path equals a target or ends with
"." + target); GPT-2 paths are Hugging Face's (transformer.h.N.attn.c_attn, ...).

The fixture holds: the base ("param." + HF name, as make_golden.py), the adapters' initial
values ("lora.<path>.lora_A.weight" / ".lora_B.weight"; A kaiming-uniform as PEFT, B random
so every gradient is non-zero), one batch (inputs, targets, mask) with its masked mean loss,
logits and the adapters' gradients ("grad.<path>.lora_A.weight" ...); then an SFT run from
PEFT's true start (the same A, B = 0): STEPS AdamW steps over the adapters only (weight
decay on every adapter matrix, global-norm clipping at 1.0) on NB masked batches in turn
("curve.inputs" (NB, B, T), "curve.targets", "curve.mask"), their losses ("curve_losses")
and the final adapters ("final.<path>.lora_A.weight" ...). Dropout is 0 (a mask cannot be
shared with PyTorch). Metadata as make_golden.py plus lora_r, lora_alpha, lora_targets.

Usage: /usr/bin/python3 scripts/make_lora_golden.py [--arch gpt2|llama|qwen2|qwen3] [--seed 1337]
           [--targets c_attn,c_proj,c_fc] [--r 4] [--alpha 8] [--steps 100] [--out FILE]
The committed fixtures are tests/golden/{gpt2,llama}_lora.safetensors, seed 1337, all targets.
"""
import argparse
import json
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden as mg  # noqa: E402
import torch_llama  # noqa: E402
from torch_gpt2 import Gpt2, masked_loss  # noqa: E402

HP = dict(lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, grad_clip=1.0)
NB = 4  # SFT batches the curve cycles through

# torch_gpt2.Block attribute -> its Hugging Face module path under transformer.h.N
GPT2_PATHS = {"c_attn": "attn.c_attn", "c_proj": "attn.c_proj", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
DEFAULT_TARGETS = {"gpt2": "c_attn,c_proj,c_fc",
                   "llama": "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"}


class LoraLinear(nn.Module):
    """PEFT's LoRA Linear with dropout 0: base(x) + lora_B(lora_A(x)) * scaling."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        for p in self.base.parameters():
            p.requires_grad_(False)
        self.lora_A = nn.Linear(base.in_features, r, bias=False)
        self.lora_B = nn.Linear(r, base.out_features, bias=False)
        self.scaling = alpha / r

    def forward(self, x):
        return self.base(x) + self.lora_B(self.lora_A(x)) * self.scaling


def matches(path, target):
    return path == target or path.endswith("." + target)


def wrap(model, arch, targets, r, alpha):
    """Replaces every targeted nn.Linear by a LoraLinear; returns [(HF module path, LoraLinear)]."""
    found = []
    if arch == "gpt2":
        for i, block in enumerate(model.h):
            for attr, sub in GPT2_PATHS.items():
                path = f"transformer.h.{i}.{sub}"
                if any(matches(path, t) for t in targets):
                    m = LoraLinear(getattr(block, attr), r, alpha)
                    setattr(block, attr, m)
                    found.append((path, m))
    else:
        for path, mod in list(model.named_modules()):
            if isinstance(mod, nn.Linear) and path != "lm_head" and any(matches(path, t) for t in targets):
                parent_path, _, attr = path.rpartition(".")
                m = LoraLinear(mod, r, alpha)
                setattr(model.get_submodule(parent_path), attr, m)
                found.append((path, m))
    for p in model.parameters():  # the base is frozen
        p.requires_grad_(False)
    for _, m in found:
        m.lora_A.weight.requires_grad_(True)
        m.lora_B.weight.requires_grad_(True)
    return found


def adapters(found, what):
    out = []
    for path, m in found:
        for name in ("lora_A", "lora_B"):
            w = getattr(m, name).weight
            t = w.grad if what == "grad" else w
            out.append((f"{path}.{name}.weight", t.detach().clone()))
    return out


def random_batch(gen, V):
    inputs = torch.randint(0, V, (mg.B, mg.T), generator=gen, dtype=torch.int64)
    targets = torch.randint(0, V, (mg.B, mg.T), generator=gen, dtype=torch.int64)
    mask = (torch.rand((mg.B, mg.T), generator=gen) > 0.3).to(torch.uint8)
    mask[0, 0] = 1
    return inputs, targets, mask


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["gpt2"] + sorted(mg.TINY), default="gpt2")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--targets", help="comma-separated PEFT target_modules (default: every projection)")
    ap.add_argument("--r", type=int, default=4)
    ap.add_argument("--alpha", type=float, default=8.0)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--out", help="default tests/golden/ARCH_lora.safetensors")
    args = ap.parse_args()
    out = args.out or f"tests/golden/{args.arch}_lora.safetensors"
    targets = (args.targets or DEFAULT_TARGETS["gpt2" if args.arch == "gpt2" else "llama"]).split(",")
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(args.seed)
    if args.arch == "gpt2":
        model = Gpt2(**mg.CFG)
        mg.init_weights(model, gen)
        V = mg.CFG["vocab_size"]
        base = mg.hf_tensors(model, False)
        meta = {k: str(v) for k, v in mg.CFG.items()}
    else:
        hf_config = dict(mg.TINY[args.arch])
        model = torch_llama.Llama(hf_config)
        mg.init_llama_weights(model, gen)
        V = hf_config["vocab_size"]
        base = torch_llama.hf_tensors(model, False)
        meta = {"arch": args.arch, "hf_config": json.dumps(hf_config, sort_keys=True)}
    found = wrap(model, args.arch, targets, args.r, args.alpha)
    assert found, "no module matched the targets"
    with torch.no_grad():
        for _, m in found:  # PEFT's kaiming_uniform_(A, a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); B random here (zero below)
            m.lora_A.weight.copy_((torch.rand(m.lora_A.weight.shape, generator=gen) * 2 - 1)
                                  / math.sqrt(m.lora_A.weight.shape[1]))
            m.lora_B.weight.copy_(0.1 * torch.randn(m.lora_B.weight.shape, generator=gen))
    inputs, targets_t, mask = random_batch(gen, V)
    tensors = [("inputs", inputs.to(torch.int32)), ("targets", targets_t.to(torch.int32)), ("mask", mask)]
    tensors += [("param." + n, t) for n, t in base]
    tensors += [("lora." + n, t) for n, t in adapters(found, "weight")]
    logits = model(inputs)
    loss = masked_loss(logits, targets_t, mask)
    loss.backward()
    tensors += [("logits", logits.detach()), ("loss", loss.detach().reshape(1))]
    tensors += [("grad." + n, t) for n, t in adapters(found, "grad")]

    # The SFT curve from PEFT's start: the same A, B = 0.
    params = []
    with torch.no_grad():
        for _, m in found:
            m.lora_B.weight.zero_()
            m.lora_A.weight.grad = None
            m.lora_B.weight.grad = None
            params += [m.lora_A.weight, m.lora_B.weight]
    batches = [random_batch(gen, V) for _ in range(NB)]
    opt = torch.optim.AdamW(params, lr=HP["lr"], betas=(HP["beta1"], HP["beta2"]), eps=HP["eps"],
                            weight_decay=HP["weight_decay"], foreach=False)
    losses = []
    for s in range(args.steps):
        x, y, mk = batches[s % NB]
        opt.zero_grad(set_to_none=False)
        step_loss = masked_loss(model(x), y, mk)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(params, HP["grad_clip"])
        opt.step()
        losses.append(step_loss.item())
    tensors += [("curve.inputs", torch.stack([b[0] for b in batches]).to(torch.int32)),
                ("curve.targets", torch.stack([b[1] for b in batches]).to(torch.int32)),
                ("curve.mask", torch.stack([b[2] for b in batches])),
                ("curve_losses", torch.tensor(losses, dtype=torch.float32))]
    tensors += [("final." + n, t) for n, t in adapters(found, "weight")]
    meta.update({k: repr(v) for k, v in HP.items()})
    meta.update({"B": str(mg.B), "T": str(mg.T), "steps": str(args.steps), "nb": str(NB), "seed": str(args.seed),
                 "lora_r": str(args.r), "lora_alpha": repr(args.alpha), "lora_targets": ",".join(targets),
                 "torch": torch.__version__})
    mg.write_safetensors(out, tensors, meta)
    print(f"wrote {out}: loss {loss.item():.6f}, curve {losses[0]:.6f} -> {losses[-1]:.6f}, "
          f"{len(found)} adapters")


if __name__ == "__main__":
    main()
