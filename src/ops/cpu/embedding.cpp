// CPU token + position embedding (see ops.h for the contract).
#include <cstring>

#include "ops/ops.h"

namespace chatforge::ops {

void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                     int T, int C) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t) {
      const size_t i = static_cast<size_t>(b) * T + t;
      float* o = out + i * C;
      const float* e = wte + static_cast<size_t>(inp[i]) * C;
      if (wpe == nullptr) {  // rotary models: no position table
        std::memcpy(o, e, static_cast<size_t>(C) * sizeof(float));
        continue;
      }
      const float* p = wpe + static_cast<size_t>(pos != nullptr ? pos[i] : t) * C;
      for (int c = 0; c < C; ++c) o[c] = e[c] + p[c];
    }
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                      int T, int C) {
  // forward was: out[b,t] = wte[inp[b,t]] + wpe[pos[b,t]]. Several tokens may hit the same
  // token (or position) row, so threads split the channels, not the tokens: no races, and
  // a fixed summation order.
  constexpr int kBlock = 64;
  const int nblocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int blk = 0; blk < nblocks; ++blk) {
    const int c0 = blk * kBlock, c1 = c0 + kBlock < C ? c0 + kBlock : C;
    for (int i = 0; i < B * T; ++i) {
      float* de = dwte + static_cast<size_t>(inp[i]) * C;
      const float* d = dout + static_cast<size_t>(i) * C;
      for (int c = c0; c < c1; ++c) de[c] += d[c];
      if (dwpe == nullptr) continue;
      float* dp = dwpe + static_cast<size_t>(pos != nullptr ? pos[i] : i % T) * C;
      for (int c = c0; c < c1; ++c) dp[c] += d[c];
    }
  }
}

}  // namespace chatforge::ops
