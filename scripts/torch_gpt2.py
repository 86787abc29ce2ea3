"""GPT-2 in plain PyTorch (the math of Hugging Face GPT2LMHeadModel: pre-LN blocks,
tanh GELU, tied embeddings), used as the reference by scripts/make_golden.py and by the
train-step benchmark. Attention is written by hand: Debian's torch 1.13 has no
scaled_dot_product_attention. Packed rows: forward(idx, doc, pos) takes per-token
document ids (attention is causal and block-diagonal over documents) and positions."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C)
        self.c_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def forward(self, x, allowed=None):
        """allowed: (B, 1, T, T) bool, True where query i may attend to key j (None: causal)."""
        Bx, Tx, C = x.shape
        HS = C // self.NH
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q = q.view(Bx, Tx, self.NH, HS).transpose(1, 2)
        k = k.view(Bx, Tx, self.NH, HS).transpose(1, 2)
        v = v.view(Bx, Tx, self.NH, HS).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(HS)
        if allowed is None:
            allowed = torch.tril(torch.ones(Tx, Tx, dtype=torch.bool))
        att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bx, Tx, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
        return x


class Gpt2(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, vocab_size, n_ctx):
        super().__init__()
        C = n_embd
        self.wte = nn.Embedding(vocab_size, C)
        self.wpe = nn.Embedding(n_ctx, C)
        self.h = nn.ModuleList([Block(C, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(C, eps=1e-5)

    def forward(self, idx, doc=None, pos=None):
        """doc, pos: optional (B, T) document ids and positions of packed rows."""
        Tx = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(Tx) if pos is None else pos)
        allowed = None
        if doc is not None:  # causal and within the same document
            causal = torch.tril(torch.ones(Tx, Tx, dtype=torch.bool))
            allowed = (causal & (doc[:, :, None] == doc[:, None, :])).unsqueeze(1)
        for block in self.h:
            x = block(x, allowed)
        return self.ln_f(x) @ self.wte.weight.t()  # tied head


def masked_loss(logits, targets, mask):
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
    m = mask.reshape(-1).float()
    return (ce * m).sum() / m.sum()


def masked_loss(logits, targets, mask=None):
    """Mean cross-entropy over the tokens where mask is 1 (all tokens without a mask)."""
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
    if mask is None:
        return ce.mean()
    m = mask.reshape(-1).float()
    return (ce * m).sum() / m.sum()
