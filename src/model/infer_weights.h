// The weights inference reads, in the storage format chosen at load time (ops::WeightFormat):
// the four matrices of every block, the output head and the token embedding (one table
// when tied), as ops::WeightMatrix views. fp32
// views point into the model's own parameters in its backend's memory (no copy); f16 /
// bf16 / int8 are converted once, here, into one 64-byte aligned arena, for backends that
// read them (the CPU's). Biases, LayerNorms and the position table stay fp32. The
// checkpoint on disk is never changed. A model whose frozen base is already held in a
// reduced format (Gpt::stored_base, LoRA training's --base-dtype) is viewed as it is stored.
#pragma once
#include <vector>

#include "core/arena.h"
#include "model/gpt.h"
#include "ops/ops.h"

namespace chatforge::model {

class InferWeights {
 public:
  InferWeights(const Gpt& model, ops::WeightFormat format);

  ops::WeightFormat format() const { return format_; }
  // Whether these are views of (or were converted from) `model`'s parameters.
  bool belongs_to(const Gpt& model) const { return model_ == &model; }
  // Dimension letters as in gpt.h: QKV, Q, U (GPT-2 4C, Llama 2F), F.
  const ops::WeightMatrix& qkv(int l) const { return qkv_[l]; }          // (QKV, C)
  const ops::WeightMatrix& attproj(int l) const { return attproj_[l]; }  // (C, Q)
  const ops::WeightMatrix& fc(int l) const { return fc_[l]; }            // (U, C)
  const ops::WeightMatrix& fcproj(int l) const { return fcproj_[l]; }    // (C, F)
  const ops::WeightMatrix& head() const { return head_; }                // lm_head, or wte when tied (Vp, C)
  const ops::WeightMatrix& embedding() const { return embedding_; }      // wte (Vp, C)
  // Bytes a batch-1 decode step reads from weights: every matrix (int8 scales included)
  // plus the fp32 biases and LayerNorms and one position row. The memory-bandwidth bound
  // of decoding is bandwidth / this.
  double bytes_per_token() const { return bytes_per_token_; }
  // Extra memory held for the converted copies (0 for f32).
  size_t converted_bytes() const { return storage_.bytes(); }

 private:
  const Gpt* model_;
  ops::WeightFormat format_;
  Arena storage_;  // converted matrices and int8 scales
  std::vector<ops::WeightMatrix> qkv_, attproj_, fc_, fcproj_;
  ops::WeightMatrix head_, embedding_;
  double bytes_per_token_ = 0;
};

}  // namespace chatforge::model
