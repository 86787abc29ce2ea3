// Implementation of resize.h.
#include "model/resize.h"

#include <cstring>
#include <vector>

#include "core/error.h"

namespace chatforge::model {

std::unique_ptr<Gpt> extend_vocab(const Gpt& model, int new_vocab_size) {
  const GptConfig& old_cfg = model.config();
  CF_CHECK(new_vocab_size >= old_cfg.vocab_size, "cannot shrink the vocabulary from {} to {}", old_cfg.vocab_size,
           new_vocab_size);
  GptConfig cfg = old_cfg;
  cfg.vocab_size = new_vocab_size;
  auto out = std::make_unique<Gpt>(cfg);
  // Every tensor but the token embedding and an untied head has the same shape; those keep
  // their first V rows and the new rows start at the mean of the old ones.
  const auto& old_layout = model.layout();
  for (const auto& t : out->layout().tensors()) {
    const auto& src = old_layout.find(t.name);
    const float* from = model.params().data() + src.offset;
    float* to = out->params().data() + t.offset;
    if (t.name != "wte" && t.name != "lm_head") {
      std::memcpy(to, from, t.numel() * sizeof(float));
      continue;
    }
    const size_t C = cfg.n_embd;
    std::memcpy(to, from, static_cast<size_t>(old_cfg.vocab_size) * C * sizeof(float));
    std::vector<double> mean(C, 0.0);
    for (int v = 0; v < old_cfg.vocab_size; ++v)
      for (size_t c = 0; c < C; ++c) mean[c] += from[v * C + c];
    for (int v = old_cfg.vocab_size; v < new_vocab_size; ++v)
      for (size_t c = 0; c < C; ++c) to[v * C + c] = static_cast<float>(mean[c] / old_cfg.vocab_size);
  }
  return out;
}

}  // namespace chatforge::model
