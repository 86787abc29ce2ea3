// Key/value cache for incremental inference: for each layer, keys and values of every
// cached position of up to max_batch independent sequences ("slots"), each with its own
// length. Layout per layer and slot: (max_T, KV) rows (KV = NKV * HS: GPT-2's C), heads
// side by side like qkv. The
// rows live in the backend's memory (the model's backend: host or device).
#pragma once
#include <cstddef>
#include <vector>

#include "model/config.h"
#include "ops/backend.h"

namespace chatforge::model {

class KvCache {
 public:
  // Sized once: 2 * L * max_batch * max_T * KV floats (bytes() tells how much), zeroed.
  KvCache(const GptConfig& cfg, int max_batch, int max_T, ops::Backend& backend = ops::cpu_backend());

  int max_batch() const { return max_batch_; }
  int max_T() const { return max_T_; }
  int length(int slot) const { return len_.at(slot); }
  void set_length(int slot, int len);  // truncate (or extend over already written rows)
  void clear(int slot) { set_length(slot, 0); }
  size_t bytes() const { return data_.bytes(); }
  ops::Backend& backend() const { return *data_.backend(); }

  // (max_T, KV) rows of one layer and slot, in the backend's memory.
  float* keys(int layer, int slot) { return data_.data() + offset(layer, slot, 0); }
  float* values(int layer, int slot) { return data_.data() + offset(layer, slot, 1); }

 private:
  size_t offset(int layer, int slot, int kv) const {
    return ((static_cast<size_t>(layer) * 2 + kv) * max_batch_ + slot) * static_cast<size_t>(max_T_) * C_;
  }
  int L_, C_, max_batch_, max_T_;
  ops::Buffer data_;      // (L, 2, max_batch, max_T, KV)
  std::vector<int> len_;  // cached positions per slot
};

}  // namespace chatforge::model
