// GPT-2 parameters: one table of named tensors laid out in one flat arena. The same
// layout serves weights, gradients and Adam moments (parallel arenas), so the optimizer,
// zero-grad, save/load and all-reduce walk one buffer; for_each_tensor visits them all.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"

namespace chatforge::model {

// Pointers to every parameter tensor inside one arena (weights or gradients).
struct GptParams {
  float* wte;       // (Vp, C)  token embedding, tied with the output head; rows >= V are 0
  float* wpe;       // (maxT, C) position embedding
  float* ln1w;      // (L, C)
  float* ln1b;      // (L, C)
  float* qkvw;      // (L, 3C, C)
  float* qkvb;      // (L, 3C)
  float* attprojw;  // (L, C, C)
  float* attprojb;  // (L, C)
  float* ln2w;      // (L, C)
  float* ln2b;      // (L, C)
  float* fcw;       // (L, 4C, C)
  float* fcb;       // (L, 4C)
  float* fcprojw;   // (L, C, 4C)
  float* fcprojb;   // (L, C)
  float* lnfw;      // (C)
  float* lnfb;      // (C)
};

enum class ParamKind { kEmbedding, kMatmulWeight, kBias, kNormWeight, kNormBias };

// One stacked tensor of the table. Per-layer tensors have L as their first dimension.
struct ParamTensor {
  std::string name;      // internal name, e.g. "qkvw"
  Shape shape;           // full shape, e.g. (L, 3C, C)
  size_t offset = 0;     // in floats, from the arena start
  ParamKind kind;
  bool per_layer = false;
  std::string hf_name;   // HF name; per-layer ones contain "{}" for the layer index
  bool hf_transposed = false;  // HF stores it as Conv1D (in, out): the transpose of ours
  bool weight_decay() const { return kind == ParamKind::kMatmulWeight; }
  size_t numel() const { return static_cast<size_t>(shape.numel()); }
};

class ParamLayout {
 public:
  explicit ParamLayout(const GptConfig& cfg);
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  size_t total() const { return total_; }
  GptParams views(float* base) const;  // pointers into an arena of total() floats
  const ParamTensor& find(const std::string& name) const;
  void for_each_tensor(const std::function<void(const ParamTensor&)>& fn) const {
    for (const auto& t : tensors_) fn(t);
  }

 private:
  std::vector<ParamTensor> tensors_;
  size_t total_ = 0;
};

// A parameter as Hugging Face stores it: one tensor per layer, HF shape and layout.
// `rows x cols` is our (row-major) slice; `transposed` says HF holds cols x rows.
struct HfTensor {
  std::string name;            // e.g. "transformer.h.3.attn.c_attn.weight"
  std::vector<int64_t> shape;  // HF shape
  size_t offset = 0;           // our slice's start in the arena
  int64_t rows = 0, cols = 0;  // our slice's shape (cols = 1 for vectors)
  bool transposed = false;
};
std::vector<HfTensor> hf_tensors(const GptConfig& cfg, const ParamLayout& layout);

// Copies between our arena and HF layout buffers (transposing Conv1D weights).
void export_hf(const HfTensor& t, const float* arena, float* hf_out);
void import_hf(const HfTensor& t, const float* hf_in, float* arena);

}  // namespace chatforge::model
