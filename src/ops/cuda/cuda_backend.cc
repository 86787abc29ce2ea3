// The CUDA backend: the kernels of cuda_ops.h behind the Backend table (ops/backend.h), with
// the contracts of ops.h, on the device that is current when it is made (ops::activate_device
// picks it). Memory is device memory (cudaMalloc: 256-byte aligned, zeroed here); ids,
// masks and document ids the model uploads are device memory too, except embedding_rows'
// ids and positions, which are host arrays by contract. GEMMs run in fp32 or with bf16
// inputs, chosen at construction. Inference weights must be fp32 (supports_format).
// Host-only code compiled by the C++ compiler; the .cc extension keeps it out of cf_ops and
// in cf_cuda (cmake/cuda.cmake), so it must not call cf_ops functions.
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "core/error.h"
#include "ops/backend.h"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::ops {
namespace {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(bool bf16) : precision_(bf16 ? cuda::Precision::kBf16 : cuda::Precision::kFp32) {
    CF_CHECK(cuda::device_count() > 0, "--device cuda: no usable CUDA GPU on this machine ({})",
             cuda::no_device_reason());
    device_ = cuda::current_device();
  }

  std::string name() const override {
    return fmt::format("cuda:{} ({})", device_, precision_ == cuda::Precision::kBf16 ? "bf16" : "fp32");
  }
  bool host_memory() const override { return false; }

  // --- memory ----------------------------------------------------------------------------
  void* allocate(size_t bytes) override {
    const size_t rounded = (bytes + 255) / 256 * 256;  // never 0: every allocation is a real pointer
    void* p = cuda::device_alloc(rounded == 0 ? 256 : rounded);
    cuda::zero(p, rounded == 0 ? 256 : rounded);
    return p;
  }
  void release(void* p) noexcept override { cuda::device_free(p); }
  void upload(void* dst, const void* host_src, size_t bytes) override { cuda::copy_to_device(dst, host_src, bytes); }
  void download(void* host_dst, const void* src, size_t bytes) override { cuda::copy_to_host(host_dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (dst != src) cuda::copy_device(dst, src, bytes);
  }
  void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                 size_t rows) override {
    if (rows == 0 || row_bytes == 0) return;
    CF_CHECK(dst_pitch >= row_bytes && src_pitch >= row_bytes,
             "copy_rows: row pitches ({} and {} bytes) must hold a row of {} bytes", dst_pitch, src_pitch, row_bytes);
    cuda::copy_device_2d(dst, dst_pitch, src, src_pitch, row_bytes, rows);
  }
  void zero(void* p, size_t bytes) override { cuda::zero(p, bytes); }
  void synchronize() override { cuda::synchronize(); }

  // --- the ops -----------------------------------------------------------------------------
  void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                       int T, int C) override {
    cuda::encoder_forward(out, inp, pos, wte, wpe, B, T, C);
  }
  void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                        int T, int C) override {
    cuda::encoder_backward(dwte, dwpe, dout, inp, pos, B, T, C);
  }
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int N, int C) override {
    cuda::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C) override {
    cuda::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C,
                      int OC) override {
    cuda::matmul_forward(out, nullptr, inp, weight, bias, N, C, OC, precision_, false);
  }
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                       const float* weight, int N, int C, int OC) override {
    cuda::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC, precision_);
  }
  void linear_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N,
                      Activation act) override {
    CF_CHECK(supports_format(w.format),
             "the CUDA backend reads {} weights only, not {} (load the model with f32 inference weights)",
             ops::weight_format_name(WeightFormat::kF32), ops::weight_format_name(w.format));
    cuda::matmul_forward(out, nullptr, inp, static_cast<const float*>(w.data), bias, N, w.C, w.OC, precision_,
                         act == Activation::kGelu);
  }
  bool supports_format(WeightFormat f) const override { return f == WeightFormat::kF32; }
  void embedding_rows(float* out, const int32_t* ids, const int32_t* pos, const WeightMatrix& table,
                      const float* wpe, int N) override {
    CF_CHECK(table.format == WeightFormat::kF32, "the CUDA backend reads f32 embedding tables only, not {}",
             ops::weight_format_name(table.format));
    CF_CHECK(wpe == nullptr || pos != nullptr, "embedding_rows: positions are needed with a position table");
    for (int i = 0; i < N; ++i) {  // host arrays: checked here, where a bad id cannot fault the device
      CF_CHECK(ids[i] >= 0 && ids[i] < table.OC, "token id {} at row {} is outside the embedding table ({} rows)",
               ids[i], i, table.OC);
      CF_CHECK(wpe == nullptr || pos[i] >= 0, "position {} at row {} is negative", pos[i], i);
    }
    cuda::embedding_rows(out, ids, pos, static_cast<const float*>(table.data), wpe, N, table.C);
  }
  // The CUDA kernels take GPT-2's layout (q | k | v of C = NH * HS each): grouped-query
  // attention is not on this backend yet.
  static int fused_width(const char* what, int NH, int NKV, int HS) {
    CF_CHECK(NKV == NH, "{}: grouped-query attention ({} query heads, {} key/value heads) is not supported on the "
             "CUDA backend yet (use --device cpu)", what, NH, NKV);
    return NH * HS;
  }
  void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int NH, int NKV,
                         int HS) override {
    cuda::attention_forward(out, lse, qkv, doc, B, T, fused_width("attention", NH, NKV, HS), NH);
  }
  void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                          const int32_t* doc, int B, int T, int NH, int NKV, int HS) override {
    cuda::attention_backward(dqkv, dout, qkv, out, lse, doc, B, T, fused_width("attention", NH, NKV, HS), NH);
  }
  void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache,
                                const float* vcache, int pos0, int Tq, int NH, int NKV, int HS) override {
    cuda::attention_cached_forward(out, ldo, q, ldq, kcache, vcache, pos0, Tq, fused_width("attention", NH, NKV, HS),
                                   NH);
  }
  // The Llama family's norms, rotary embeddings and SwiGLU have no CUDA kernels yet.
  [[noreturn]] static void not_on_cuda(const char* op) {
    fail("{} (Llama-family models) is not supported on the CUDA backend yet (use --device cpu)", op);
  }
  void rmsnorm_forward(float*, float*, const float*, const float*, int, int, int, int, float) override {
    not_on_cuda("RMSNorm");
  }
  void rmsnorm_backward(float*, float*, const float*, const float*, const float*, const float*, int, int, int, int,
                        bool) override {
    not_on_cuda("RMSNorm");
  }
  void rope_forward(float*, const int32_t*, const float*, float, int, int, int, int) override {
    not_on_cuda("rotary position embedding");
  }
  void rope_backward(float*, const int32_t*, const float*, float, int, int, int, int) override {
    not_on_cuda("rotary position embedding");
  }
  void swiglu_forward(float*, const float*, int, int) override { not_on_cuda("SwiGLU"); }
  void swiglu_backward(float*, const float*, const float*, int, int) override { not_on_cuda("SwiGLU"); }
  void gelu_forward(float* out, const float* inp, size_t n) override { cuda::gelu_forward(out, inp, n); }
  void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) override {
    cuda::gelu_backward(dinp, inp, dout, n);
  }
  void residual_forward(float* out, const float* a, const float* b, size_t n) override {
    cuda::residual_forward(out, a, b, n);
  }
  double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                              const uint8_t* mask, int N, int V, int Vp) override {
    return cuda::crossentropy_forward(losses, lse, logits, targets, mask, N, V, Vp);
  }
  void crossentropy_backward(float* logits, const float* lse, const int32_t* targets, const uint8_t* mask,
                             float dloss, int N, int V, int Vp) override {
    cuda::crossentropy_backward(logits, lse, targets, mask, dloss, N, V, Vp);
  }
  void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const AdamWParams& hp, int t,
                  float grad_scale) override {
    cuda::adamw_step(params, grads, m, v, n, hp, t, grad_scale);
  }
  double sum_squares(const float* x, size_t n) override { return cuda::sum_squares(x, n); }
  void scale_inplace(float* x, size_t n, float s) override { cuda::scale_inplace(x, n, s); }

  // --- fused ops ------------------------------------------------------------------------------
  void fused_matmul_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias, int N,
                            int C, int OC, Activation act) override {
    const bool gelu = act == Activation::kGelu;
    CF_CHECK(!gelu || pre != nullptr, "fused_matmul_forward: GELU needs the pre-activation buffer");
    cuda::matmul_forward(out, gelu ? pre : nullptr, inp, weight, bias, N, C, OC, precision_, gelu);
  }
  void fused_residual_layernorm_forward(float* residual_out, float* out, float* mean, float* rstd, const float* a,
                                        const float* b, const float* weight, const float* bias, int N,
                                        int C) override {
    cuda::residual_layernorm_forward(residual_out, out, mean, rstd, a, b, weight, bias, N, C);
  }

 private:
  cuda::Precision precision_;
  int device_ = 0;
};

}  // namespace

// Declared in ops/backend.cpp (the factory) under CHATFORGE_HAS_CUDA.
std::shared_ptr<Backend> make_cuda_backend(bool bf16) { return std::make_shared<CudaBackend>(bf16); }

}  // namespace chatforge::ops
