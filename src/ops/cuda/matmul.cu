// CUDA linear layers through cuBLASLt. Row-major (N,C) @ (OC,C)^T is computed as the
// column-major product out^T (OC,N) = W (OC,C) . inp^T, so no transposes are copied.
// fp32: fp32 inputs and CUBLAS_COMPUTE_32F (no TF32, for exact comparisons). bf16: the
// inputs are rounded to bf16 copies in scratch, accumulated in fp32 into fp32 outputs.
// The bias add is fused into the GEMM epilogue (and, in bf16, the GELU of the MLP where
// cuBLASLt has an algorithm for it); the bias gradient is a deterministic two-stage
// column sum.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <dlfcn.h>

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include "ops/cuda/common.cuh"
#include "ops/cuda/cuda_ops.h"

namespace chatforge::cuda {
namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;
constexpr int kChunks = 128;

// cuBLASLt is opened at the first GEMM (dlopen), not linked: its load-time initialisation
// costs ~0.2 s, which every chatforge invocation would pay, GPU or not.
struct LtApi {
#define CF_LT_FN(name) decltype(&::name) name = nullptr;
  CF_LT_FN(cublasLtCreate)
  CF_LT_FN(cublasLtGetStatusString)
  CF_LT_FN(cublasLtMatmulDescCreate)
  CF_LT_FN(cublasLtMatmulDescSetAttribute)
  CF_LT_FN(cublasLtMatmulDescDestroy)
  CF_LT_FN(cublasLtMatrixLayoutCreate)
  CF_LT_FN(cublasLtMatrixLayoutDestroy)
  CF_LT_FN(cublasLtMatmulPreferenceCreate)
  CF_LT_FN(cublasLtMatmulPreferenceSetAttribute)
  CF_LT_FN(cublasLtMatmulPreferenceDestroy)
  CF_LT_FN(cublasLtMatmulAlgoGetHeuristic)
  CF_LT_FN(cublasLtMatmul)
#undef CF_LT_FN
  cublasLtHandle_t handle = nullptr;
};

const LtApi& lt() {
  static const LtApi api = [] {
    LtApi a;
    void* lib = nullptr;
    // the loader path first (runpath, LD_LIBRARY_PATH, ld.so.conf), then the build's toolkit
    for (const char* name : {"libcublasLt.so." CF_CUBLASLT_SOVERSION, "libcublasLt.so",
                             CF_CUBLASLT_DIR "/libcublasLt.so." CF_CUBLASLT_SOVERSION})
      if ((lib = dlopen(name, RTLD_NOW | RTLD_LOCAL)) != nullptr) break;
    if (lib == nullptr) detail::throw_error("loading cuBLASLt", dlerror(), __FILE__, __LINE__);
#define CF_LT_LOAD(name)                                                                 \
  a.name = reinterpret_cast<decltype(a.name)>(dlsym(lib, #name));                        \
  if (a.name == nullptr) detail::throw_error("loading cuBLASLt", #name " is missing", __FILE__, __LINE__);
    CF_LT_LOAD(cublasLtCreate)
    CF_LT_LOAD(cublasLtGetStatusString)
    CF_LT_LOAD(cublasLtMatmulDescCreate)
    CF_LT_LOAD(cublasLtMatmulDescSetAttribute)
    CF_LT_LOAD(cublasLtMatmulDescDestroy)
    CF_LT_LOAD(cublasLtMatrixLayoutCreate)
    CF_LT_LOAD(cublasLtMatrixLayoutDestroy)
    CF_LT_LOAD(cublasLtMatmulPreferenceCreate)
    CF_LT_LOAD(cublasLtMatmulPreferenceSetAttribute)
    CF_LT_LOAD(cublasLtMatmulPreferenceDestroy)
    CF_LT_LOAD(cublasLtMatmulAlgoGetHeuristic)
    CF_LT_LOAD(cublasLtMatmul)
#undef CF_LT_LOAD
    const cublasStatus_t st = a.cublasLtCreate(&a.handle);
    if (st != CUBLAS_STATUS_SUCCESS)
      detail::throw_error("cublasLtCreate", a.cublasLtGetStatusString(st), __FILE__, __LINE__);
    return a;
  }();
  return api;
}

void check_lt(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) detail::throw_error(what, lt().cublasLtGetStatusString(s), __FILE__, __LINE__);
}

cublasLtHandle_t lt_handle() { return lt().handle; }

__global__ void to_bf16_kernel(__nv_bfloat16* out, const float* in, size_t n) {
  const size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  if (i < n) out[i] = __float2bfloat16_rn(in[i]);
}

const void* as_bf16(const float* x, size_t n, detail::Slot slot) {
  auto* out = static_cast<__nv_bfloat16*>(detail::scratch(slot, n * sizeof(__nv_bfloat16)));
  to_bf16_kernel<<<detail::ceil_div(n, 256), 256>>>(out, x, n);
  CF_CUDA_LAUNCHED("to_bf16");
  return out;
}

// Column sums, stage 1: partial[chunk, c] = sum of x[r, c] over the chunk's rows.
__global__ void colsum_partial_kernel(float* partial, const float* x, int N, int C, int rows_per) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x, chunk = blockIdx.y;
  if (c >= C) return;
  const int r0 = chunk * rows_per, r1 = min(N, r0 + rows_per);
  float acc = 0.0f;
  for (int r = r0; r < r1; ++r) acc += x[static_cast<size_t>(r) * C + c];
  partial[static_cast<size_t>(chunk) * C + c] = acc;
}

// Stage 2: out[c] += chunks in order.
__global__ void colsum_final_kernel(float* out, const float* partial, int C, int chunks) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float acc = 0.0f;
  for (int k = 0; k < chunks; ++k) acc += partial[static_cast<size_t>(k) * C + c];
  out[c] += acc;
}

// The largest power of two, up to 16, that divides the address: what cuBLASLt's kernels
// may rely on (16-byte vector loads, TMA). Capped, so that the same shape gets the same
// algorithm (and the same bits) whether its operands sit 16 or 256 bytes aligned, as they
// do in different layers or with recomputed activations.
uint32_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 16;
  while (al > 1 && a % al != 0) al /= 2;
  return al;
}

// What the GEMM's epilogue adds: bias[m] per row, then GELU; aux (ld aux_ld) receives the
// value before GELU.
struct Epilogue {
  const float* bias = nullptr;
  bool gelu = false;
  float* aux = nullptr;
  int64_t aux_ld = 0;
  cublasLtEpilogue_t mode() const {
    if (!gelu) return bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    if (aux) return bias ? CUBLASLT_EPILOGUE_GELU_AUX_BIAS : CUBLASLT_EPILOGUE_GELU_AUX;
    return bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  }
};

// The descriptors of one GEMM, destroyed however the call ends.
struct LtDescriptors {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescriptors() {
    if (pref) lt().cublasLtMatmulPreferenceDestroy(pref);
    if (a) lt().cublasLtMatrixLayoutDestroy(a);
    if (b) lt().cublasLtMatrixLayoutDestroy(b);
    if (d) lt().cublasLtMatrixLayoutDestroy(d);
    if (desc) lt().cublasLtMatmulDescDestroy(desc);
  }
};

template <class T>
void set_attr(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attr, const T& value, const char* what) {
  check_lt(lt().cublasLtMatmulDescSetAttribute(desc, attr, &value, sizeof value), what);
}

// D (m,n; column-major, ld ldd, fp32) = alpha op(A) op(B) + beta D, then the epilogue.
// A is stored (transa ? k x m : m x k) with ld lda, B (transb ? n x k : k x n) with ld ldb.
// Returns false (and computes nothing) only when a GELU epilogue has no algorithm for
// this shape, so the caller composes it; every other failure throws.
bool gemm(bool transa, bool transb, int m, int n, int k, const void* A, int lda, const void* B, int ldb, float* D,
          int ldd, const Epilogue& epi, float beta, cudaDataType_t ab_type) {
  LtDescriptors lt_d;
  check_lt(lt().cublasLtMatmulDescCreate(&lt_d.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  const cublasOperation_t ta = transa ? CUBLAS_OP_T : CUBLAS_OP_N, tb = transb ? CUBLAS_OP_T : CUBLAS_OP_N;
  set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_TRANSA, ta, "TRANSA");
  set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_TRANSB, tb, "TRANSB");
  const cublasLtEpilogue_t mode = epi.mode();
  if (mode != CUBLASLT_EPILOGUE_DEFAULT) set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, mode, "EPILOGUE");
  if (epi.bias != nullptr) {
    set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, epi.bias, "BIAS_POINTER");
    set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F, "BIAS_DATA_TYPE");
  }
  if (epi.aux != nullptr) {
    void* aux = epi.aux;
    set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux, "EPILOGUE_AUX_POINTER");
    set_attr(lt_d.desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, epi.aux_ld, "EPILOGUE_AUX_LD");
  }
  check_lt(lt().cublasLtMatrixLayoutCreate(&lt_d.a, ab_type, transa ? k : m, transa ? m : k, lda), "layout A");
  check_lt(lt().cublasLtMatrixLayoutCreate(&lt_d.b, ab_type, transb ? n : k, transb ? k : n, ldb), "layout B");
  check_lt(lt().cublasLtMatrixLayoutCreate(&lt_d.d, CUDA_R_32F, m, n, ldd), "layout D");

  // the heuristic's choice, cached per shape, epilogue and pointer alignment (asking costs
  // more than small GEMMs; an algorithm picked for 256-byte aligned pointers may fault on
  // others); a GELU epilogue without an algorithm is cached as such
  const uint32_t align_a = alignment(A), align_b = alignment(B), align_d = alignment(D);
  const uint32_t align_e = std::min(epi.bias ? alignment(epi.bias) : 16u, epi.aux ? alignment(epi.aux) : 16u);
  using Key = std::tuple<bool, bool, int, int, int, int, int, int, int, bool, int, uint32_t, uint32_t, uint32_t,
                         uint32_t>;
  static std::map<Key, std::optional<cublasLtMatmulAlgo_t>> algos;
  const Key key{transa, transb, m,    n,       k,       lda,     ldb,    ldd,
                static_cast<int>(mode), beta != 0.0f, static_cast<int>(ab_type), align_a, align_b, align_d, align_e};
  auto it = algos.find(key);
  if (it == algos.end()) {
    check_lt(lt().cublasLtMatmulPreferenceCreate(&lt_d.pref), "cublasLtMatmulPreferenceCreate");
    const size_t ws = kWorkspaceBytes;
    check_lt(lt().cublasLtMatmulPreferenceSetAttribute(lt_d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws,
                                                       sizeof ws), "MAX_WORKSPACE_BYTES");
    const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_a},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_b},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_d},
        {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_d}};
    for (const auto& [attr, value] : aligns)
      check_lt(lt().cublasLtMatmulPreferenceSetAttribute(lt_d.pref, attr, &value, sizeof value), "MIN_ALIGNMENT");
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t st = lt().cublasLtMatmulAlgoGetHeuristic(lt_handle(), lt_d.desc, lt_d.a, lt_d.b, lt_d.d,
                                                                  lt_d.d, lt_d.pref, 1, &result, &found);
    const bool none = st == CUBLAS_STATUS_NOT_SUPPORTED || (st == CUBLAS_STATUS_SUCCESS && found == 0);
    if (none && epi.gelu) {
      algos.emplace(key, std::nullopt);
      return false;
    }
    check_lt(st, "cublasLtMatmulAlgoGetHeuristic");
    if (found == 0)
      detail::throw_error("cublasLtMatmulAlgoGetHeuristic", "no algorithm for this GEMM", __FILE__, __LINE__);
    it = algos.emplace(key, result.algo).first;
  }
  if (!it->second) return false;  // a GELU epilogue known to have no algorithm
  const float alpha = 1.0f;
  void* workspace = detail::scratch(detail::kSlotGemmWorkspace, kWorkspaceBytes);
  check_lt(lt().cublasLtMatmul(lt_handle(), lt_d.desc, &alpha, A, lt_d.a, B, lt_d.b, &beta, D, lt_d.d, D, lt_d.d,
                               &*it->second, workspace, kWorkspaceBytes, 0),
           "cublasLtMatmul");
  return true;
}

}  // namespace

void matmul_forward(float* out, float* pre, const float* inp, const float* weight, const float* bias, int N, int C,
                    int OC, Precision p, bool gelu) {
  if (N == 0 || OC == 0) return;
  if (C == 0) detail::throw_error("matmul_forward", "C = 0", __FILE__, __LINE__);
  // out^T (OC,N) = op(W stored C x OC, transposed) . (inp stored C x N)
  const bool bf = p == Precision::kBf16;
  const cudaDataType_t t = bf ? CUDA_R_16BF : CUDA_R_32F;
  const void* w = bf ? as_bf16(weight, static_cast<size_t>(OC) * C, detail::kSlotBf16Weight) : weight;
  const void* x = bf ? as_bf16(inp, static_cast<size_t>(N) * C, detail::kSlotBf16Input) : inp;
  // the GELU epilogue (bf16 only: fp32 stays exact, and cuBLASLt's GELU is an
  // approximation of its own); its auxiliary output needs a leading dimension divisible by 8
  if (gelu && bf && OC % 8 == 0) {
    Epilogue e{bias, true, pre, pre ? OC : 0};
    if (gemm(true, false, OC, N, C, w, C, x, C, out, OC, e, 0.0f, t)) return;
  }
  // the composition: GEMM (+ bias) into pre (or out), then GELU into out
  float* dst = gelu && pre != nullptr ? pre : out;
  gemm(true, false, OC, N, C, w, C, x, C, dst, OC, Epilogue{bias}, 0.0f, t);
  if (gelu) gelu_forward(out, dst, static_cast<size_t>(N) * OC);
}

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, int N, int C, int OC, Precision p) {
  if (N == 0 || OC == 0 || C == 0) return;
  const bool bf = p == Precision::kBf16;
  const cudaDataType_t t = bf ? CUDA_R_16BF : CUDA_R_32F;
  const void* dout_in = bf ? as_bf16(dout, static_cast<size_t>(N) * OC, detail::kSlotBf16Dout) : dout;
  // forward was: out = inp @ W^T + b, so dinp = dout @ W: dinp^T (C,N) = (W stored C x OC) . (dout^T stored OC x N)
  if (dinp != nullptr) {
    const void* w = bf ? as_bf16(weight, static_cast<size_t>(OC) * C, detail::kSlotBf16Weight) : weight;
    gemm(false, false, C, N, OC, w, C, dout_in, OC, dinp, C, Epilogue{}, 0.0f, t);
  }
  // dW += dout^T @ inp: dW^T (C,OC) += (inp stored C x N) . (dout stored OC x N, transposed)
  if (dweight != nullptr) {  // null: a frozen weight (LoRA's base)
    const void* x = bf ? as_bf16(inp, static_cast<size_t>(N) * C, detail::kSlotBf16Input) : inp;
    gemm(false, true, C, OC, N, x, C, dout_in, OC, dweight, C, Epilogue{}, 1.0f, t);
  }
  if (dbias != nullptr) {
    const int chunks = N < kChunks ? N : kChunks;
    const int rows_per = static_cast<int>(detail::ceil_div(N, chunks));
    auto* partial =
        static_cast<float*>(detail::scratch(detail::kSlotBias, static_cast<size_t>(chunks) * OC * sizeof(float)));
    colsum_partial_kernel<<<dim3(detail::ceil_div(OC, 256), chunks), 256>>>(partial, dout, N, OC, rows_per);
    CF_CUDA_LAUNCHED("matmul_backward (dbias partial)");
    colsum_final_kernel<<<detail::ceil_div(OC, 256), 256>>>(dbias, partial, OC, chunks);
    CF_CUDA_LAUNCHED("matmul_backward (dbias final)");
  }
}

}  // namespace chatforge::cuda
