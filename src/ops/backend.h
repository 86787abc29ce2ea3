// The backend interface: where tensors live and how the ops run. The model is written once
// against this table (model/gpt.cpp); the CPU backend (ops/cpu/cpu_backend.cpp, the
// kernels of ops.h) and the CUDA backend (ops/cuda/cuda_backend.cc, the kernels of
// cuda_ops.h) implement it with the same signatures and the same contracts, stated once in
// ops.h (shapes, dimension letters, the accumulation rule). Every pointer an op takes is
// in the backend's memory (device memory for CUDA, host memory for the CPU); ids, masks
// and document ids too. A backend may offer a fused op (the `fused_*` methods): the
// defaults compose the plain ops, so a backend overrides only what it really fuses.
// tests/unit/test_backend_ops.cpp checks every op of every available backend against the
// double-precision reference (ops/reference) in one table.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.h"
#include "ops/device.h"
#include "ops/ops.h"

namespace chatforge::ops {

// An activation applied to a matmul's output.
enum class Activation { kNone, kGelu };

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0 (bf16)"
  // True when the backend's pointers are host memory (the CPU): host code may read them.
  virtual bool host_memory() const = 0;

  // --- memory (bytes) -----------------------------------------------------------------
  // Zeroed and 64-byte aligned (256 on CUDA); throws Error naming the size when it fails.
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) noexcept = 0;
  virtual void upload(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void download(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  // `rows` rows of `row_bytes`, rows `dst_pitch` / `src_pitch` bytes apart.
  virtual void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                         size_t rows) = 0;
  virtual void zero(void* p, size_t bytes) = 0;
  virtual void synchronize() {}

  // --- the ops (contracts in ops.h) ----------------------------------------------------
  virtual void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte,
                               const float* wpe, int B, int T, int C) = 0;
  virtual void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos,
                                int B, int T, int C) = 0;
  virtual void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                                 const float* bias, int N, int C) = 0;
  virtual void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                                  const float* weight, const float* mean, const float* rstd, int N, int C) = 0;
  virtual void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C,
                              int OC) = 0;
  virtual void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                               const float* weight, int N, int C, int OC) = 0;
  // Inference linear layer over weights in a storage format (ops.h WeightMatrix): out (N,OC)
  // = act(inp (N,C) @ w^T + bias). A backend may support only some formats (CUDA: kF32):
  // supports_format says which; the others are an Error.
  virtual void linear_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N,
                              Activation act) = 0;
  virtual bool supports_format(WeightFormat f) const = 0;
  // Rows of an embedding table stored in a format: out (N, C) = table[ids[i]] (+ wpe[pos[i]]
  // when wpe is not null). ids and pos are HOST arrays here (a handful of rows per step).
  virtual void embedding_rows(float* out, const int32_t* ids, const int32_t* pos, const WeightMatrix& table,
                              const float* wpe, int N) = 0;
  // Training over a frozen weight in a storage format (LoRA's reduced base; ops.h
  // stored_matmul_*): out (N,OC) = inp @ w^T + bias, and dinp (N,C) = dout @ w
  // (overwritten). A backend reads the formats supports_format lists; the defaults take
  // kF32 through the plain matmuls (a backend without reduced formats needs no more).
  virtual void stored_matmul_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N) {
    if (w.format != WeightFormat::kF32) throw_unsupported(w.format);
    matmul_forward(out, inp, static_cast<const float*>(w.data), bias, N, w.C, w.OC);
  }
  virtual void stored_matmul_backward(float* dinp, const float* dout, const WeightMatrix& w, int N) {
    if (w.format != WeightFormat::kF32) throw_unsupported(w.format);
    matmul_backward(dinp, nullptr, nullptr, dout, nullptr, static_cast<const float*>(w.data), N, w.C, w.OC);
  }
  virtual void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int NH,
                                 int NKV, int HS) = 0;
  virtual void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                                  const float* lse, const int32_t* doc, int B, int T, int NH, int NKV, int HS) = 0;
  virtual void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache,
                                        const float* vcache, int pos0, int Tq, int NH, int NKV, int HS) = 0;
  virtual void gelu_forward(float* out, const float* inp, size_t n) = 0;
  virtual void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) = 0;
  virtual void residual_forward(float* out, const float* a, const float* b, size_t n) = 0;
  virtual double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                                      const uint8_t* mask, int N, int V, int Vp) = 0;
  virtual void crossentropy_backward(float* logits_to_dlogits, const float* lse, const int32_t* targets,
                                     const uint8_t* mask, float dloss, int N, int V, int Vp) = 0;
  // The Llama family's ops. rope's pos (N) and inv_freq (HS/2) are backend memory.
  virtual void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int H, int D,
                               int ld, float eps) = 0;
  virtual void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                                const float* rstd, int N, int H, int D, int ld, bool accumulate) = 0;
  virtual void rope_forward(float* x, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS,
                            int ld) = 0;
  virtual void rope_backward(float* dx, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS,
                             int ld) = 0;
  virtual void swiglu_forward(float* out, const float* inp, int N, int F) = 0;
  virtual void swiglu_backward(float* dinp, const float* inp, const float* dout, int N, int F) = 0;
  virtual void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const AdamWParams& hp,
                          int t, float grad_scale) = 0;
  virtual double sum_squares(const float* x, size_t n) = 0;  // deterministic
  virtual void scale_inplace(float* x, size_t n, float s) = 0;

  // --- fused ops (the defaults compose the plain ones) ---------------------------------
  // out (N,OC) = act(inp @ weight^T + bias); with an activation, pre (N,OC) keeps the value
  // before it (backward needs it). pre may alias nothing else.
  // (Defined here, inline: a backend library links without this layer's objects.)
  virtual void fused_matmul_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias,
                                    int N, int C, int OC, Activation act) {
    if (act == Activation::kNone) return matmul_forward(out, inp, weight, bias, N, C, OC);
    matmul_forward(pre, inp, weight, bias, N, C, OC);
    gelu_forward(out, pre, static_cast<size_t>(N) * OC);
  }
  // residual_out = a + b, then out = layernorm(residual_out) (mean, rstd as layernorm_forward).
  virtual void fused_residual_layernorm_forward(float* residual_out, float* out, float* mean, float* rstd,
                                                const float* a, const float* b, const float* weight,
                                                const float* bias, int N, int C) {
    residual_forward(residual_out, a, b, static_cast<size_t>(N) * C);
    layernorm_forward(out, mean, rstd, residual_out, weight, bias, N, C);
  }

 private:
  [[noreturn]] void throw_unsupported(WeightFormat f) const {
    throw Error("the " + name() + " backend trains over fp32 weights only, not " + weight_format_name(f));
  }
};

// The CPU backend (one per process; OpenMP threads from the one pool).
Backend& cpu_backend();
// The same with bf16 GEMM inputs in the linear layers (`--dtype bf16` on the CPU): host
// memory like cpu_backend(), so a model moves between the two without a copy.
Backend& cpu_backend_bf16();

// The backend of a --device choice: the CPU one, or a CUDA one on the current device
// (ops::activate_device picks it) computing GEMMs in fp32 or bf16. Throws Error when CUDA
// is asked for and not built or no GPU is present.
std::shared_ptr<Backend> make_backend(const Device& device);

// An owned allocation in a backend's memory. Moves, never copies.
class Buffer {
 public:
  Buffer() = default;
  Buffer(Backend& backend, size_t bytes) { reset(backend, bytes); }
  ~Buffer() { free(); }
  Buffer(Buffer&& o) noexcept : backend_(o.backend_), p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      free();
      backend_ = o.backend_, p_ = o.p_, bytes_ = o.bytes_;
      o.p_ = nullptr, o.bytes_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // Frees what it held and allocates `bytes` (zeroed) in `backend`.
  void reset(Backend& backend, size_t bytes) {
    free();
    backend_ = &backend;
    if (bytes > 0) p_ = backend.allocate(bytes);
    bytes_ = bytes;
  }
  template <class T = float>
  T* as() const {
    return static_cast<T*>(p_);
  }
  float* data() const { return static_cast<float*>(p_); }
  size_t bytes() const { return bytes_; }
  Backend* backend() const { return backend_; }

 private:
  void free() noexcept {
    if (p_ != nullptr) backend_->release(p_);
    p_ = nullptr;
    bytes_ = 0;
  }
  Backend* backend_ = nullptr;
  void* p_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace chatforge::ops
