// AdamW over a model's flat parameter array: moments m and v are arrays parallel to the
// parameters, in the model's backend memory (with host copies for checkpoints); weight
// decay applies only to matmul weights (not biases, LayerNorm or embeddings, as GPT-2
// recipes do); optional global-norm gradient clipping exactly as
// torch.nn.utils.clip_grad_norm_ (scale = max_norm / (norm + 1e-6) when norm > max_norm).
// The update runs on the backend (ops::Backend::adamw_step), one call per tensor.
#pragma once
#include "core/arena.h"
#include "model/gpt.h"
#include "ops/backend.h"

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
  // Over any trainable set: a whole model, or LoRA adapters (then only their moments exist).
  AdamW(const model::ParamSet& model, const AdamWConfig& cfg);
  // One update with learning rate lr from the model's gradients. Returns the global
  // gradient norm before clipping. step() counts from 1 after the first call.
  float update(model::ParamSet& model, float lr);
  // The same with the global gradient norm given (data-parallel runs reduce it across
  // ranks first); updates only the owned slice (see shard()).
  void update(model::ParamSet& model, float lr, float norm);
  // The clipping factor for a global gradient norm (1 when not clipping).
  float clip_scale(float norm) const;
  // ZeRO-1: own only parameters [begin, end) of the flat array: m and v shrink to that
  // slice (m()[i] belongs to parameter begin + i) and update() touches only it. Tensors
  // cut by a slice edge are updated piecewise with their own weight decay.
  void shard(size_t begin, size_t end);
  size_t shard_begin() const { return begin_; }
  size_t shard_end() const { return end_; }
  int step() const { return step_; }
  void set_step(int s) { step_ = s; }
  // Host copies of the moments (for checkpoints): on a device, pull_moments() refreshes
  // them and push_moments() sends host changes back; on the CPU they are the moments.
  Arena& m() { return m_; }
  Arena& v() { return v_; }
  const Arena& m() const { return m_; }
  const Arena& v() const { return v_; }
  void pull_moments();
  void push_moments();
  const AdamWConfig& config() const { return cfg_; }

 private:
  float* device_m() { return dm_.data() ? dm_.data() : m_.data(); }
  float* device_v() { return dv_.data() ? dv_.data() : v_.data(); }
  void allocate(size_t n);

  AdamWConfig cfg_;
  ops::Backend* backend_;
  Arena m_, v_;
  ops::Buffer dm_, dv_;  // device copies (empty on host backends)
  int step_ = 0;
  size_t begin_ = 0, end_ = 0;  // owned slice of the parameter array
};

// Global L2 norm of all gradients (deterministic summation, on the model's backend).
float grad_norm(const model::ParamSet& model);

}  // namespace chatforge::train
