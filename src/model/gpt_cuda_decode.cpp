// Implementation of gpt_cuda_decode.h: Gpt's block (gpt.cpp) for nseq rows at one
// position, with this position's keys and values appended to the cache before attention.
#include "model/gpt_cuda_decode.h"

#include "core/error.h"

#ifdef CHATFORGE_HAS_CUDA
#include "ops/cuda/cuda_ops.h"

namespace chatforge::model {

using cuda::DeviceArray;

struct GptCudaDecoder::State {
  DeviceArray<float> kcache, vcache;  // (L, nseq, n_ctx, C) each
  DeviceArray<float> x, ln, mean, rstd, qkv, atty, res, fch, fch_gelu, logits;
  DeviceArray<int32_t> tokens;
};

GptCudaDecoder::GptCudaDecoder(GptCuda& model, int nseq) : model_(model), nseq_(nseq), s_(new State) {
  CF_CHECK(nseq >= 1, "decoding needs at least one sequence, got {}", nseq);
  const GptConfig& c = model.config();
  const size_t N = nseq, C = c.n_embd;
  const size_t cache = static_cast<size_t>(c.n_layer) * N * c.n_ctx * C;
  s_->kcache.resize(cache);
  s_->vcache.resize(cache);
  s_->x.resize(N * C);
  s_->ln.resize(N * C);
  s_->mean.resize(N);
  s_->rstd.resize(N);
  s_->qkv.resize(N * 3 * C);
  s_->atty.resize(N * C);
  s_->res.resize(N * C);
  s_->fch.resize(N * 4 * C);
  s_->fch_gelu.resize(N * 4 * C);
  s_->logits.resize(N * c.padded_vocab_size());
  s_->tokens.resize(N);
}

GptCudaDecoder::~GptCudaDecoder() = default;

std::vector<float> GptCudaDecoder::step(const std::vector<int32_t>& tokens) {
  const GptConfig& c = model_.config();
  CF_CHECK(static_cast<int>(tokens.size()) == nseq_, "decode step: {} tokens for {} sequences", tokens.size(), nseq_);
  CF_CHECK(pos_ < c.n_ctx, "decode step: the context of {} tokens is full", c.n_ctx);
  for (int32_t t : tokens) CF_CHECK(t >= 0 && t < c.vocab_size, "decode step: token id {} is outside the vocabulary", t);
  const int N = nseq_, C = c.n_embd, NH = c.n_head, L = c.n_layer, Vp = c.padded_vocab_size();
  const cuda::Precision prec = model_.bf16() ? cuda::Precision::kBf16 : cuda::Precision::kFp32;
  const GptParams w = model_.layout().views(model_.device_params());
  State& a = *s_;
  a.tokens.upload(tokens.data(), N);
  // x = wte[token] + wpe[pos]: N rows of one position (T = 1, wpe shifted to pos)
  cuda::encoder_forward(a.x.data(), a.tokens.data(), w.wte, w.wpe + static_cast<size_t>(pos_) * C, N, 1, C);
  const size_t seq_stride = static_cast<size_t>(c.n_ctx) * C, layer_stride = N * seq_stride;
  for (int l = 0; l < L; ++l) {
    const size_t lc = static_cast<size_t>(l) * C;
    cuda::layernorm_forward(a.ln.data(), a.mean.data(), a.rstd.data(), a.x.data(), w.ln1w + lc, w.ln1b + lc, N, C);
    cuda::matmul_forward(a.qkv.data(), a.ln.data(), w.qkvw + lc * 3 * C, w.qkvb + lc * 3, N, C, 3 * C, prec);
    float* kc = a.kcache.data() + l * layer_stride;
    float* vc = a.vcache.data() + l * layer_stride;
    // append this position's k and v of every sequence: row s of qkv -> cache[s][pos]
    const size_t fb = sizeof(float);
    cuda::copy_device_2d(kc + static_cast<size_t>(pos_) * C, seq_stride * fb, a.qkv.data() + C, 3 * C * fb, C * fb, N);
    cuda::copy_device_2d(vc + static_cast<size_t>(pos_) * C, seq_stride * fb, a.qkv.data() + 2 * C, 3 * C * fb, C * fb,
                         N);
    cuda::attention_cached_forward(a.atty.data(), C, C, a.qkv.data(), 3 * C, 3 * C, kc, vc, seq_stride, pos_, 1, C,
                                   NH, N);
    cuda::matmul_forward(a.res.data(), a.atty.data(), w.attprojw + lc * C, w.attprojb + lc, N, C, C, prec);
    // x = x + attn; then ln_2 of it
    cuda::residual_layernorm_forward(a.x.data(), a.ln.data(), a.mean.data(), a.rstd.data(), a.x.data(), a.res.data(),
                                     w.ln2w + lc, w.ln2b + lc, N, C);
    cuda::matmul_forward(a.fch.data(), a.ln.data(), w.fcw + lc * 4 * C, w.fcb + lc * 4, N, C, 4 * C, prec);
    cuda::gelu_forward(a.fch_gelu.data(), a.fch.data(), static_cast<size_t>(N) * 4 * C);
    cuda::matmul_forward(a.res.data(), a.fch_gelu.data(), w.fcprojw + lc * 4 * C, w.fcprojb + lc, N, 4 * C, C, prec);
    cuda::add_inplace(a.x.data(), a.res.data(), static_cast<size_t>(N) * C);
  }
  cuda::layernorm_forward(a.ln.data(), a.mean.data(), a.rstd.data(), a.x.data(), w.lnfw, w.lnfb, N, C);
  cuda::matmul_forward(a.logits.data(), a.ln.data(), w.wte, nullptr, N, C, Vp, prec);
  ++pos_;
  std::vector<float> out(static_cast<size_t>(N) * c.vocab_size);
  for (int s = 0; s < N; ++s)
    cuda::copy_to_host(out.data() + static_cast<size_t>(s) * c.vocab_size, a.logits.data() + static_cast<size_t>(s) * Vp,
                       c.vocab_size * sizeof(float));
  return out;
}

std::vector<int32_t> GptCudaDecoder::step_greedy(const std::vector<int32_t>& tokens) {
  const std::vector<float> logits = step(tokens);
  const int V = model_.config().vocab_size;
  std::vector<int32_t> next(nseq_);
  for (int s = 0; s < nseq_; ++s) {
    const float* row = logits.data() + static_cast<size_t>(s) * V;
    int32_t best = 0;
    for (int32_t v = 1; v < V; ++v)
      if (row[v] > row[best]) best = v;
    next[s] = best;
  }
  return next;
}

}  // namespace chatforge::model

#else

namespace chatforge::model {
struct GptCudaDecoder::State {};
GptCudaDecoder::GptCudaDecoder(GptCuda& model, int nseq) : model_(model), nseq_(nseq) {
  fail("GPU decoding: this chatforge was built without the CUDA backend");
}
GptCudaDecoder::~GptCudaDecoder() = default;
std::vector<float> GptCudaDecoder::step(const std::vector<int32_t>&) { return {}; }
std::vector<int32_t> GptCudaDecoder::step_greedy(const std::vector<int32_t>&) { return {}; }
}  // namespace chatforge::model

#endif
