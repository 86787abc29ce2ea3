// Non-owning tensor views: a pointer plus a row-major shape (at most 4 dims).
// Dimension letters used across chatforge are defined in ops/ops.h.
#pragma once
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/error.h"

namespace chatforge {

struct Shape {
  std::array<int64_t, 4> dims{};
  int ndim = 0;

  Shape() = default;
  Shape(std::initializer_list<int64_t> d) {
    CF_ASSERT(d.size() <= 4);
    for (int64_t x : d) dims[ndim++] = x;
  }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= dims[i];
    return n;
  }
  int64_t operator[](int i) const { return dims[i]; }
  bool operator==(const Shape& o) const {
    if (ndim != o.ndim) return false;
    for (int i = 0; i < ndim; ++i)
      if (dims[i] != o.dims[i]) return false;
    return true;
  }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < ndim; ++i) {
      if (i) s += ", ";
      s += std::to_string(dims[i]);
    }
    return s + ")";
  }
};

// A float tensor somewhere in an arena. Copying a view never copies data.
struct TensorView {
  float* data = nullptr;
  Shape shape;
  int64_t numel() const { return shape.numel(); }
};

}  // namespace chatforge
