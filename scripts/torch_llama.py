#!/usr/bin/python3
"""The Llama family in plain PyTorch: the math of Hugging Face LlamaForCausalLM,
MistralForCausalLM, Qwen2ForCausalLM and Qwen3ForCausalLM, built from a config.json dict.
The reference for scripts/make_golden.py --arch llama|qwen2|qwen3 and scripts/make_hf_model.py.

Contract: Llama(config) has HF's module names, so named_parameters()/state_dict() names are
HF's ("model.layers.0.self_attn.q_proj.weight", ...; no "lm_head.weight" when the embeddings
are tied); nn.Linear keeps HF's (out, in) layout. forward(idx, doc=None, pos=None) -> logits
(B, T, V); doc/pos are the per-token document ids and positions of packed rows (attention
causal and block-diagonal over documents, rotary angles from pos). Attention is written by
hand: Debian's torch 1.13 has no scaled_dot_product_attention.

What each model_type changes (everything else is Llama):
  llama   q/k/v/o biases iff attention_bias; gate/up/down biases iff mlp_bias
  mistral no biases; sliding_window must be null (not modelled)
  qwen2   q/k/v biases always, o_proj none; use_sliding_window must be false
  qwen3   q_norm/k_norm: RMSNorm over head_dim (one weight shared by all heads) applied to
          q and k per head BEFORE the rotary embedding; q/k/v/o biases iff attention_bias
rope_scaling (None, or {"rope_type" (or legacy "type"): linear|dynamic|llama3|yarn, ...})
is computed as transformers' modeling_rope_utils does, in float32 (rope_inv_freq below).
Transformers v5's "rope_parameters" dict is accepted as well.

Self-check (about a minute; run it under flock /work/.cpu.lock):
  /usr/bin/python3 scripts/torch_llama.py --selftest
  inv_freq of each rope type against the formulas computed by hand in float64, GQA against
  MHA with repeated kv heads, packed rows against their documents run separately, the
  forward of every model_type against per-token/per-head/per-pair float64 loops, and
  float64 torch.autograd.gradcheck of every model_type.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                 "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
HALF = (torch.float16, torch.bfloat16)


def head_dim_of(cfg):
    """HF: getattr(config, "head_dim", None) or hidden_size // num_attention_heads."""
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def rope_settings(cfg):
    """(rope_theta, rope_type, scaling dict) from a config.json dict; v4 keys (rope_theta,
    rope_scaling) or v5's rope_parameters. rope_type "default" when there is no scaling."""
    if cfg.get("rope_parameters"):
        rp = dict(cfg["rope_parameters"])
        theta = rp.get("rope_theta", cfg.get("rope_theta", 10000.0))
    else:
        rp = dict(cfg.get("rope_scaling") or {})
        theta = cfg.get("rope_theta", 10000.0)
    rope_type = rp.get("rope_type", rp.get("type", "default"))
    return float(theta), rope_type, rp


def rope_inv_freq(cfg, seq_len=None):
    """(inv_freq float32 (HS/2,), attention_scaling) exactly as transformers'
    ROPE_INIT_FUNCTIONS compute them (float32 tensor ops, python-float factors).
    seq_len matters for "dynamic" only: the longest sequence seen (max position + 1)."""
    base, rope_type, rs = rope_settings(cfg)
    if cfg.get("partial_rotary_factor", rs.get("partial_rotary_factor", 1.0)) != 1.0:
        raise ValueError("partial_rotary_factor != 1 is not used by the Llama family")
    dim = head_dim_of(cfg)
    exps = torch.arange(0, dim, 2, dtype=torch.int64).float() / dim  # float32, as HF

    if rope_type == "default":
        return 1.0 / (base ** exps), 1.0
    if rope_type == "linear":
        return (1.0 / (base ** exps)) / rs["factor"], 1.0
    if rope_type == "dynamic":
        # HF: base * ((factor * seq_len / max_pos) - (factor - 1)) ** (dim / (dim - 2)) with
        # seq_len = max(seq_len, max_position_embeddings); unchanged up to max_position_embeddings.
        max_pos = cfg["max_position_embeddings"]
        factor = rs["factor"]
        if seq_len is None or seq_len <= max_pos:
            return 1.0 / (base ** exps), 1.0
        # HF gets seq_len as a 0-d int64 tensor here, so this arithmetic runs in float32.
        s = torch.tensor(seq_len, dtype=torch.int64)
        b = base * ((factor * s / max_pos) - (factor - 1)) ** (dim / (dim - 2))
        return 1.0 / (b ** exps), 1.0
    if rope_type == "llama3":
        inv_freq = 1.0 / (base ** exps)
        factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
        old_ctx = rs["original_max_position_embeddings"]
        low_freq_wavelen, high_freq_wavelen = old_ctx / lo, old_ctx / hi
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_ctx / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(medium, smoothed, scaled), 1.0
    if rope_type == "yarn":
        # transformers >= 4.5x: the explicit factor; the correction range from
        # rope_scaling.original_max_position_embeddings (else max_position_embeddings).
        # (Some earlier releases, and engines that copied them, replaced factor by
        # max_pos / original_max when both were set, and older ones took the correction range
        # from max_position_embeddings: configs with max_position_embeddings == factor *
        # original_max_position_embeddings give one answer under all of them.)
        factor = rs.get("factor")
        orig = rs.get("original_max_position_embeddings") or cfg["max_position_embeddings"]
        if factor is None:
            factor = cfg["max_position_embeddings"] / orig

        def mscale_of(scale, m=1.0):
            return 1.0 if scale <= 1 else 0.1 * m * math.log(scale) + 1.0

        attn = rs.get("attention_factor")
        if attn is None:
            m, m_all = rs.get("mscale"), rs.get("mscale_all_dim")
            attn = float(mscale_of(factor, m) / mscale_of(factor, m_all)) if (m and m_all) else mscale_of(factor)
        beta_fast = rs.get("beta_fast") or 32
        beta_slow = rs.get("beta_slow") or 1

        def correction_dim(rotations):
            return (dim * math.log(orig / (rotations * 2 * math.pi))) / (2 * math.log(base))

        low, high = correction_dim(beta_fast), correction_dim(beta_slow)
        if rs.get("truncate", True):
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, dim - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(dim // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        pos_freqs = base ** (torch.arange(0, dim, 2).float() / dim)
        extrapolation_factor = 1 - ramp
        inv_freq = (1.0 / (factor * pos_freqs)) * (1 - extrapolation_factor) + (1.0 / pos_freqs) * extrapolation_factor
        return inv_freq, attn
    raise ValueError(f"rope_scaling type {rope_type!r} is not supported (linear, dynamic, llama3, yarn)")


def rope_cos_sin(cfg, pos, dtype):
    """cos, sin (B, T, HS) for positions pos (B, T): HF's LlamaRotaryEmbedding.forward
    (float32 angles inv_freq * pos, cos/sin = cat(freqs, freqs), times attention_scaling,
    then cast to the activations' dtype)."""
    seq_len = int(pos.max()) + 1 if pos.numel() else 0
    inv_freq, scaling = rope_inv_freq(cfg, seq_len)
    freqs = pos.float()[:, :, None] * inv_freq[None, None, :]  # HF: (inv_freq @ pos), k = 1
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * scaling).to(dtype), (emb.sin() * scaling).to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class RMSNorm(nn.Module):
    """HF LlamaRMSNorm: x * rsqrt(mean(x^2) + eps) in float32, cast back, times weight.
    (Float64 stays float64 so gradcheck works; HF would drop it to float32.)"""

    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        h = x.float() if dt in HALF else x
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dt)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        mt = cfg.get("model_type", "llama")
        C, self.NH, self.NKV = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.HS = head_dim_of(cfg)
        if self.NH % self.NKV:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        qkv_bias = o_bias = bool(cfg.get("attention_bias", False))
        if mt == "qwen2":
            qkv_bias, o_bias = True, False
        elif mt == "mistral":
            qkv_bias = o_bias = False
        # Registration order = HF's state_dict order.
        self.q_proj = nn.Linear(C, self.NH * self.HS, bias=qkv_bias)
        self.k_proj = nn.Linear(C, self.NKV * self.HS, bias=qkv_bias)
        self.v_proj = nn.Linear(C, self.NKV * self.HS, bias=qkv_bias)
        self.o_proj = nn.Linear(self.NH * self.HS, C, bias=o_bias)
        self.qk_norm = mt == "qwen3"
        if self.qk_norm:
            self.q_norm = RMSNorm(self.HS, cfg["rms_norm_eps"])
            self.k_norm = RMSNorm(self.HS, cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, allowed):
        """x (B, T, C); cos, sin (B, T, HS); allowed (B, 1, 1, T, T) bool."""
        B, T, _ = x.shape
        NH, NKV, HS = self.NH, self.NKV, self.HS
        G = NH // NKV  # query heads per kv head: query head h reads kv head h // G
        q = self.q_proj(x).view(B, T, NH, HS)
        k = self.k_proj(x).view(B, T, NKV, HS)
        v = self.v_proj(x).view(B, T, NKV, HS).transpose(1, 2)  # (B, NKV, T, HS)
        if self.qk_norm:  # Qwen3: per-head RMSNorm on the projections, before rotary
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = q.transpose(1, 2), k.transpose(1, 2)  # (B, NH|NKV, T, HS)
        c, s = cos[:, None], sin[:, None]
        q = q * c + rotate_half(q) * s
        k = k * c + rotate_half(k) * s
        q = q.reshape(B, NKV, G, T, HS)
        att = (q @ k[:, :, None].transpose(-2, -1)) * HS ** -0.5  # (B, NKV, G, T, T)
        att = att.masked_fill(~allowed, float("-inf"))
        if att.dtype in HALF:  # HF: softmax in float32, then back to the query dtype
            p = att.float().softmax(dim=-1).to(att.dtype)
        else:
            p = att.softmax(dim=-1)
        y = (p @ v[:, :, None]).reshape(B, NH, T, HS).transpose(1, 2).reshape(B, T, NH * HS)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C, I = cfg["hidden_size"], cfg["intermediate_size"]
        bias = cfg.get("model_type", "llama") == "llama" and bool(cfg.get("mlp_bias", False))
        self.gate_proj = nn.Linear(C, I, bias=bias)
        self.up_proj = nn.Linear(C, I, bias=bias)
        self.down_proj = nn.Linear(I, C, bias=bias)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])

    def forward(self, x, cos, sin, allowed):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, allowed)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    """HF's LlamaModel (the "model." prefix)."""

    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


def check_config(cfg):
    mt = cfg.get("model_type", "llama")
    if mt not in ARCHITECTURES:
        raise ValueError(f"model_type {mt!r} is not one of {sorted(ARCHITECTURES)}")
    if cfg.get("hidden_act", "silu") != "silu":
        raise ValueError(f"hidden_act {cfg['hidden_act']!r}: only silu is modelled")
    if mt == "mistral" and cfg.get("sliding_window") is not None:
        raise ValueError("mistral sliding_window must be null (sliding attention is not modelled)")
    if mt in ("qwen2", "qwen3") and cfg.get("use_sliding_window", False):
        raise ValueError("use_sliding_window must be false (sliding attention is not modelled)")
    if cfg.get("pretraining_tp", 1) != 1:
        raise ValueError("pretraining_tp != 1 is not modelled")
    rope_inv_freq(cfg)  # rejects unknown rope types


class Llama(nn.Module):
    """A causal LM of the Llama family from a Hugging Face config.json dict."""

    def __init__(self, config):
        super().__init__()
        check_config(config)
        self.config = dict(config)
        self.model = Body(self.config)
        self.tied = bool(self.config.get("tie_word_embeddings", False))
        if not self.tied:
            self.lm_head = nn.Linear(self.config["hidden_size"], self.config["vocab_size"], bias=False)

    def head_weight(self):
        return self.model.embed_tokens.weight if self.tied else self.lm_head.weight

    def forward(self, idx, doc=None, pos=None):
        """idx (B, T) token ids; doc, pos: optional (B, T) document ids and positions of packed
        rows. Returns logits (B, T, V)."""
        B, T = idx.shape
        x = self.model.embed_tokens(idx)
        if pos is None:
            pos = torch.arange(T).expand(B, T)
        cos, sin = rope_cos_sin(self.config, pos, x.dtype)
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool)).expand(B, T, T)
        if doc is not None:  # causal and within the same document
            allowed = allowed & (doc[:, :, None] == doc[:, None, :])
        allowed = allowed[:, None, None]  # (B, 1, 1, T, T) over (kv head, group)
        for layer in self.model.layers:
            x = layer(x, cos, sin, allowed)
        return F.linear(self.model.norm(x), self.head_weight())


def hf_tensors(model, use_grad=False):
    """(Hugging Face name, tensor) of every parameter (or its gradient), in HF's state_dict
    order; nn.Linear is already HF's (out, in) layout, tied models have no lm_head.weight."""
    out = []
    for name, p in model.named_parameters():
        t = p.grad if use_grad else p
        out.append((name, t.detach().clone()))
    return out


def masked_loss(logits, targets, mask=None):
    """Mean cross-entropy over the tokens where mask is 1 (all tokens without a mask)."""
    ce = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1), reduction="none")
    if mask is None:
        return ce.mean()
    m = mask.reshape(-1).to(ce.dtype)
    return (ce * m).sum() / m.sum()


# ----------------------------------------------------------------------------- self-test

def _tiny(model_type, **kw):
    cfg = dict(model_type=model_type, vocab_size=11, hidden_size=16, intermediate_size=10,
               num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-6,
               rope_theta=10000.0, rope_scaling=None, max_position_embeddings=16,
               tie_word_embeddings=False, attention_bias=False)
    cfg.update(kw)
    return cfg


def _randomize(model, gen, dtype=torch.float64):
    model.to(dtype)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen, dtype=dtype))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen, dtype=dtype))
    return model


def _cases():
    """One tiny config per model_type, between them every feature."""
    return {
        "llama (GQA, o/q/k/v + mlp biases, llama3 rope)": _tiny(
            "llama", attention_bias=True, mlp_bias=True,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                          "high_freq_factor": 4.0, "original_max_position_embeddings": 12}),
        "mistral (head_dim != C/NH, legacy linear rope)": _tiny(
            "mistral", head_dim=6, sliding_window=None, rope_scaling={"type": "linear", "factor": 2.0}),
        "qwen2 (MQA, qkv biases, tied, dynamic rope past max_pos)": _tiny(
            "qwen2", num_key_value_heads=1, tie_word_embeddings=True, max_position_embeddings=6,
            rope_scaling={"rope_type": "dynamic", "factor": 2.0}),
        "qwen3 (q/k norms, head_dim 8, yarn)": _tiny(
            "qwen3", head_dim=8, attention_bias=True,
            rope_scaling={"rope_type": "yarn", "factor": 2.0, "original_max_position_embeddings": 8}),
    }


def _check_gradients(gen):
    cases = _cases()
    B, T = 2, 5
    for label, cfg in cases.items():
        model = _randomize(Llama(cfg), gen)
        idx = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        tgt = torch.randint(0, cfg["vocab_size"], (B, T), generator=gen)
        doc = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 0, 0]])
        pos = torch.tensor([[0, 1, 0, 1, 2], [3, 4, 5, 6, 7]])
        names = [n for n, _ in model.named_parameters()]
        params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]

        def f(*ps):
            state = dict(zip(names, ps))
            logits = torch.nn.utils.stateless.functional_call(model, state, (idx, doc, pos))
            return masked_loss(logits, tgt)

        ok = torch.autograd.gradcheck(f, tuple(params), eps=1e-6, atol=1e-7, rtol=1e-5)
        print(f"  gradcheck float64 {label}: {'ok' if ok else 'FAILED'} ({len(params)} tensors)")


def _check_rope():
    # Hand formulas in float64 python (no torch), compared with rope_inv_freq within float32 rounding.
    def default(theta, d):
        return [theta ** (-(2 * i) / d) for i in range(d // 2)]

    d, theta = 16, 10000.0
    base = default(theta, d)
    cfg = dict(hidden_size=64, num_attention_heads=4, rope_theta=theta, max_position_embeddings=64)

    def check(label, rs, want, want_scale=1.0, seq_len=None):
        got, scale = rope_inv_freq(dict(cfg, rope_scaling=rs), seq_len)
        err = max(abs(g - w) / w for g, w in zip(got.tolist(), want))
        assert err < 1e-6 and abs(scale - want_scale) < 1e-12, (label, got.tolist(), want, scale, want_scale)
        print(f"  inv_freq {label}: ok (max rel err {err:.2g}, attention scaling {scale:.6f})")

    check("default", None, base)
    check("linear x4", {"type": "linear", "factor": 4.0}, [f / 4 for f in base])
    # llama3, original context 28, factors 1/4: wavelen 2pi/f; < 7 kept, > 28 divided by 8,
    # between: (1 - s) f / 8 + s f with s = (28 / wavelen - 1) / 3.
    want, kinds = [], set()
    for f in base:
        wl = 2 * math.pi / f
        if wl < 7:
            want.append(f), kinds.add("kept")
        elif wl > 28:
            want.append(f / 8), kinds.add("divided")
        else:
            s = (28 / wl - 1) / 3
            want.append((1 - s) * f / 8 + s * f), kinds.add("smoothed")
    assert kinds == {"kept", "divided", "smoothed"}
    check("llama3 (all three bands)", {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                      "high_freq_factor": 4.0, "original_max_position_embeddings": 28}, want)
    # yarn, factor 4, original context 64: correction dims for 32 and 1 rotations,
    # d * ln(64 / (r 2 pi)) / (2 ln theta), floored / ceiled; ramp (i - low) / (high - low).
    cd = [d * math.log(64 / (r * 2 * math.pi)) / (2 * math.log(theta)) for r in (32, 1)]
    low, high = max(math.floor(cd[0]), 0), min(math.ceil(cd[1]), d - 1)
    want = []
    for i, f in enumerate(base):
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        want.append(f / 4 * ramp + f * (1 - ramp))
    check(f"yarn (ramp {low}..{high})", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64},
          want, 0.1 * math.log(4.0) + 1.0)
    check("yarn attention_factor", {"rope_type": "yarn", "factor": 4.0, "attention_factor": 0.5,
                                    "original_max_position_embeddings": 64}, want, 0.5)
    check("yarn mscale", {"rope_type": "yarn", "factor": 4.0, "mscale": 1.0, "mscale_all_dim": 0.5,
                          "original_max_position_embeddings": 64},
          want, (0.1 * math.log(4) + 1) / (0.05 * math.log(4) + 1))
    check("dynamic within max_pos", {"rope_type": "dynamic", "factor": 2.0}, base, seq_len=64)
    b = theta * ((2.0 * 100 / 64) - 1) ** (d / (d - 2))
    check("dynamic at 100 > 64", {"rope_type": "dynamic", "factor": 2.0}, default(b, d), seq_len=100)


def _naive_logits(model, idx, doc, pos):
    """The forward pass one token, one head, one rotary pair at a time in float64 (no
    reshapes, no broadcasting), as the formulas read. Rotary frequencies from rope_inv_freq."""
    cfg = model.config
    W = {n: p.detach().double() for n, p in model.named_parameters()}
    NH, NKV, HS = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    G, eps, half = NH // NKV, cfg["rms_norm_eps"], HS // 2
    inv, scale = rope_inv_freq(cfg, int(pos.max()) + 1)
    inv = inv.double().tolist()

    def rms(x, w):
        return x / math.sqrt(float((x * x).mean()) + eps) * w

    def lin(x, name):
        y = W[name + ".weight"] @ x
        return y + W[name + ".bias"] if name + ".bias" in W else y

    def rot(v, p):  # pairs (i, i + HS/2) turn by angle p * inv[i]
        out = v.clone()
        for i in range(half):
            c, s = math.cos(p * inv[i]) * scale, math.sin(p * inv[i]) * scale
            out[i], out[i + half] = v[i] * c - v[i + half] * s, v[i + half] * c + v[i] * s
        return out

    B, T = idx.shape
    logits = torch.zeros(B, T, cfg["vocab_size"], dtype=torch.float64)
    head = W["model.embed_tokens.weight"] if model.tied else W["lm_head.weight"]
    for b in range(B):
        x = [W["model.embed_tokens.weight"][int(idx[b, t])].clone() for t in range(T)]
        for li in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{li}."
            q, k, v = [], [], []
            for t in range(T):
                h = rms(x[t], W[pre + "input_layernorm.weight"])
                qt, kt, vt = (lin(h, pre + "self_attn." + n) for n in ("q_proj", "k_proj", "v_proj"))
                qh = [qt[j * HS:(j + 1) * HS] for j in range(NH)]
                kh = [kt[j * HS:(j + 1) * HS] for j in range(NKV)]
                if pre + "self_attn.q_norm.weight" in W:
                    qh = [rms(z, W[pre + "self_attn.q_norm.weight"]) for z in qh]
                    kh = [rms(z, W[pre + "self_attn.k_norm.weight"]) for z in kh]
                q.append([rot(z, int(pos[b, t])) for z in qh])
                k.append([rot(z, int(pos[b, t])) for z in kh])
                v.append([vt[j * HS:(j + 1) * HS] for j in range(NKV)])
            for t in range(T):
                ys = []
                for hq in range(NH):
                    hk = hq // G
                    js = [j for j in range(t + 1) if doc[b, j] == doc[b, t]]
                    sc = [float(q[t][hq] @ k[j][hk]) / math.sqrt(HS) for j in js]
                    mx = max(sc)
                    e = [math.exp(s - mx) for s in sc]
                    ys.append(sum(ei / sum(e) * v[j][hk] for ei, j in zip(e, js)))
                x[t] = x[t] + lin(torch.cat(ys), pre + "self_attn.o_proj")
            for t in range(T):
                h = rms(x[t], W[pre + "post_attention_layernorm.weight"])
                g, u = lin(h, pre + "mlp.gate_proj"), lin(h, pre + "mlp.up_proj")
                x[t] = x[t] + lin(g / (1 + torch.exp(-g)) * u, pre + "mlp.down_proj")
        for t in range(T):
            logits[b, t] = head @ rms(x[t], W["model.norm.weight"])
    return logits


def _check_naive(gen):
    for label, cfg in _cases().items():
        model = _randomize(Llama(cfg), gen)
        idx = torch.randint(0, cfg["vocab_size"], (2, 5), generator=gen)
        doc = torch.tensor([[0, 0, 1, 1, 1], [0, 0, 0, 0, 0]])
        pos = torch.tensor([[0, 1, 0, 1, 2], [3, 4, 5, 6, 7]])
        got = model(idx, doc, pos)
        want = _naive_logits(model, idx, doc, pos)
        err = ((got - want).abs().max() / want.abs().max()).item()
        assert err < 1e-6, (label, err)  # cos/sin: float32 in the model, float64 here
        print(f"  forward == per-element loops, {label}: ok (max rel diff {err:.2g})")


def _check_gqa(gen):
    cfg = _tiny("llama", num_attention_heads=6, num_key_value_heads=2, hidden_size=12, attention_bias=True)
    gqa = _randomize(Llama(cfg), gen)
    mha = Llama(dict(cfg, num_key_value_heads=6)).to(torch.float64)
    sd = gqa.state_dict()
    HS, G = 2, 3
    for name in list(sd):
        if ".k_proj." in name or ".v_proj." in name:  # kv head j -> query heads j*G .. j*G+G-1
            t = sd[name]
            sd[name] = t.reshape(2, HS, *t.shape[1:]).repeat_interleave(G, dim=0).reshape(6 * HS, *t.shape[1:])
    mha.load_state_dict(sd)
    idx = torch.randint(0, cfg["vocab_size"], (2, 7), generator=gen)
    err = (gqa(idx) - mha(idx)).abs().max().item()
    assert err < 1e-12, err
    print(f"  GQA (6 heads / 2 kv heads) == MHA with repeated kv heads: ok (max abs diff {err:.2g})")


def _check_packed(gen):
    cfg = _tiny("qwen3", head_dim=6)
    model = _randomize(Llama(cfg), gen)
    a = torch.randint(0, 11, (1, 3), generator=gen)
    b = torch.randint(0, 11, (1, 4), generator=gen)
    packed = model(torch.cat([a, b], 1), torch.tensor([[0, 0, 0, 1, 1, 1, 1]]), torch.tensor([[0, 1, 2, 0, 1, 2, 3]]))
    err = max((packed[:, :3] - model(a)).abs().max().item(), (packed[:, 3:] - model(b)).abs().max().item())
    assert err < 1e-12, err
    print(f"  packed row == its documents run separately: ok (max abs diff {err:.2g})")


def selftest():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    _check_rope()
    _check_gqa(gen)
    _check_packed(gen)
    _check_naive(gen)
    _check_gradients(gen)
    print("selftest passed")


if __name__ == "__main__":
    import sys
    if sys.argv[1:] != ["--selftest"]:
        sys.exit("usage: torch_llama.py --selftest")
    selftest()
