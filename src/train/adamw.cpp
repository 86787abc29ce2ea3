// Implementation of adamw.h.
#include "train/adamw.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace chatforge::train {

AdamW::AdamW(const model::Gpt& model, const AdamWConfig& cfg) : cfg_(cfg) {
  m_.resize(model.params().size());
  v_.resize(model.params().size());
  end_ = model.params().size();
}

void AdamW::shard(size_t begin, size_t end) {
  begin_ = begin;
  end_ = end;
  m_ = Arena();
  v_ = Arena();
  m_.resize(end - begin);
  v_.resize(end - begin);
}

float grad_norm(const model::Gpt& model) {
  auto& g = const_cast<model::Gpt&>(model).grads();
  return static_cast<float>(std::sqrt(ops::sum_squares(g.data(), g.size())));
}

float AdamW::update(model::Gpt& model, float lr) {
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

void AdamW::update(model::GptCuda& model, float lr, float norm) {
  CF_CHECK(begin_ == 0 && end_ == model.num_params(), "ZeRO-1 sharding is not supported with --device cuda");
  ++step_;
  ops::AdamWParams hp;
  hp.lr = lr;
  hp.beta1 = cfg_.beta1;
  hp.beta2 = cfg_.beta2;
  hp.eps = cfg_.eps;
  hp.weight_decay = cfg_.weight_decay;  // GptCuda applies it to matmul weights only
  model.adamw_update(hp, step_, clip_scale(norm));
}

void AdamW::update(model::Gpt& model, float lr, float norm) {
  const float scale = clip_scale(norm);
  ++step_;
  for (const auto& t : model.layout().tensors()) {
    // the part of this tensor inside the owned slice (all of it without sharding)
    const size_t lo = std::max(t.offset, begin_), hi = std::min(t.offset + t.numel(), end_);
    if (lo >= hi) continue;
    ops::AdamWParams hp;
    hp.lr = lr;
    hp.beta1 = cfg_.beta1;
    hp.beta2 = cfg_.beta2;
    hp.eps = cfg_.eps;
    hp.weight_decay = t.weight_decay() ? cfg_.weight_decay : 0.0f;
    ops::adamw_step(model.params().data() + lo, model.grads().data() + lo, m_.data() + (lo - begin_),
                    v_.data() + (lo - begin_), hi - lo, hp, step_, scale);
  }
}

}  // namespace chatforge::train
