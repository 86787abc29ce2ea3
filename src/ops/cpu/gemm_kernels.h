// The GEMM micro-kernels (internal to gemm.cpp and its tests). A kernel multiplies a packed
// A micro-panel (kc x MR, k-major: a[k*MR + i]) by a packed B micro-panel (kc x NR,
// b[k*NR + j]) and writes the full MR x NR tile: c[i*ldc + j] = alpha * acc + beta * c
// (+ bias[j] when bias is not null). beta == 0 never reads c.
#pragma once
#include <cstddef>

namespace chatforge::ops::gemm_detail {

struct Epilogue {
  float alpha = 1, beta = 0;
  const float* bias = nullptr;  // (NR) for this tile's columns, or null
};

using MicroKernelFn = void (*)(int kc, const float* a, const float* b, float* c, size_t ldc, const Epilogue& e);

// Packs one NR-wide micro-panel of a transposed B: src (cols rows of kb floats, ld apart;
// row j is column j of op(B)) into dst[k*NR + j], zero for j >= cols. Null: gemm.cpp's loop.
using PackBTransFn = void (*)(const float* src, size_t ld, int kb, int cols, float* dst);

struct MicroKernel {
  int mr, nr;
  MicroKernelFn run;
  PackBTransFn pack_b_trans = nullptr;
};

MicroKernel avx512_kernel();  // 12 x 32 (24 zmm accumulators)
MicroKernel avx2_kernel();    // 6 x 16 (12 ymm accumulators)
MicroKernel scalar_kernel();  // 4 x 8, portable C++

}  // namespace chatforge::ops::gemm_detail
