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
// The table is the single source of every fact about a parameter: its shape, its kind
// (init, weight decay), and its names and layout in Hugging Face checkpoints and GGUF
// files (per-layer names contain "{}" for the layer index).
struct ParamTensor {
  std::string name;      // internal name, e.g. "qkvw"
  Shape shape;           // full shape, e.g. (L, 3C, C)
  size_t offset = 0;     // in floats, from the arena start
  ParamKind kind;
  bool per_layer = false;
  std::string hf_name;   // e.g. "transformer.h.{}.attn.c_attn.weight"
  bool hf_transposed = false;  // HF stores it as Conv1D (in, out): the transpose of ours
  std::string gguf_name;       // llama.cpp's name, e.g. "blk.{}.attn_qkv.weight"
  bool gguf_quantizable = false;  // may be stored quantized in a GGUF file (matrices; not positions)
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

// One parameter as checkpoints store it: a single layer's slice of a stacked tensor (or a
// whole unstacked one), with its names in Hugging Face and GGUF files. `rows x cols` is
// our (row-major) slice (cols = 1 for vectors); hf_shape is Hugging Face's shape, the
// transpose when hf_transposed. The token embedding's slice has the real vocabulary's
// rows only (the padding rows are ours alone).
struct ParamSlice {
  const ParamTensor* tensor = nullptr;  // the stacked tensor it belongs to
  int layer = -1;                       // -1 for tensors that are not per layer
  std::string hf_name;                  // e.g. "transformer.h.3.attn.c_attn.weight"
  std::string gguf_name;                // e.g. "blk.3.attn_qkv.weight"
  std::vector<int64_t> hf_shape;
  size_t offset = 0;                    // the slice's start in the arena (floats)
  int64_t rows = 0, cols = 0;
  bool hf_transposed = false;
  bool matrix() const { return cols > 1; }
};
std::vector<ParamSlice> param_slices(const GptConfig& cfg, const ParamLayout& layout);

// Copies between our arena and Hugging Face layout buffers (transposing Conv1D weights).
void export_hf(const ParamSlice& t, const float* arena, float* hf_out);
void import_hf(const ParamSlice& t, const float* hf_in, float* arena);

}  // namespace chatforge::model
