// The tiny models and data every C++ suite builds from: a model shape in one line
// (designated fields, the rest defaulted), a model with random weights from a seed, and
// random token ids. New architectures and test shapes are added here, not per test file.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "model/gpt.h"

namespace chatforge::testing {

// The architectures a tiny model comes in, one of each distinct block: GPT-2, Llama, Qwen2
// (q/k/v biases), Qwen3 (q/k norms).
inline constexpr const char* kTinyArchs[] = {"gpt2", "llama", "qwen2", "qwen3"};

struct TinyShape {
  int layers = 2, heads = 2, channels = 16, vocab = 50, context = 8;
  // The architecture (model init --arch): gpt2, llama, mistral, qwen2 (q/k/v biases) or qwen3
  // (q/k norms). Llama family only: key/value heads (0: as for_arch picks), head size (0:
  // channels / heads), an untied output head.
  const char* arch = "gpt2";
  int kv_heads = 0, head_dim = 0;
  bool untied = false;
};

inline model::GptConfig tiny_config(const TinyShape& s = {}) {
  model::GptConfig c = model::GptConfig::for_arch(s.arch, s.layers, s.heads, s.channels, s.vocab, s.context);
  if (s.kv_heads > 0) c.n_kv_head = s.kv_heads;
  if (s.head_dim > 0) c.head_dim = s.head_dim;
  if (s.untied) c.tie_embeddings = false;
  c.validate("tiny_config");
  return c;
}

// `base` as every block variant the model has: GPT-2; Llama with grouped-query attention,
// an untied head and llama3 rotary scaling; Qwen2 with multi-query attention and q/k/v
// biases; Qwen3 with q/k norms and a head size other than channels / heads. base.heads must
// be a multiple of 2 (the grouped-query variant uses heads / 2 key/value heads).
inline std::vector<TinyShape> every_architecture(TinyShape base) {
  std::vector<TinyShape> out;
  TinyShape s = base;
  out.push_back(s);
  s.arch = "llama", s.kv_heads = base.heads / 2, s.untied = true;
  out.push_back(s);
  s = base, s.arch = "qwen2", s.kv_heads = 1;
  out.push_back(s);
  s = base, s.arch = "qwen3", s.head_dim = base.channels / base.heads + 4, s.kv_heads = base.heads / 2;
  out.push_back(s);
  return out;
}

// GPT-2 initialisation from `seed`, every parameter then multiplied by `sharpen` (> 1 makes
// the logits peakier than GPT-2's init, so greedy choices are decided by clear margins).
inline std::unique_ptr<model::Gpt> tiny_model(const TinyShape& s = {}, uint64_t seed = 7, float sharpen = 1.0f,
                                              std::shared_ptr<ops::Backend> backend = nullptr) {
  model::GptConfig cfg = tiny_config(s);
  if (std::string(s.arch) == "llama") {  // exercise the llama3 rotary scaling too
    cfg.rope_scaling.type = "llama3";
    cfg.rope_scaling.factor = 4.0;
    cfg.rope_scaling.original_max_positions = std::max(2, s.context / 2);
  }
  auto m = std::make_unique<model::Gpt>(cfg, std::move(backend));
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
