// The CUDA backend: the kernels of ops.h on device pointers, with the same contracts
// (shapes, the accumulation rule, the masked cross-entropy), plus device management.
// Plain C++ (no CUDA headers), so model/ and train/ call it from .cpp files; built only
// when CHATFORGE_HAS_CUDA is defined (cmake/cuda.cmake). Every function runs on the
// current device's default stream; functions returning a value synchronise.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/ops.h"

namespace chatforge::cuda {

// --- devices and memory -------------------------------------------------------------
// Number of usable CUDA devices; 0 when there is none or no driver (never throws).
int device_count();
// Why device_count() is 0, in words ("no CUDA-capable device is detected", ...).
std::string no_device_reason();
// Makes device `index` current; throws chatforge::Error naming the index when it does not exist.
void set_device(int index);
std::string device_name(int index);
// Dense bf16 tensor-core peak of the current device in TFLOP/s (from its SM count and
// clock; the MFU denominator), e.g. ~989 for an H100/H200 SXM.
double bf16_peak_tflops();
void* device_alloc(size_t bytes);  // throws Error (with the size) when out of memory
void device_free(void* p);
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);
void copy_device(void* dst, const void* src, size_t bytes);
// `rows` rows of `width` bytes, device to device, with row pitches in bytes.
void copy_device_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t width, size_t rows);
void zero(void* p, size_t bytes);
void synchronize();  // waits and turns an asynchronous kernel error into an Error

// An owning device array of T (moves, never copies).
template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(size_t n) { resize(n); }
  ~DeviceArray() { device_free(p_); }
  DeviceArray(DeviceArray&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr, o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  void resize(size_t n) {
    if (n == n_) return;
    device_free(p_);
    p_ = nullptr;
    n_ = 0;
    if (n) p_ = static_cast<T*>(device_alloc(n * sizeof(T)));
    n_ = n;
  }
  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }
  void upload(const T* host, size_t n, size_t offset = 0) { copy_to_device(p_ + offset, host, n * sizeof(T)); }
  void download(T* host, size_t n, size_t offset = 0) const { copy_to_host(host, p_ + offset, n * sizeof(T)); }
  void zero_all() { zero(p_, bytes()); }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// --- precision of the GEMMs ------------------------------------------------------------
// kFp32: fp32 inputs and accumulation (no TF32), for exact comparisons with the CPU.
// kBf16: inputs rounded to bf16, fp32 accumulation and fp32 outputs (tensor cores); the
// weights stay fp32 (master copy) and are rounded per call.
enum class Precision { kFp32, kBf16 };
const char* precision_name(Precision p);

// --- the ops (device pointers; contracts as in ops.h) -------------------------------------
void encoder_forward(float* out, const int32_t* inp, const float* wte, const float* wpe, int B, int T, int C);
// dwte, dwpe +=; deterministic (no atomics: each channel walks the positions in order)
void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, int B, int T, int C);

void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, int N, int C);
// Fused residual add + LayerNorm: residual_out = a + b, then out = layernorm(residual_out).
void residual_layernorm_forward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                const float* b, const float* weight, const float* bias, int N, int C);
// dinp += ; dweight, dbias += (two-stage deterministic column reduction)
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                        const float* weight, const float* mean, const float* rstd, int N, int C);

// out (N,OC) = inp (N,C) @ weight(OC,C)^T + bias (cuBLASLt, bias fused in the epilogue).
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C, int OC,
                    Precision p);
// dinp = (skipped when null); dweight +=; dbias += (skipped when null)
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, Precision p);

// Causal self-attention, flash style: the (T,T) scores never reach global memory.
// qkv (B,T,3C) as in ops.h; out (B,T,C); lse (B,NH,T) log-sum-exp of each scaled score
// row, kept for backward. Head sizes 8, 16, 32, 64, 128.
void attention_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH);
// dqkv (B,T,3C) = ; scratch: B*NH*T floats; out and lse from the forward call.
void attention_backward(float* dqkv, float* scratch, const float* dout, const float* qkv, const float* out,
                        const float* lse, int B, int T, int C, int NH);
// ops::attention_cached_forward for `nseq` independent sequences that are all at the same
// position: sequence s reads q + s*q_stride, kcache/vcache + s*cache_stride, writes out +
// s*out_stride.
void attention_cached_forward(float* out, int ldo, size_t out_stride, const float* q, int ldq, size_t q_stride,
                              const float* kcache, const float* vcache, size_t cache_stride, int pos0, int Tq,
                              int C, int NH, int nseq);

void gelu_forward(float* out, const float* inp, size_t n);
void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n);  // dinp may alias dout
void residual_forward(float* out, const float* a, const float* b, size_t n);
void add_inplace(float* x, const float* y, size_t n);  // x += y

// losses/lse (N) on the device; returns the sum of the masked losses (summed in row order).
double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                            const uint8_t* mask, int N, int V, int Vp);
void crossentropy_backward(float* logits_to_dlogits, const float* lse, const int32_t* targets, const uint8_t* mask,
                           float dloss, int N, int V, int Vp);

void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const ops::AdamWParams& hp, int t,
                float grad_scale);
double sum_squares(const float* x, size_t n);  // deterministic (fixed grid, ordered final sum)
void scale_inplace(float* x, size_t n, float s);

}  // namespace chatforge::cuda
