// Arena: one contiguous, 64-byte aligned float buffer. Parameters, gradients and Adam
// moments are parallel arenas of the same size, so optimizer steps, zeroing, saving and
// all-reduce walk one flat buffer; activations live in a second arena sized per (B, T).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace chatforge {

class Arena {
 public:
  Arena() = default;
  explicit Arena(size_t n) { resize(n); }

  // Allocates n floats, zeroed. Any previous content is released.
  void resize(size_t n) {
    size_ = n;
    const size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
    float* p = bytes ? static_cast<float*>(std::aligned_alloc(64, bytes)) : nullptr;
    CF_CHECK(bytes == 0 || p != nullptr, "out of memory allocating {} MB", bytes >> 20);
    if (p) std::memset(p, 0, bytes);
    data_.reset(p);
  }
  void zero() {
    if (size_) std::memset(data_.get(), 0, size_ * sizeof(float));
  }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(float); }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

}  // namespace chatforge
