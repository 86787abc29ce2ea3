// Implementation of gpt.h: the GPT-2 forward and backward passes over ops.
#include "model/gpt.h"

#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "ops/ops.h"

namespace chatforge::model {

Gpt::Gpt(const GptConfig& cfg) : cfg_(cfg), layout_(cfg) {
  cfg_.validate("model config");
  params_.resize(layout_.total());
  grads_.resize(layout_.total());
}

void Gpt::init_weights(uint64_t seed) {
  Rng rng(seed);
  params_.zero();
  const float resid_std = 0.02f / std::sqrt(2.0f * cfg_.n_layer);
  for (const auto& t : layout_.tensors()) {
    float* p = params_.data() + t.offset;
    size_t n = t.numel();
    if (t.name == "wte") n = static_cast<size_t>(cfg_.vocab_size) * cfg_.n_embd;  // padding stays 0
    switch (t.kind) {
      case ParamKind::kEmbedding:
      case ParamKind::kMatmulWeight: {
        const float std = (t.name == "attprojw" || t.name == "fcprojw") ? resid_std : 0.02f;
        for (size_t i = 0; i < n; ++i) p[i] = static_cast<float>(rng.normal()) * std;
        break;
      }
      case ParamKind::kNormWeight:
        for (size_t i = 0; i < n; ++i) p[i] = 1.0f;
        break;
      case ParamKind::kBias:
      case ParamKind::kNormBias: break;  // zero
    }
  }
}

void Gpt::zero_grad() { ops::zero_fill(grads_.data(), grads_.size()); }

void Gpt::ensure_activations(int B, int T) {
  CF_CHECK(B >= 1 && T >= 1, "batch size and sequence length must be positive (got B={}, T={})", B, T);
  CF_CHECK(T <= cfg_.n_ctx, "sequence length {} exceeds the model's context of {} tokens", T, cfg_.n_ctx);
  if (B == B_ && T == T_ && recompute_ == acts_recompute_) return;
  acts_recompute_ = recompute_;
  const size_t L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head, Vp = cfg_.padded_vocab_size();
  const size_t BT = static_cast<size_t>(B) * T;
  const size_t K = recompute_ ? 1 : L;  // layers whose insides are kept (recompute: a working one)
  const size_t sizes[] = {
      BT * C,                             // encoded
      K * BT * C, K * BT, K * BT,         // ln1, mean, rstd
      K * BT * 3 * C,                     // qkv
      K * BT * C,                         // atty
      K * B * NH * T,                     // att_lse
      K * BT * C,                         // residual2
      K * BT * C, K * BT, K * BT,         // ln2, mean, rstd
      K * BT * 4 * C, K * BT * 4 * C,     // fch, fch_gelu
      L * BT * C,                         // residual3 (every layer's output: the next one's input)
      BT * C, BT, BT,                     // lnf, mean, rstd
      BT * Vp, BT, BT,                    // logits, losses, lse
  };
  size_t total = 0;
  for (size_t s : sizes) total += (s + 15) / 16 * 16;  // keep every tensor 64-byte aligned
  acts_arena_.resize(total);
  float* ptrs[std::size(sizes)];
  float* p = acts_arena_.data();
  for (size_t i = 0; i < std::size(sizes); ++i) {
    ptrs[i] = p;
    p += (sizes[i] + 15) / 16 * 16;
  }
  acts_ = Activations{ptrs[0],  ptrs[1],  ptrs[2],  ptrs[3],  ptrs[4],  ptrs[5],  ptrs[6],
                      ptrs[7],  ptrs[8],  ptrs[9],  ptrs[10], ptrs[11], ptrs[12], ptrs[13],
                      ptrs[14], ptrs[15], ptrs[16], ptrs[17], ptrs[18], ptrs[19]};
  B_ = B;
  T_ = T;
  scratch_arena_.resize(0);  // sized for the old (B, T): rebuilt on the next backward
}

void Gpt::ensure_scratch() {
  if (scratch_arena_.size() != 0) return;
  const size_t C = cfg_.n_embd, BT = static_cast<size_t>(B_) * T_;
  const size_t sizes[] = {BT * C, BT * C, BT * 3 * C, BT * 4 * C};
  size_t total = 0;
  for (size_t s : sizes) total += (s + 15) / 16 * 16;
  scratch_arena_.resize(total);
  float* p = scratch_arena_.data();
  float* ptrs[std::size(sizes)];
  for (size_t i = 0; i < std::size(sizes); ++i) {
    ptrs[i] = p;
    p += (sizes[i] + 15) / 16 * 16;
  }
  scratch_ = BackwardScratch{ptrs[0], ptrs[1], ptrs[2], ptrs[3]};
}

Gpt::LayerActs Gpt::layer_acts(int l) {
  const size_t C = cfg_.n_embd, BT = static_cast<size_t>(B_) * T_, btc = BT * C;
  const size_t k = recompute_ ? 0 : l;  // recompute: one working slot for every layer
  Activations& a = acts_;
  return LayerActs{l == 0 ? a.encoded : a.residual3 + (l - 1) * btc,
                   a.ln1 + k * btc,
                   a.ln1_mean + k * BT,
                   a.ln1_rstd + k * BT,
                   a.qkv + k * btc * 3,
                   a.atty + k * btc,
                   a.att_lse + k * B_ * cfg_.n_head * T_,
                   a.residual2 + k * btc,
                   a.ln2 + k * btc,
                   a.ln2_mean + k * BT,
                   a.ln2_rstd + k * BT,
                   a.fch + k * btc * 4,
                   a.fch_gelu + k * btc * 4,
                   a.residual3 + l * btc};
}

void Gpt::layer_forward(int l, const int32_t* doc) {
  const int B = B_, T = T_, C = cfg_.n_embd, NH = cfg_.n_head, BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C, lc = static_cast<size_t>(l) * C;
  const GptParams w = weights();
  const LayerActs a = layer_acts(l);
  // x = x + attn(ln_1(x))
  ops::layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, a.residual, w.ln1w + lc, w.ln1b + lc, BT, C);
  ops::matmul_forward(a.qkv, a.ln1, w.qkvw + lc * 3 * C, w.qkvb + lc * 3, BT, C, 3 * C);
  ops::attention_forward(a.atty, a.att_lse, a.qkv, doc, B, T, C, NH);
  ops::matmul_forward(a.residual2, a.atty, w.attprojw + lc * C, w.attprojb + lc, BT, C, C);
  ops::residual_forward(a.residual2, a.residual2, a.residual, btc);
  // x = x + mlp(ln_2(x))
  ops::layernorm_forward(a.ln2, a.ln2_mean, a.ln2_rstd, a.residual2, w.ln2w + lc, w.ln2b + lc, BT, C);
  ops::matmul_forward(a.fch, a.ln2, w.fcw + lc * 4 * C, w.fcb + lc * 4, BT, C, 4 * C);
  ops::gelu_forward(a.fch_gelu, a.fch, btc * 4);
  ops::matmul_forward(a.residual3, a.fch_gelu, w.fcprojw + lc * 4 * C, w.fcprojb + lc, BT, 4 * C, C);
  ops::residual_forward(a.residual3, a.residual3, a.residual2, btc);
}

void Gpt::forward(const int32_t* inp, int B, int T, const RowLayout& rows) {
  ensure_activations(B, T);
  const int L = cfg_.n_layer, C = cfg_.n_embd, Vp = cfg_.padded_vocab_size();
  const int V = cfg_.vocab_size;
  const int BT = B * T;
  for (int i = 0; i < BT; ++i)
    CF_CHECK(inp[i] >= 0 && inp[i] < V, "token id {} at position {} is outside the vocabulary (size {})", inp[i], i,
             V);
  row_doc_.assign(rows.doc, rows.doc != nullptr ? rows.doc + BT : rows.doc);
  row_pos_.assign(rows.pos, rows.pos != nullptr ? rows.pos + BT : rows.pos);
  for (int i = 0; i < static_cast<int>(row_pos_.size()); ++i)
    CF_CHECK(row_pos_[i] >= 0 && row_pos_[i] < cfg_.n_ctx, "position id {} at position {} is outside the context (0..{})",
             row_pos_[i], i, cfg_.n_ctx - 1);
  const int32_t* doc = row_doc_.empty() ? nullptr : row_doc_.data();
  const int32_t* pos = row_pos_.empty() ? nullptr : row_pos_.data();
  const GptParams w = weights();
  Activations& a = acts_;
  ops::encoder_forward(a.encoded, inp, pos, w.wte, w.wpe, B, T, C);
  for (int l = 0; l < L; ++l) layer_forward(l, doc);
  const size_t btc = static_cast<size_t>(BT) * C;
  const float* last = a.residual3 + (L - 1) * btc;
  ops::layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, last, w.lnfw, w.lnfb, BT, C);
  // logits = ln_f(x) @ wte^T (tied head); padded rows of wte are zero
  ops::matmul_forward(a.logits, a.lnf, w.wte, nullptr, BT, C, Vp);
}

double Gpt::forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T,
                         const RowLayout& rows) {
  forward(inp, B, T, rows);
  const int V = cfg_.vocab_size;
  for (int i = 0; i < B * T; ++i)
    CF_CHECK((mask != nullptr && mask[i] == 0) || (targets[i] >= 0 && targets[i] < V),
             "target id {} at position {} is outside the vocabulary (size {})", targets[i], i, V);
  return ops::crossentropy_forward(acts_.losses, acts_.lse, acts_.logits, targets, mask, B * T, V,
                                   cfg_.padded_vocab_size());
}

void Gpt::backward(const int32_t* inp, const int32_t* targets, const uint8_t* mask, float dloss) {
  CF_ASSERT(B_ > 0);
  ensure_scratch();
  const int B = B_, T = T_, L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head;
  const int V = cfg_.vocab_size, Vp = cfg_.padded_vocab_size(), BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C;
  const GptParams w = weights();
  const GptParams g = gradients();
  Activations& a = acts_;
  BackwardScratch& s = scratch_;
  const int32_t* doc = row_doc_.empty() ? nullptr : row_doc_.data();
  const int32_t* pos = row_pos_.empty() ? nullptr : row_pos_.data();

  ops::crossentropy_backward(a.logits, a.lse, targets, mask, dloss, BT, V, Vp);
  float* dlogits = a.logits;
  // forward was: logits = lnf @ wte^T
  ops::matmul_backward(s.dln, g.wte, nullptr, dlogits, a.lnf, w.wte, BT, C, Vp);
  // forward was: lnf = layernorm(residual3[L-1]); the stream gradient starts here
  std::fill(s.dresidual, s.dresidual + btc, 0.0f);
  ops::layernorm_backward(s.dresidual, g.lnfw, g.lnfb, s.dln, a.residual3 + (L - 1) * btc, w.lnfw, a.lnf_mean,
                          a.lnf_rstd, BT, C);
  for (int l = L - 1; l >= 0; --l) {
    // Recompute: the layer's insides again from its kept input (the same kernels on the
    // same inputs: bit-identical to the first forward), into the one working slot.
    if (recompute_) layer_forward(l, doc);
    const LayerActs la = layer_acts(l);
    const size_t lc = static_cast<size_t>(l) * C;
    // forward was: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))));
    // dresidual (= d residual3) flows into residual2 unchanged, plus through the MLP.
    ops::matmul_backward(s.dfch, g.fcprojw + lc * 4 * C, g.fcprojb + lc, s.dresidual, la.fch_gelu,
                         w.fcprojw + lc * 4 * C, BT, 4 * C, C);
    ops::gelu_backward(s.dfch, la.fch, s.dfch, btc * 4);
    ops::matmul_backward(s.dln, g.fcw + lc * 4 * C, g.fcb + lc * 4, s.dfch, la.ln2, w.fcw + lc * 4 * C, BT, C, 4 * C);
    ops::layernorm_backward(s.dresidual, g.ln2w + lc, g.ln2b + lc, s.dln, la.residual2, w.ln2w + lc, la.ln2_mean,
                            la.ln2_rstd, BT, C);
    // forward was: residual2 = residual + attproj(attention(qkv(ln1(residual))))
    ops::matmul_backward(s.dln, g.attprojw + lc * C, g.attprojb + lc, s.dresidual, la.atty, w.attprojw + lc * C, BT,
                         C, C);
    ops::attention_backward(s.dqkv, s.dln, la.qkv, la.atty, la.att_lse, doc, B, T, C, NH);
    ops::matmul_backward(s.dln, g.qkvw + lc * 3 * C, g.qkvb + lc * 3, s.dqkv, la.ln1, w.qkvw + lc * 3 * C, BT, C,
                         3 * C);
    ops::layernorm_backward(s.dresidual, g.ln1w + lc, g.ln1b + lc, s.dln, la.residual, w.ln1w + lc, la.ln1_mean,
                            la.ln1_rstd, BT, C);
    if (on_layer_grads_done) on_layer_grads_done(l);
  }
  // forward was: encoded = wte[inp] + wpe[pos]
  ops::encoder_backward(g.wte, g.wpe, s.dresidual, inp, pos, B, T, C);
}

double Gpt::flops_per_token(int T) const {
  // 6 flops per parameter per token (2 forward, 4 backward) for every matmul weight,
  // including the tied output head (Vp x C); plus attention scores and weighted sums:
  // forward 2 * 2 * T * C per layer per token, backward twice that. This counts the full
  // T x T (the PaLM/llm.c convention, so MFU compares with other trainers); the blocked
  // kernel skips the masked upper blocks, so it does somewhat less work than counted.
  const double C = cfg_.n_embd, L = cfg_.n_layer, Vp = cfg_.padded_vocab_size();
  const double matmul_params = L * 12.0 * C * C + Vp * C;
  return 6.0 * matmul_params + L * 12.0 * T * C;
}

}  // namespace chatforge::model
