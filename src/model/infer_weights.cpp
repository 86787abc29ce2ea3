// Implementation of infer_weights.h.
#include "model/infer_weights.h"

#include "core/error.h"

namespace chatforge::model {

InferWeights::InferWeights(const Gpt& model, ops::WeightFormat format) : model_(&model), format_(format) {
  const GptConfig& cfg = model.config();
  const int L = cfg.n_layer, C = cfg.n_embd, Vp = cfg.padded_vocab_size();
  CF_CHECK(model.backend().supports_format(format), "--weights-dtype {}: the {} backend reads fp32 weights only",
           ops::weight_format_name(format), model.backend().name());
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
    const size_t cc = static_cast<size_t>(C) * C;
    sources.push_back({p.qkvw + l * 3 * cc, 3 * C, C, &qkv_[l]});
    sources.push_back({p.attprojw + l * cc, C, C, &attproj_[l]});
    sources.push_back({p.fcw + l * 4 * cc, 4 * C, C, &fc_[l]});
    sources.push_back({p.fcprojw + l * 4 * cc, C, 4 * C, &fcproj_[l]});
  }
  sources.push_back({p.wte, Vp, C, &head_});

  const bool int8 = format == ops::WeightFormat::kInt8;
  auto aligned = [](size_t bytes) { return (bytes + 63) / 64 * 64; };
  size_t total = 0;  // bytes of the converted arena
  for (const Source& s : sources) {
    const size_t bytes = ops::weight_storage_bytes(s.OC, s.C, format) + (int8 ? s.OC * sizeof(float) : 0);
    bytes_per_token_ += static_cast<double>(bytes);
    total += aligned(ops::weight_storage_bytes(s.OC, s.C, format)) + (int8 ? aligned(s.OC * sizeof(float)) : 0);
  }
  // fp32 vectors read per token: LayerNorms, biases, one position row
  bytes_per_token_ += static_cast<double>(L) * (2 * C + 3 * C + C + 2 * C + 4 * C + C) * sizeof(float) +
                      2.0 * C * sizeof(float) + C * sizeof(float);
  if (format == ops::WeightFormat::kF32) {
    for (const Source& s : sources) *s.dst = {format, s.w, nullptr, s.OC, s.C};
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
}

}  // namespace chatforge::model
