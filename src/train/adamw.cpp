// Implementation of adamw.h.
#include "train/adamw.h"

#include <cmath>

namespace chatforge::train {

AdamW::AdamW(const model::Gpt& model, const AdamWConfig& cfg) : cfg_(cfg) {
  m_.resize(model.params().size());
  v_.resize(model.params().size());
}

float grad_norm(const model::Gpt& model) {
  auto& g = const_cast<model::Gpt&>(model).grads();
  return static_cast<float>(std::sqrt(ops::sum_squares(g.data(), g.size())));
}

float AdamW::update(model::Gpt& model, float lr) {
  const float norm = grad_norm(model);
  float scale = 1.0f;
  if (cfg_.grad_clip > 0.0f) {
    // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when clip_coef < 1
    const float coef = cfg_.grad_clip / (norm + 1e-6f);
    if (coef < 1.0f) scale = coef;
  }
  ++step_;
  for (const auto& t : model.layout().tensors()) {
    ops::AdamWParams hp;
    hp.lr = lr;
    hp.beta1 = cfg_.beta1;
    hp.beta2 = cfg_.beta2;
    hp.eps = cfg_.eps;
    hp.weight_decay = t.weight_decay() ? cfg_.weight_decay : 0.0f;
    ops::adamw_step(model.params().data() + t.offset, model.grads().data() + t.offset, m_.data() + t.offset,
                    v_.data() + t.offset, t.numel(), hp, step_, scale);
  }
  return norm;
}

}  // namespace chatforge::train
