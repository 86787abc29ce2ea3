// AdamW over a model's flat parameter arena: moments m and v are arenas parallel to the
// parameters; weight decay applies only to matmul weights (not biases, LayerNorm or
// embeddings, as GPT-2 recipes do); optional global-norm gradient clipping exactly as
// torch.nn.utils.clip_grad_norm_ (scale = max_norm / (norm + 1e-6) when norm > max_norm).
#pragma once
#include "core/arena.h"
#include "model/gpt.h"
#include "model/gpt_cuda.h"
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
  // The same with the global gradient norm given (data-parallel runs reduce it across
  // ranks first); updates only the owned slice (see shard()).
  void update(model::Gpt& model, float lr, float norm);
  // The same update on a GPU model (--device cuda): its device moments, not m()/v(),
  // hold the state between sync_from()/sync_to() calls. No sharding.
  void update(model::GptCuda& model, float lr, float norm);
  // The clipping factor for a global gradient norm (1 when not clipping).
  float clip_scale(float norm) const;
  // ZeRO-1: own only parameters [begin, end) of the flat arena: m and v shrink to that
  // slice (m()[i] belongs to parameter begin + i) and update() touches only it. Tensors
  // cut by a slice edge are updated piecewise with their own weight decay.
  void shard(size_t begin, size_t end);
  size_t shard_begin() const { return begin_; }
  size_t shard_end() const { return end_; }
  int step() const { return step_; }
  void set_step(int s) { step_ = s; }
  Arena& m() { return m_; }
  Arena& v() { return v_; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  Arena m_, v_;
  int step_ = 0;
  size_t begin_ = 0, end_ = 0;  // owned slice of the parameter arena
};

// Global L2 norm of all gradients (deterministic summation).
float grad_norm(const model::Gpt& model);

}  // namespace chatforge::train
