// AdamW over a model's flat parameter arena: moments m and v are arenas parallel to the
// parameters; weight decay applies only to matmul weights (not biases, LayerNorm or
// embeddings, as GPT-2 recipes do); optional global-norm gradient clipping exactly as
// torch.nn.utils.clip_grad_norm_ (scale = max_norm / (norm + 1e-6) when norm > max_norm).
#pragma once
#include "core/arena.h"
#include "model/gpt.h"
#include "ops/ops.h"

namespace chatforge::train {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;
  float grad_clip = 1.0f;  // <= 0: no clipping
};

class AdamW {
 public:
  AdamW(const model::Gpt& model, const AdamWConfig& cfg);
  // One update with learning rate lr from the gradients in model.grads(). Returns the
  // global gradient norm before clipping. step() counts from 1 after the first call.
  float update(model::Gpt& model, float lr);
  int step() const { return step_; }
  void set_step(int s) { step_ = s; }
  Arena& m() { return m_; }
  Arena& v() { return v_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  Arena m_, v_;
  int step_ = 0;
};

// Global L2 norm of all gradients (deterministic summation).
float grad_norm(const model::Gpt& model);

}  // namespace chatforge::train
