// Implementation of adamw.h.
#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace chatforge::train {

AdamW::AdamW(const model::ParamSet& model, const AdamWConfig& cfg) : cfg_(cfg), backend_(&model.backend()) {
  allocate(model.params().size());
  end_ = model.params().size();
}

void AdamW::allocate(size_t n) {
  m_ = Arena();
  v_ = Arena();
  m_.resize(n);
  v_.resize(n);
  dm_ = ops::Buffer();
  dv_ = ops::Buffer();
  if (!backend_->host_memory()) {
    dm_.reset(*backend_, n * sizeof(float));
    dv_.reset(*backend_, n * sizeof(float));
  }
}

void AdamW::shard(size_t begin, size_t end) {
  begin_ = begin;
  end_ = end;
  allocate(end - begin);
}

void AdamW::pull_moments() {
  if (dm_.data()) {
    backend_->download(m_.data(), dm_.data(), m_.bytes());
    backend_->download(v_.data(), dv_.data(), v_.bytes());
  }
}

void AdamW::push_moments() {
  if (dm_.data()) {
    backend_->upload(dm_.data(), m_.data(), m_.bytes());
    backend_->upload(dv_.data(), v_.data(), v_.bytes());
  }
}

float grad_norm(const model::ParamSet& model) {
  return static_cast<float>(std::sqrt(model.backend().sum_squares(model.device_grads(), model.grads().size())));
}

float AdamW::update(model::ParamSet& model, float lr) {
  const float norm = grad_norm(model);
  update(model, lr, norm);
  return norm;
}

float AdamW::clip_scale(float norm) const {
  float scale = 1.0f;
  if (cfg_.grad_clip > 0.0f) {
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when clip_coef < 1
    const float coef = cfg_.grad_clip / (norm + 1e-6f);
    if (coef < 1.0f) scale = coef;
  }
  return scale;
}

void AdamW::update(model::ParamSet& model, float lr, float norm) {
  CF_CHECK(&model.backend() == backend_, "AdamW: the model moved to another backend");
  const float scale = clip_scale(norm);
  ++step_;
  float* params = model.device_params();
  const float* grads = model.device_grads();
  for (const auto& t : model.tensors()) {
    // the part of this tensor inside the owned slice (all of it without sharding)
    const size_t lo = std::max(t.offset, begin_), hi = std::min(t.offset + t.numel(), end_);
    if (lo >= hi) continue;
    ops::AdamWParams hp;
    hp.lr = lr;
    hp.beta1 = cfg_.beta1;
    hp.beta2 = cfg_.beta2;
    hp.eps = cfg_.eps;
    hp.weight_decay = t.weight_decay() ? cfg_.weight_decay : 0.0f;
    backend_->adamw_step(params + lo, grads + lo, device_m() + (lo - begin_), device_v() + (lo - begin_), hi - lo, hp,
                         step_, scale);
  }
}

}  // namespace chatforge::train
