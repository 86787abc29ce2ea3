// CUDA token + position embeddings, and the rows of an embedding table for inference. The
// backward is deterministic without atomics: the rows are bucketed by token id (and by
// position when positions are given) on the host with a stable counting sort, then one
// block per distinct key adds its rows' gradients in row order.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr int kThreads = 256;

// out[n,c] = table[ids[n],c] (+ wpe[p,c] with p = pos[n], or n % T without pos, when wpe is not null)
__global__ void embed_kernel(float* out, const int32_t* ids, const int32_t* pos, const float* table, const float* wpe,
                             int N, int T, int C) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(N) * C) return;
  const int n = static_cast<int>(idx / C), c = static_cast<int>(idx % C);
  float v = table[static_cast<size_t>(ids[n]) * C + c];
  if (wpe != nullptr) v += wpe[static_cast<size_t>(pos != nullptr ? pos[n] : n % T) * C + c];
  out[idx] = v;
}

// dwpe[t,c] += sum over b of dout[b,t,c] (positions 0..T-1 in every row), b in order
__global__ void wpe_backward_kernel(float* dwpe, const float* dout, int B, int T, int C) {
  const size_t idx = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<size_t>(T) * C) return;
  float acc = 0.0f;
  for (int b = 0; b < B; ++b) acc += dout[static_cast<size_t>(b) * T * C + idx];
  dwpe[idx] += acc;
}

// Block k owns key keys[k]; its rows are rows[offsets[k] .. offsets[k+1]), ascending.
// dst[keys[k], c] += sum of dout[row, c] over them.
__global__ void bucket_backward_kernel(float* dst, const float* dout, const int32_t* keys, const int32_t* offsets,
                                       const int32_t* rows, int C) {
  const int k = blockIdx.x;
  const size_t out_row = static_cast<size_t>(keys[k]) * C;
  const int r0 = offsets[k], r1 = offsets[k + 1];
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    float acc = 0.0f;
    for (int i = r0; i < r1; ++i) acc += dout[static_cast<size_t>(rows[i]) * C + c];
    dst[out_row + c] += acc;
  }
}

// dst[keys[i]] += dout[i] for n rows of C, keys on the device: downloads the keys, buckets
// them (stable counting sort: the rows of a key stay in order) and runs one block per key.
void bucket_backward(float* dst, const float* dout, const int32_t* dev_keys, int n, int C, detail::Slot slot,
                     const char* what) {
  std::vector<int32_t> keys(n);
  copy_to_host(keys.data(), dev_keys, keys.size() * sizeof(int32_t));
  int32_t max_key = 0;
  for (int i = 0; i < n; ++i) {
    if (keys[i] < 0)
      detail::throw_error(what, ("negative index " + std::to_string(keys[i]) + " at row " + std::to_string(i)).c_str(),
                          __FILE__, __LINE__);
    max_key = std::max(max_key, keys[i]);
  }
  std::vector<int32_t> start(static_cast<size_t>(max_key) + 2, 0);
  for (int i = 0; i < n; ++i) ++start[keys[i] + 1];
  for (size_t k = 1; k < start.size(); ++k) start[k] += start[k - 1];
  // host: rows (n) | distinct keys (up to n) | offsets (distinct + 1)
  std::vector<int32_t> host(3 * static_cast<size_t>(n) + 1);
  int32_t* rows = host.data();
  {
    std::vector<int32_t> next(start.begin(), start.end() - 1);
    for (int i = 0; i < n; ++i) rows[next[keys[i]]++] = i;
  }
  int32_t* uniq = rows + n;
  int nu = 0;
  for (int i = 0; i < n; ++i)
    if (i == 0 || keys[rows[i]] != keys[rows[i - 1]]) uniq[nu++] = keys[rows[i]];
  int32_t* offsets = uniq + nu;
  for (int k = 0; k < nu; ++k) offsets[k] = start[uniq[k]];
  offsets[nu] = n;
  const size_t used = static_cast<size_t>(n) + 2 * nu + 1;
  auto* dev = static_cast<int32_t*>(detail::scratch(slot, used * sizeof(int32_t)));
  copy_to_device(dev, host.data(), used * sizeof(int32_t));
  bucket_backward_kernel<<<nu, kThreads>>>(dst, dout, dev + n, dev + n + nu, dev, C);
  CF_CUDA_LAUNCHED(what);
}

}  // namespace

void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                     int T, int C) {
  const size_t n = static_cast<size_t>(B) * T * C;
  if (n == 0) return;
  embed_kernel<<<detail::ceil_div(n, kThreads), kThreads>>>(out, inp, pos, wte, wpe, B * T, T, C);
  CF_CUDA_LAUNCHED("encoder_forward");
}

void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                      int T, int C) {
  const int BT = B * T;
  if (BT == 0 || C == 0) return;
  // forward was: out[b,t] = wte[inp[b,t]] + wpe[pos[b,t]]
  if (dwpe == nullptr) {
    // rotary models: no position table
  } else if (pos == nullptr) {
    wpe_backward_kernel<<<detail::ceil_div(static_cast<size_t>(T) * C, kThreads), kThreads>>>(dwpe, dout, B, T, C);
    CF_CUDA_LAUNCHED("encoder_backward (wpe)");
  } else {
    bucket_backward(dwpe, dout, pos, BT, C, detail::kSlotEncoderWpe, "encoder_backward (wpe)");
  }
  bucket_backward(dwte, dout, inp, BT, C, detail::kSlotEncoderWte, "encoder_backward (wte)");
}

void embedding_rows(float* out, const int32_t* ids, const int32_t* pos, const float* table, const float* wpe, int N,
                    int C) {
  if (N == 0 || C == 0) return;
  const bool with_pos = wpe != nullptr;
  auto* dev = static_cast<int32_t*>(detail::scratch(detail::kSlotEmbeddingIds, 2 * static_cast<size_t>(N) * 4));
  copy_to_device(dev, ids, static_cast<size_t>(N) * sizeof(int32_t));
  if (with_pos) copy_to_device(dev + N, pos, static_cast<size_t>(N) * sizeof(int32_t));
  const size_t n = static_cast<size_t>(N) * C;
  embed_kernel<<<detail::ceil_div(n, kThreads), kThreads>>>(out, dev, with_pos ? dev + N : nullptr, table, wpe, N, N,
                                                            C);
  CF_CUDA_LAUNCHED("embedding_rows");
}

}  // namespace chatforge::cuda
