// The tiny models and data every C++ suite builds from: a model shape in one line
// (designated fields, the rest defaulted), a model with random weights from a seed, and
// random token ids. New architectures and test shapes are added here, not per test file.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/rng.h"
#include "model/gpt.h"

namespace chatforge::testing {

struct TinyShape {
  int layers = 2, heads = 2, channels = 16, vocab = 50, context = 8;
};

inline model::GptConfig tiny_config(const TinyShape& s = {}) {
  model::GptConfig c;
  c.n_layer = s.layers;
  c.n_head = s.heads;
  c.n_embd = s.channels;
  c.vocab_size = s.vocab;
  c.n_ctx = s.context;
  return c;
}

// GPT-2 initialisation from `seed`, every parameter then multiplied by `sharpen` (> 1 makes
// the logits peakier than GPT-2's init, so greedy choices are decided by clear margins).
inline std::unique_ptr<model::Gpt> tiny_model(const TinyShape& s = {}, uint64_t seed = 7, float sharpen = 1.0f,
                                              std::shared_ptr<ops::Backend> backend = nullptr) {
  auto m = std::make_unique<model::Gpt>(tiny_config(s), std::move(backend));
  m->init_weights(seed);
  if (sharpen != 1.0f) {
    float* p = m->params().data();
    for (size_t i = 0; i < m->params().size(); ++i) p[i] *= sharpen;
    m->push_params();
  }
  return m;
}

// n ids uniform in [lo, vocab).
inline std::vector<int32_t> random_ids(size_t n, int vocab, uint64_t seed, int lo = 0) {
  Rng rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& id : ids) id = lo + static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab - lo)));
  return ids;
}

// -log softmax(logits at the last position of ctx)[next], from a plain forward pass.
inline double nll_next(model::Gpt& m, const std::vector<int32_t>& ctx, int32_t next) {
  const int T = static_cast<int>(ctx.size());
  m.forward(ctx.data(), 1, T);
  const int Vp = m.config().padded_vocab_size(), V = m.config().vocab_size;
  const float* l = m.activations().logits + static_cast<size_t>(T - 1) * Vp;
  double mx = l[0];
  for (int v = 1; v < V; ++v) mx = std::max(mx, static_cast<double>(l[v]));
  double z = 0;
  for (int v = 0; v < V; ++v) z += std::exp(l[v] - mx);
  return -(l[next] - mx - std::log(z));
}

}  // namespace chatforge::testing
