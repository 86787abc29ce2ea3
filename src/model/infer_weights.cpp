// Implementation of infer_weights.h.
#include "model/infer_weights.h"

#include "core/error.h"

namespace chatforge::model {

InferWeights::InferWeights(const Gpt& model, ops::WeightFormat format) : model_(&model), format_(format) {
  const GptConfig& cfg = model.config();
  const int L = cfg.n_layer, C = cfg.n_embd, Vp = cfg.padded_vocab_size();
  const int QKV = cfg.qkv_dim(), Q = cfg.q_dim(), U = cfg.ffn_up_rows(), F = cfg.ffn();
  CF_CHECK(model.backend().supports_format(format), "--weights-dtype {}: the {} backend reads fp32 weights only",
           ops::weight_format_name(format), model.backend().name());
  if (const StoredBase* base = model.stored_base()) {  // a reduced frozen base: its own matrices (views)
    CF_CHECK(format == ops::WeightFormat::kF32 || format == base->format,
             "--weights-dtype {}: the model's base is held in {} (its fp32 weights do not exist)",
             ops::weight_format_name(format), ops::weight_format_name(base->format));
    format_ = base->format;
    qkv_ = base->qkv, attproj_ = base->attproj, fc_ = base->fc, fcproj_ = base->fcproj;
    head_ = base->head, embedding_ = base->embedding;
    bytes_per_token_ += static_cast<double>(ops::weight_storage_bytes(head_.OC, head_.C, format_));
    if (!model.config().tie_embeddings)
      bytes_per_token_ += static_cast<double>(ops::weight_storage_bytes(embedding_.OC, embedding_.C, format_));
    for (int l = 0; l < L; ++l)
      for (const ops::WeightMatrix* m : {&qkv_[l], &attproj_[l], &fc_[l], &fcproj_[l]})
        bytes_per_token_ += static_cast<double>(ops::weight_storage_bytes(m->OC, m->C, format_));
    return;
  }
  // fp32: views of the parameters the backend reads; other formats: converted from the
  // host copy (the CPU backend's own memory)
  const GptParams p = model.layout().views(format == ops::WeightFormat::kF32 ? model.device_params()
                                                                              : const_cast<float*>(model.params().data()));
  struct Source {
    const float* w;
    int OC, C;
    ops::WeightMatrix* dst;
  };
  qkv_.resize(L), attproj_.resize(L), fc_.resize(L), fcproj_.resize(L);
  std::vector<Source> sources;
  for (int l = 0; l < L; ++l) {
    const size_t lc = static_cast<size_t>(l) * C;
    sources.push_back({p.qkvw + lc * QKV, QKV, C, &qkv_[l]});
    sources.push_back({p.attprojw + lc * Q, C, Q, &attproj_[l]});
    sources.push_back({p.fcw + lc * U, U, C, &fc_[l]});
    sources.push_back({p.fcprojw + lc * F, C, F, &fcproj_[l]});
  }
  sources.push_back({p.lm_head != nullptr ? p.lm_head : p.wte, Vp, C, &head_});
  if (p.lm_head != nullptr) sources.push_back({p.wte, Vp, C, &embedding_});  // untied: its own table

  const bool int8 = format == ops::WeightFormat::kInt8;
  auto aligned = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
  size_t total = 0;  // bytes of the converted arena
  for (const Source& s : sources) {
    const size_t bytes = ops::weight_storage_bytes(s.OC, s.C, format) + (int8 ? s.OC * sizeof(float) : 0);
    bytes_per_token_ += static_cast<double>(bytes);
    total += aligned(ops::weight_storage_bytes(s.OC, s.C, format)) + (int8 ? aligned(s.OC * sizeof(float)) : 0);
  }
  // fp32 vectors read per token: norms, biases, one position row (GPT-2)
  const double per_layer = (cfg.has_norm_bias() ? 4.0 : 2.0) * C + (cfg.has_qkv_bias() ? QKV : 0) +
                           (cfg.has_out_bias() ? C : 0) + (cfg.has_mlp_bias() ? U + C : 0) +
                           (cfg.qk_norm ? 2.0 * cfg.head_size() : 0);
  bytes_per_token_ += (L * per_layer + (cfg.has_norm_bias() ? 2.0 : 1.0) * C +
                       (cfg.learned_positions() ? C : 0)) * sizeof(float);
  if (format == ops::WeightFormat::kF32) {
    for (const Source& s : sources) *s.dst = {format, s.w, nullptr, s.OC, s.C};
    if (p.lm_head == nullptr) embedding_ = head_;
    return;
  }
  storage_.resize(total / sizeof(float));
  auto* base = reinterpret_cast<uint8_t*>(storage_.data());
  size_t at = 0;
  for (const Source& s : sources) {
    void* data = base + at;
    at += aligned(ops::weight_storage_bytes(s.OC, s.C, format));
    float* scale = nullptr;
    if (int8) {
      scale = reinterpret_cast<float*>(base + at);
      at += aligned(s.OC * sizeof(float));
    }
    ops::quantize_weights(data, scale, s.w, s.OC, s.C, format);
    *s.dst = {format, data, scale, s.OC, s.C};
  }
  if (p.lm_head == nullptr) embedding_ = head_;  // tied: one table
}

}  // namespace chatforge::model
