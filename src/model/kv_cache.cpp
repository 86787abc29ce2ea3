// Implementation of kv_cache.h.
#include "model/kv_cache.h"

#include "core/error.h"

namespace chatforge::model {

KvCache::KvCache(const GptConfig& cfg, int max_batch, int max_T, ops::Backend& backend)
    : L_(cfg.n_layer), C_(cfg.kv_dim()), max_batch_(max_batch), max_T_(max_T) {
  CF_CHECK(max_batch >= 1, "KV cache batch must be positive (got {})", max_batch);
  CF_CHECK(max_T >= 1 && max_T <= cfg.n_ctx, "KV cache length {} must be in 1..{} (the model's context)", max_T,
           cfg.n_ctx);
  data_.reset(backend, static_cast<size_t>(L_) * 2 * max_batch * static_cast<size_t>(max_T) * C_ * sizeof(float));
  len_.assign(max_batch, 0);
}

void KvCache::set_length(int slot, int len) {
  CF_CHECK(slot >= 0 && slot < max_batch_, "KV cache slot {} out of range 0..{}", slot, max_batch_ - 1);
  CF_CHECK(len >= 0 && len <= max_T_, "KV cache length {} out of range 0..{}", len, max_T_);
  len_[slot] = len;
}

}  // namespace chatforge::model
