// Implementation of gpt_cuda.h: Gpt::forward/backward (gpt.cpp) step for step on device
// buffers, with the residual add fused into the following LayerNorm and attention that
// keeps one log-sum-exp per row instead of the (T,T) probabilities.
#include "model/gpt_cuda.h"

#include "core/error.h"

#ifdef CHATFORGE_HAS_CUDA
#include "ops/cuda/cuda_ops.h"

namespace chatforge::model {

using cuda::DeviceArray;

// Everything on the device. Activation shapes as in gpt.h's Activations, except attention
// keeps lse (L, B, NH, T) instead of att (L, B, NH, T, T).
struct GptCuda::State {
  DeviceArray<float> params, grads, m, v;
  DeviceArray<float> acts, scratch;
  DeviceArray<int32_t> inp, targets;
  DeviceArray<uint8_t> mask;
  bool has_mask = false;
  float *encoded, *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *lse, *residual2, *ln2, *ln2_mean, *ln2_rstd, *fch,
      *fch_gelu, *residual3, *lnf, *lnf_mean, *lnf_rstd, *logits, *losses, *ce_lse;
  float *dresidual, *dln, *dqkv, *dfch, *attD;
};

GptCuda::GptCuda(const GptConfig& cfg, bool bf16) : cfg_(cfg), layout_(cfg), bf16_(bf16), s_(new State) {
  cfg_.validate("model config");
  const int hs = cfg_.head_size();
  CF_CHECK(hs == 8 || hs == 16 || hs == 32 || hs == 64,
           "--device cuda: head size {} (n_embd {} / n_head {}) is not supported by the CUDA attention kernels "
           "(8, 16, 32 or 64)", hs, cfg_.n_embd, cfg_.n_head);
  const size_t n = layout_.total();
  s_->params.resize(n);
  s_->grads.resize(n);
  s_->m.resize(n);
  s_->v.resize(n);
  s_->params.zero_all();
  s_->grads.zero_all();
  s_->m.zero_all();
  s_->v.zero_all();
}

GptCuda::~GptCuda() = default;

void GptCuda::upload_params(const float* host) { s_->params.upload(host, layout_.total()); }
void GptCuda::download_params(float* host) const { s_->params.download(host, layout_.total()); }
void GptCuda::upload_moments(const float* m, const float* v) {
  s_->m.upload(m, layout_.total());
  s_->v.upload(v, layout_.total());
}
void GptCuda::download_moments(float* m, float* v) const {
  s_->m.download(m, layout_.total());
  s_->v.download(v, layout_.total());
}
void GptCuda::download_grads(float* host) const { s_->grads.download(host, layout_.total()); }
void GptCuda::upload_grads(const float* host) { s_->grads.upload(host, layout_.total()); }
float* GptCuda::device_params() { return s_->params.data(); }
float* GptCuda::device_grads() { return s_->grads.data(); }
void GptCuda::zero_grad() { s_->grads.zero_all(); }
double GptCuda::grad_sum_squares() const { return cuda::sum_squares(s_->grads.data(), layout_.total()); }

void GptCuda::ensure_activations(int B, int T) {
  CF_CHECK(B >= 1 && T >= 1, "batch size and sequence length must be positive (got B={}, T={})", B, T);
  CF_CHECK(T <= cfg_.n_ctx, "sequence length {} exceeds the model's context of {} tokens", T, cfg_.n_ctx);
  if (B == B_ && T == T_) return;
  const size_t L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head, Vp = cfg_.padded_vocab_size();
  const size_t BT = static_cast<size_t>(B) * T;
  float** outs[] = {&s_->encoded,  &s_->ln1,      &s_->ln1_mean, &s_->ln1_rstd,  &s_->qkv,      &s_->atty,
                    &s_->lse,      &s_->residual2, &s_->ln2,     &s_->ln2_mean,  &s_->ln2_rstd, &s_->fch,
                    &s_->fch_gelu, &s_->residual3, &s_->lnf,     &s_->lnf_mean,  &s_->lnf_rstd, &s_->logits,
                    &s_->losses,   &s_->ce_lse};
  const size_t sizes[] = {BT * C,          L * BT * C,     L * BT,     L * BT,     L * BT * 3 * C, L * BT * C,
                          L * B * NH * T,  L * BT * C,     L * BT * C, L * BT,     L * BT,         L * BT * 4 * C,
                          L * BT * 4 * C,  L * BT * C,     BT * C,     BT,         BT,             BT * Vp,
                          BT,              BT};
  static_assert(std::size(outs) == std::size(sizes));
  size_t total = 0;
  for (size_t sz : sizes) total += (sz + 63) / 64 * 64;  // 256-byte aligned tensors
  s_->acts = DeviceArray<float>();                       // free the old set first
  s_->acts.resize(total);
  float* p = s_->acts.data();
  for (size_t i = 0; i < std::size(sizes); ++i) {
    *outs[i] = p;
    p += (sizes[i] + 63) / 64 * 64;
  }
  float** souts[] = {&s_->dresidual, &s_->dln, &s_->dqkv, &s_->dfch, &s_->attD};
  const size_t ssizes[] = {BT * C, BT * C, BT * 3 * C, BT * 4 * C, B * NH * T};
  total = 0;
  for (size_t sz : ssizes) total += (sz + 63) / 64 * 64;
  s_->scratch = DeviceArray<float>();
  s_->scratch.resize(total);
  p = s_->scratch.data();
  for (size_t i = 0; i < std::size(ssizes); ++i) {
    *souts[i] = p;
    p += (ssizes[i] + 63) / 64 * 64;
  }
  s_->inp.resize(BT);
  s_->targets.resize(BT);
  s_->mask.resize(BT);
  B_ = B;
  T_ = T;
}

void GptCuda::check_ids(const int32_t* ids, const char* what, const uint8_t* mask, int n) const {
  const int V = cfg_.vocab_size;
  for (int i = 0; i < n; ++i)
    CF_CHECK((mask != nullptr && mask[i] == 0) || (ids[i] >= 0 && ids[i] < V),
             "{} id {} at position {} is outside the vocabulary (size {})", what, ids[i], i, V);
}

void GptCuda::forward(const int32_t* inp, int B, int T) {
  ensure_activations(B, T);
  const int L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head, Vp = cfg_.padded_vocab_size();
  const int BT = B * T;
  check_ids(inp, "token", nullptr, BT);
  s_->inp.upload(inp, BT);
  const cuda::Precision prec = bf16_ ? cuda::Precision::kBf16 : cuda::Precision::kFp32;
  const GptParams w = layout_.views(s_->params.data());
  State& a = *s_;
  const size_t btc = static_cast<size_t>(BT) * C;
  cuda::encoder_forward(a.encoded, a.inp.data(), w.wte, w.wpe, B, T, C);
  cuda::layernorm_forward(a.ln1, a.ln1_mean, a.ln1_rstd, a.encoded, w.ln1w, w.ln1b, BT, C);
  for (int l = 0; l < L; ++l) {
    const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
    const size_t lc = static_cast<size_t>(l) * C, lbt = static_cast<size_t>(l) * BT;
    float* ln1 = a.ln1 + l * btc;  // ln_1 of `residual`: computed before the loop or fused below
    float* qkv = a.qkv + l * btc * 3;
    float* atty = a.atty + l * btc;
    float* residual2 = a.residual2 + l * btc;
    float* ln2 = a.ln2 + l * btc;
    float* fch = a.fch + l * btc * 4;
    float* fch_gelu = a.fch_gelu + l * btc * 4;
    float* residual3 = a.residual3 + l * btc;
    // x = x + attn(ln_1(x))
    cuda::matmul_forward(qkv, ln1, w.qkvw + lc * 3 * C, w.qkvb + lc * 3, BT, C, 3 * C, prec);
    cuda::attention_forward(atty, a.lse + static_cast<size_t>(l) * B * NH * T, qkv, B, T, C, NH);
    cuda::matmul_forward(residual2, atty, w.attprojw + lc * C, w.attprojb + lc, BT, C, C, prec);
    // residual2 = residual + attproj (in place, element by element), then ln_2 of it
    cuda::residual_layernorm_forward(residual2, ln2, a.ln2_mean + lbt, a.ln2_rstd + lbt, residual, residual2,
                                     w.ln2w + lc, w.ln2b + lc, BT, C);
    // x = x + mlp(ln_2(x))
    cuda::matmul_forward(fch, ln2, w.fcw + lc * 4 * C, w.fcb + lc * 4, BT, C, 4 * C, prec);
    cuda::gelu_forward(fch_gelu, fch, btc * 4);
    cuda::matmul_forward(residual3, fch_gelu, w.fcprojw + lc * 4 * C, w.fcprojb + lc, BT, 4 * C, C, prec);
    // residual3 = residual2 + mlp, then the next layer's ln_1 (or ln_f after the last)
    if (l + 1 < L) {
      const size_t nc = lc + C, nbt = lbt + BT;
      cuda::residual_layernorm_forward(residual3, a.ln1 + (l + 1) * btc, a.ln1_mean + nbt, a.ln1_rstd + nbt,
                                       residual2, residual3, w.ln1w + nc, w.ln1b + nc, BT, C);
    } else {
      cuda::residual_layernorm_forward(residual3, a.lnf, a.lnf_mean, a.lnf_rstd, residual2, residual3, w.lnfw,
                                       w.lnfb, BT, C);
    }
  }
  // logits = ln_f(x) @ wte^T (tied head); padded rows of wte are zero
  cuda::matmul_forward(a.logits, a.lnf, w.wte, nullptr, BT, C, Vp, prec);
}

double GptCuda::forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T) {
  forward(inp, B, T);
  const int BT = B * T;
  check_ids(targets, "target", mask, BT);
  // masked positions may hold any id (e.g. -1): the kernels never read their target
  s_->targets.upload(targets, BT);
  s_->has_mask = mask != nullptr;
  if (mask) s_->mask.upload(mask, BT);
  return cuda::crossentropy_forward(s_->losses, s_->ce_lse, s_->logits, s_->targets.data(),
                                    s_->has_mask ? s_->mask.data() : nullptr, BT, cfg_.vocab_size,
                                    cfg_.padded_vocab_size());
}

void GptCuda::backward(float dloss) {
  CF_ASSERT(B_ > 0);
  const int B = B_, T = T_, L = cfg_.n_layer, C = cfg_.n_embd, NH = cfg_.n_head;
  const int V = cfg_.vocab_size, Vp = cfg_.padded_vocab_size(), BT = B * T;
  const size_t btc = static_cast<size_t>(BT) * C;
  const cuda::Precision prec = bf16_ ? cuda::Precision::kBf16 : cuda::Precision::kFp32;
  const GptParams w = layout_.views(s_->params.data());
  const GptParams g = layout_.views(s_->grads.data());
  State& a = *s_;
  cuda::crossentropy_backward(a.logits, a.ce_lse, a.targets.data(), a.has_mask ? a.mask.data() : nullptr, dloss, BT,
                              V, Vp);
  // forward was: logits = lnf @ wte^T
  cuda::matmul_backward(a.dln, g.wte, nullptr, a.logits, a.lnf, w.wte, BT, C, Vp, prec);
  // forward was: lnf = layernorm(residual3[L-1]); the stream gradient starts here
  cuda::zero(a.dresidual, btc * sizeof(float));
  cuda::layernorm_backward(a.dresidual, g.lnfw, g.lnfb, a.dln, a.residual3 + (L - 1) * btc, w.lnfw, a.lnf_mean,
                           a.lnf_rstd, BT, C);
  for (int l = L - 1; l >= 0; --l) {
    const float* residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * btc;
    const size_t lc = static_cast<size_t>(l) * C, lbt = static_cast<size_t>(l) * BT;
    // forward was: residual3 = residual2 + fcproj(gelu(fc(ln2(residual2))))
    cuda::matmul_backward(a.dfch, g.fcprojw + lc * 4 * C, g.fcprojb + lc, a.dresidual, a.fch_gelu + l * btc * 4,
                          w.fcprojw + lc * 4 * C, BT, 4 * C, C, prec);
    cuda::gelu_backward(a.dfch, a.fch + l * btc * 4, a.dfch, btc * 4);
    cuda::matmul_backward(a.dln, g.fcw + lc * 4 * C, g.fcb + lc * 4, a.dfch, a.ln2 + l * btc, w.fcw + lc * 4 * C, BT,
                          C, 4 * C, prec);
    cuda::layernorm_backward(a.dresidual, g.ln2w + lc, g.ln2b + lc, a.dln, a.residual2 + l * btc, w.ln2w + lc,
                             a.ln2_mean + lbt, a.ln2_rstd + lbt, BT, C);
    // forward was: residual2 = residual + attproj(attention(qkv(ln1(residual))))
    cuda::matmul_backward(a.dln, g.attprojw + lc * C, g.attprojb + lc, a.dresidual, a.atty + l * btc,
                          w.attprojw + lc * C, BT, C, C, prec);
    cuda::attention_backward(a.dqkv, a.attD, a.dln, a.qkv + l * btc * 3, a.atty + l * btc,
                             a.lse + static_cast<size_t>(l) * B * NH * T, B, T, C, NH);
    cuda::matmul_backward(a.dln, g.qkvw + lc * 3 * C, g.qkvb + lc * 3, a.dqkv, a.ln1 + l * btc, w.qkvw + lc * 3 * C,
                          BT, C, 3 * C, prec);
    cuda::layernorm_backward(a.dresidual, g.ln1w + lc, g.ln1b + lc, a.dln, residual, w.ln1w + lc, a.ln1_mean + lbt,
                             a.ln1_rstd + lbt, BT, C);
  }
  // forward was: encoded = wte[inp] + wpe[t]
  cuda::encoder_backward(g.wte, g.wpe, a.dresidual, a.inp.data(), B, T, C);
}

void GptCuda::adamw_update(const ops::AdamWParams& hp, int step, float grad_scale) {
  for (const auto& t : layout_.tensors()) {
    ops::AdamWParams p = hp;
    if (!t.weight_decay()) p.weight_decay = 0.0f;
    cuda::adamw_step(s_->params.data() + t.offset, s_->grads.data() + t.offset, s_->m.data() + t.offset,
                     s_->v.data() + t.offset, t.numel(), p, step, grad_scale);
  }
}

std::vector<float> GptCuda::logits_row(int b, int t) const {
  CF_ASSERT(b >= 0 && b < B_ && t >= 0 && t < T_);
  std::vector<float> row(cfg_.vocab_size);
  cuda::copy_to_host(row.data(), s_->logits + (static_cast<size_t>(b) * T_ + t) * cfg_.padded_vocab_size(),
                     row.size() * sizeof(float));
  return row;
}

}  // namespace chatforge::model

#else  // built without the CUDA backend: the type exists, constructing it explains why not

namespace chatforge::model {

struct GptCuda::State {};

GptCuda::GptCuda(const GptConfig& cfg, bool bf16) : cfg_(cfg), layout_(cfg), bf16_(bf16) {
  fail("--device cuda: this chatforge was built without the CUDA backend (see docs/cuda.md)");
}
GptCuda::~GptCuda() = default;
void GptCuda::upload_params(const float*) {}
void GptCuda::download_params(float*) const {}
void GptCuda::upload_moments(const float*, const float*) {}
void GptCuda::download_moments(float*, float*) const {}
void GptCuda::download_grads(float*) const {}
void GptCuda::upload_grads(const float*) {}
void GptCuda::forward(const int32_t*, int, int) {}
double GptCuda::forward_loss(const int32_t*, const int32_t*, const uint8_t*, int, int) { return 0; }
void GptCuda::backward(float) {}
void GptCuda::zero_grad() {}
double GptCuda::grad_sum_squares() const { return 0; }
void GptCuda::adamw_update(const ops::AdamWParams&, int, float) {}
std::vector<float> GptCuda::logits_row(int, int) const { return {}; }
float* GptCuda::device_params() { return nullptr; }
float* GptCuda::device_grads() { return nullptr; }

}  // namespace chatforge::model

#endif
