// The CPU backend: ops.h's kernels (OpenMP + OpenBLAS) behind the Backend table. Memory is
// host memory (64-byte aligned), so uploads and downloads are plain copies.
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "ops/backend.h"

namespace chatforge::ops {
namespace {

class CpuBackend final : public Backend {
 public:
  // bf16: the linear layers' GEMMs take bf16 inputs (gemm_bf16); everything else is fp32.
  explicit CpuBackend(bool bf16 = false) : bf16_(bf16) {}
  std::string name() const override { return bf16_ ? "cpu (bf16)" : "cpu"; }
  bool host_memory() const override { return true; }

  void* allocate(size_t bytes) override {
    const size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded);
    CF_CHECK(p != nullptr, "out of memory allocating {} MB", rounded >> 20);
    std::memset(p, 0, rounded);
    return p;
  }
  void release(void* p) noexcept override { std::free(p); }
  void upload(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void download(void* dst, const void* src, size_t bytes) override { copy(dst, src, bytes); }
  void copy(void* dst, const void* src, size_t bytes) override {
    if (bytes > 0 && dst != src) std::memmove(dst, src, bytes);
  }
  void copy_rows(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                 size_t rows) override {
    for (size_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(dst) + r * dst_pitch, static_cast<const char*>(src) + r * src_pitch, row_bytes);
  }
  void zero(void* p, size_t bytes) override {
    if (bytes % sizeof(float) == 0 && reinterpret_cast<uintptr_t>(p) % alignof(float) == 0)
      zero_fill(static_cast<float*>(p), bytes / sizeof(float));  // both threads clear a share
    else
      std::memset(p, 0, bytes);
  }

  void encoder_forward(float* out, const int32_t* inp, const int32_t* pos, const float* wte, const float* wpe, int B,
                       int T, int C) override {
    ops::encoder_forward(out, inp, pos, wte, wpe, B, T, C);
  }
  void encoder_backward(float* dwte, float* dwpe, const float* dout, const int32_t* inp, const int32_t* pos, int B,
                        int T, int C) override {
    ops::encoder_backward(dwte, dwpe, dout, inp, pos, B, T, C);
  }
  void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                         const float* bias, int N, int C) override {
    ops::layernorm_forward(out, mean, rstd, inp, weight, bias, N, C);
  }
  void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                          const float* weight, const float* mean, const float* rstd, int N, int C) override {
    ops::layernorm_backward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
  }
  void matmul_forward(float* out, const float* inp, const float* weight, const float* bias, int N, int C,
                      int OC) override {
    ops::matmul_forward(out, inp, weight, bias, N, C, OC, bf16_);
  }
  void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                       const float* weight, int N, int C, int OC) override {
    ops::matmul_backward(dinp, dweight, dbias, dout, inp, weight, N, C, OC, bf16_);
  }
  void linear_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias, int N,
                      Activation act) override {
    ops::linear_forward(out, inp, w, bias, N, act == Activation::kGelu);
  }
  bool supports_format(WeightFormat) const override { return true; }
  // The GELU fused into the GEMM: each finished tile of pre goes through it while in cache,
  // instead of a second pass over pre (N x OC) from memory.
  void fused_matmul_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias, int N,
                            int C, int OC, Activation act) override {
    if (act == Activation::kNone) return ops::matmul_forward(out, inp, weight, bias, N, C, OC, bf16_);
    CF_CHECK(pre != nullptr && pre != out, "fused_matmul_forward: GELU needs a pre-activation buffer of its own");
    ops::matmul_forward(pre, inp, weight, bias, N, C, OC, bf16_, out);
  }
  void stored_matmul_forward(float* out, const float* inp, const WeightMatrix& w, const float* bias,
                             int N) override {
    ops::stored_matmul_forward(out, inp, w, bias, N, bf16_);
  }
  void stored_matmul_backward(float* dinp, const float* dout, const WeightMatrix& w, int N) override {
    ops::stored_matmul_backward(dinp, dout, w, N, bf16_);
  }
  void embedding_rows(float* out, const int32_t* ids, const int32_t* pos, const WeightMatrix& table,
                      const float* wpe, int N) override {
    const int C = table.C;
    for (int i = 0; i < N; ++i) {
      float* x = out + static_cast<size_t>(i) * C;
      dequantize_rows(x, table, ids[i], ids[i] + 1);
      if (wpe != nullptr) {
        const float* pe = wpe + static_cast<size_t>(pos[i]) * C;
        for (int c = 0; c < C; ++c) x[c] += pe[c];
      }
    }
  }
  void attention_forward(float* out, float* lse, const float* qkv, const int32_t* doc, int B, int T, int NH, int NKV,
                         int HS) override {
    ops::attention_forward(out, lse, qkv, doc, B, T, NH, NKV, HS);
  }
  void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* out, const float* lse,
                          const int32_t* doc, int B, int T, int NH, int NKV, int HS) override {
    ops::attention_backward(dqkv, dout, qkv, out, lse, doc, B, T, NH, NKV, HS);
  }
  void attention_cached_forward(float* out, int ldo, const float* q, int ldq, const float* kcache,
                                const float* vcache, int pos0, int Tq, int NH, int NKV, int HS) override {
    ops::attention_cached_forward(out, ldo, q, ldq, kcache, vcache, pos0, Tq, NH, NKV, HS);
  }
  void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int H, int D, int ld,
                       float eps) override {
    ops::rmsnorm_forward(out, rstd, inp, weight, N, H, D, ld, eps);
  }
  void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                        const float* rstd, int N, int H, int D, int ld, bool accumulate) override {
    ops::rmsnorm_backward(dinp, dweight, dout, inp, weight, rstd, N, H, D, ld, accumulate);
  }
  void rope_forward(float* x, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS,
                    int ld) override {
    ops::rope_forward(x, pos, inv_freq, scale, N, H, HS, ld);
  }
  void rope_backward(float* dx, const int32_t* pos, const float* inv_freq, float scale, int N, int H, int HS,
                     int ld) override {
    ops::rope_backward(dx, pos, inv_freq, scale, N, H, HS, ld);
  }
  void swiglu_forward(float* out, const float* inp, int N, int F) override { ops::swiglu_forward(out, inp, N, F); }
  void swiglu_backward(float* dinp, const float* inp, const float* dout, int N, int F) override {
    ops::swiglu_backward(dinp, inp, dout, N, F);
  }
  void gelu_forward(float* out, const float* inp, size_t n) override { ops::gelu_forward(out, inp, n); }
  void gelu_backward(float* dinp, const float* inp, const float* dout, size_t n) override {
    ops::gelu_backward(dinp, inp, dout, n);
  }
  void residual_forward(float* out, const float* a, const float* b, size_t n) override {
    ops::residual_forward(out, a, b, n);
  }
  double crossentropy_forward(float* losses, float* lse, const float* logits, const int32_t* targets,
                              const uint8_t* mask, int N, int V, int Vp) override {
    return ops::crossentropy_forward(losses, lse, logits, targets, mask, N, V, Vp);
  }
  void crossentropy_backward(float* logits, const float* lse, const int32_t* targets, const uint8_t* mask,
                             float dloss, int N, int V, int Vp) override {
    ops::crossentropy_backward(logits, lse, targets, mask, dloss, N, V, Vp);
  }
  void adamw_step(float* params, const float* grads, float* m, float* v, size_t n, const AdamWParams& hp, int t,
                  float grad_scale) override {
    ops::adamw_step(params, grads, m, v, n, hp, t, grad_scale);
  }
  double sum_squares(const float* x, size_t n) override { return ops::sum_squares(x, n); }
  void scale_inplace(float* x, size_t n, float s) override { ops::scale_inplace(x, n, s); }

 private:
  bool bf16_;
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend backend;
  return backend;
}

Backend& cpu_backend_bf16() {
  static CpuBackend backend(true);
  return backend;
}

}  // namespace chatforge::ops
