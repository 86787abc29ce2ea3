// Training matmuls over a frozen weight held in a storage format (ops.h, "training over a
// frozen weight"): our GEMM reads the stored matrix as it packs its panels (sgemm_stored,
// gemm_bf16_stored), so LoRA over a bf16 or int8 base computes what an fp32 base holding the
// same values would, without fp32 copies of the matrices or a pass that makes them. Under
// CHATFORGE_GEMM=openblas blocks of ~4 MB of the weight's rows are expanded to fp32 and handed
// to OpenBLAS (the comparison path).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "ops/cpu/gemm.h"
#include "ops/ops.h"

namespace chatforge::ops {
namespace {

constexpr size_t kBlockFloats = size_t{1} << 20;  // 4 MB of expanded rows per GEMM call

// Rows per expanded block of a (OC, C) matrix: ~kBlockFloats, a whole number of panels.
int block_rows(const WeightMatrix& w) {
  const int rows = static_cast<int>(kBlockFloats / static_cast<size_t>(std::max(w.C, 1)));
  return std::min(w.OC, std::max(kPanelRows, rows / kPanelRows * kPanelRows));
}

// Rows [j0, j0 + n) of w as fp32 into dst (n, C), the threads each expanding a share.
void expand_rows(float* dst, const WeightMatrix& w, int j0, int n) {
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int a = j0 + n * id / nt, b = j0 + n * (id + 1) / nt;
    if (a < b) dequantize_rows(dst + static_cast<size_t>(a - j0) * w.C, w, a, b);
  }
}

// One scratch block, reused (the model calls these from one thread, many times a step).
float* scratch(size_t floats) {
  static thread_local std::vector<float> buf;
  if (buf.size() < floats) buf.resize(floats);
  return buf.data();
}

// fn(block, j, n) for each block of rows [j, j + n) of w, expanded to fp32 in block (n, C).
template <class Fn>
void for_each_expanded_block(const WeightMatrix& w, Fn&& fn) {
  const int rows = block_rows(w);
  float* block = scratch(static_cast<size_t>(rows) * w.C);
  for (int j = 0; j < w.OC; j += rows) {
    const int n = std::min(rows, w.OC - j);
    expand_rows(block, w, j, n);
    fn(block, j, n);
  }
}

}  // namespace

void stored_matmul_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N, bool bf16,
                           float* gelu_out) {
  const int C = w.C, OC = w.OC;
  if (w.format == WeightFormat::kF32) {  // the rows as they are (sgemm's SIMD packs)
    const auto gemm = bf16 ? gemm_bf16 : sgemm;
    gemm(false, true, N, OC, C, 1.0f, inp, C, static_cast<const float*>(w.data), C, 0.0f, out, OC, bias, gelu_out);
    return;
  }
  if (bf16 || gemm_impl() == GemmImpl::kOwn) {
    const auto gemm = bf16 ? gemm_bf16_stored : sgemm_stored;
    gemm(true, N, OC, C, 1.0f, inp, C, w, 0.0f, out, OC, bias, gelu_out);
    return;
  }
  for_each_expanded_block(w, [&](const float* block, int j, int n) {
    // out[:, j:j+n] (N, n) = inp (N, C) @ block (n, C)^T + bias[j:j+n] (its GELU into gelu_out[:, j:j+n])
    sgemm(false, true, N, n, C, 1.0f, inp, C, block, C, 0.0f, out + j, OC, bias != nullptr ? bias + j : nullptr,
          gelu_out != nullptr ? gelu_out + j : nullptr);
  });
}

void stored_matmul_backward(float* dinp, const float* dout, const WeightMatrix& w, int N, bool bf16) {
  const int C = w.C, OC = w.OC;
  // forward was: out = inp @ w^T, so dinp (N, C) = dout (N, OC) @ w (OC, C)
  if (w.format == WeightFormat::kF32) {
    const auto gemm = bf16 ? gemm_bf16 : sgemm;
    gemm(false, false, N, C, OC, 1.0f, dout, OC, static_cast<const float*>(w.data), C, 0.0f, dinp, C, nullptr, nullptr);
    return;
  }
  if (bf16 || gemm_impl() == GemmImpl::kOwn) {
    const auto gemm = bf16 ? gemm_bf16_stored : sgemm_stored;
    gemm(false, N, C, OC, 1.0f, dout, OC, w, 0.0f, dinp, C, nullptr, nullptr);
    return;
  }
  // OpenBLAS, summed over blocks of w's rows: dinp = sum_j dout[:, j:j+n] @ w[j:j+n, :]
  for_each_expanded_block(w, [&](const float* block, int j, int n) {
    sgemm(false, false, N, C, n, 1.0f, dout + j, OC, block, C, j == 0 ? 0.0f : 1.0f, dinp, C, nullptr);
  });
}

}  // namespace chatforge::ops
