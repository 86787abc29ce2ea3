// Model parameters: one table of named tensors laid out in one flat arena, built from the
// configuration (GPT-2 or the Llama family). The same layout serves weights, gradients and
// Adam moments (parallel arenas), so the optimizer, zero-grad, save/load and all-reduce
// walk one buffer; for_each_tensor visits them all. Dimension letters: C channels, QKV =
// (NH + 2 NKV) * HS, Q = NH * HS, F the MLP width (GPT-2 4C), U = F (GPT-2) or 2F (Llama:
// gate and up stacked), HS the head size.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"

namespace chatforge::model {

// Pointers to every parameter tensor inside one arena (weights or gradients); a tensor the
// architecture does not have is null (GPT-2: no q/k norms or separate head; Llama: no
// position table, no norm biases, biases only where the model_type has them).
struct GptParams {
  float* wte;       // (Vp, C)  token embedding (also the output head when tied); rows >= V are 0
  float* wpe;       // (maxT, C) position embedding (GPT-2)
  float* ln1w;      // (L, C)
  float* ln1b;      // (L, C)   (GPT-2)
  float* qkvw;      // (L, QKV, C)  q | k | v rows
  float* qkvb;      // (L, QKV)
  float* qnormw;    // (L, HS)  (Qwen3)
  float* knormw;    // (L, HS)  (Qwen3)
  float* attprojw;  // (L, C, Q)
  float* attprojb;  // (L, C)
  float* ln2w;      // (L, C)
  float* ln2b;      // (L, C)   (GPT-2)
  float* fcw;       // (L, U, C)  GPT-2 c_fc; Llama gate | up rows
  float* fcb;       // (L, U)   (GPT-2)
  float* fcprojw;   // (L, C, F)
  float* fcprojb;   // (L, C)   (GPT-2)
  float* lnfw;      // (C)
  float* lnfb;      // (C)      (GPT-2)
  float* lm_head;   // (Vp, C)  the output head when not tied to wte
};

enum class ParamKind { kEmbedding, kMatmulWeight, kBias, kNormWeight, kNormBias };

// One stacked tensor of the table. Per-layer tensors have L as their first dimension.
// The table is the single source of every fact about a parameter: its shape, its kind
// (init, weight decay), and its names and layout in Hugging Face checkpoints and GGUF
// files (per-layer names contain "{}" for the layer index).
// A Hugging Face (and GGUF) tensor that is a block of rows of one layer's slice of a
// stacked tensor: Llama's q_proj, k_proj and v_proj are the rows of our fused qkvw.
struct ParamPart {
  std::string hf_name, gguf_name;  // "{}" for the layer index
  int64_t rows = 0;
  int gguf_rope_heads = 0;  // > 0: llama.cpp's LLAMA rope layout, rows permuted per head on export
};

struct ParamTensor {
  std::string name;      // internal name, e.g. "qkvw"
  Shape shape;           // full shape, e.g. (L, 3C, C)
  size_t offset = 0;     // in floats, from the arena start
  ParamKind kind;
  bool per_layer = false;
  std::string hf_name;   // e.g. "transformer.h.{}.attn.c_attn.weight" (empty when split into parts)
  bool hf_transposed = false;  // HF stores it as Conv1D (in, out): the transpose of ours
  std::string gguf_name;       // llama.cpp's name, e.g. "blk.{}.attn_qkv.weight"
  bool gguf_quantizable = false;  // may be stored quantized in a GGUF file (matrices; not positions)
  std::vector<ParamPart> parts;   // non-empty: stored as these row blocks instead
  bool weight_decay() const { return kind == ParamKind::kMatmulWeight; }
  size_t numel() const { return static_cast<size_t>(shape.numel()); }
};

class ParamLayout {
 public:
  explicit ParamLayout(const GptConfig& cfg);
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  size_t total() const { return total_; }
  GptParams views(float* base) const;  // pointers into an arena of total() floats
  // Pointers from a function of each tensor (null for a tensor it has no memory for).
  GptParams views(const std::function<float*(const ParamTensor&)>& at) const;
  const ParamTensor& find(const std::string& name) const;
  const ParamTensor* find_or_null(const std::string& name) const;
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
  int gguf_rope_heads = 0;              // see ParamPart
  std::vector<int64_t> hf_shape;
  size_t offset = 0;                    // the slice's start in the arena (floats)
  int64_t rows = 0, cols = 0;
  bool hf_transposed = false;
  bool matrix() const { return cols > 1; }
};
std::vector<ParamSlice> param_slices(const GptConfig& cfg, const ParamLayout& layout);

// Where a family's tensors sit in Hugging Face files: every name but the untied head starts
// with `root` when saved from the *LMHeadModel / *ForCausalLM class ("transformer." for
// GPT-2, "model." for the Llama family) and without it when saved from the base model
// class; the token embedding and the per-layer prefix name the sizes.
struct HfNames {
  std::string root;    // "transformer." | "model."
  std::string embed;   // "wte.weight" | "embed_tokens.weight" (after root)
  std::string layers;  // "h." | "layers." (after root)
};
HfNames hf_names(const GptConfig& cfg);

// Copies between our arena and Hugging Face layout buffers (transposing Conv1D weights).
void export_hf(const ParamSlice& t, const float* arena, float* hf_out);
void import_hf(const ParamSlice& t, const float* hf_in, float* arena);

}  // namespace chatforge::model
