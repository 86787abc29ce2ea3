// gemm.h's bf16 GEMM: which kernel gemm_bf16 runs (AMX tiles, AVX512-BF16, or the fp32
// kernel on rounded inputs), CHATFORGE_BF16, the AMX kernel's blocking, and the call into
// gemm.cpp's loop nest (gemm_detail::run_product) with that kernel.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"
#include "ops/cpu/gemm_kernels.h"

namespace chatforge::ops {
namespace {

Bf16Kernel lower(Bf16Kernel a, Bf16Kernel b) { return static_cast<int>(a) < static_cast<int>(b) ? a : b; }

// The ceiling CHATFORGE_BF16 puts on the kernel (the best one when unset).
Bf16Kernel kernel_from_environment() {
  const char* env = std::getenv("CHATFORGE_BF16");
  if (env == nullptr || *env == '\0' || std::strcmp(env, "amx") == 0) return Bf16Kernel::kAmx;
  if (std::strcmp(env, "avx512bf16") == 0) return Bf16Kernel::kAvx512Bf16;
  if (std::strcmp(env, "emulate") == 0) return Bf16Kernel::kEmulated;
  std::fprintf(stderr, "warning: CHATFORGE_BF16=%s is not one of amx, avx512bf16, emulate; ignored\n", env);
  return Bf16Kernel::kAmx;
}

std::atomic<int> g_ceiling{-1};  // -1: CHATFORGE_BF16 not read yet

Bf16Kernel ceiling() {
  int v = g_ceiling.load(std::memory_order_relaxed);
  if (v < 0) g_ceiling.store(v = static_cast<int>(kernel_from_environment()), std::memory_order_relaxed);
  return static_cast<Bf16Kernel>(v);
}

long cache_bytes(int name, long fallback) {
  const long v = sysconf(name);
  return v > 0 ? v : fallback;
}

int round_up(int x, int m) { return (x + m - 1) / m * m; }

// KC: 1024 depths. C is read and written once per KC step, and at AMX's rate that traffic
// dominates: on a Xeon (Emerald Rapids, 2 threads, GPT-2 124M training shapes) KC = 256,
// 512, 768, 1024, 1536 reached about 0.46-0.81, 0.59-0.60, 0.82-0.90, 0.91-0.97 and
// 0.94-1.0 TFLOP/s (bench_gemm bf16, CHATFORGE_GEMM_KC; a noisy shared machine). B's 32-column
// micro-panel (512 pair rows x 128 bytes = 64 KiB) then streams from L2 like A's. MC: A's
// MC x KC bf16 block takes an eighth of L2 (256 rows at 4 MiB: measured a little faster than
// 1024). NC: B's KC x NC panel a quarter of L3 (capped, as VMs report the host's).
// CHATFORGE_GEMM_KC/MC/NC override, as for the fp32 kernels.
GemmBlocking amx_blocking() {
  const long l2 = cache_bytes(_SC_LEVEL2_CACHE_SIZE, 2 << 20);
  const long l3 = std::min(cache_bytes(_SC_LEVEL3_CACHE_SIZE, 8 << 20), 32L << 20);
  GemmBlocking b;
  b.mr = 32, b.nr = 32, b.kc = 1024;
  if (const char* v = std::getenv("CHATFORGE_GEMM_KC"); v && std::atoi(v) > 0) b.kc = std::atoi(v);
  b.mc = static_cast<int>(std::clamp(l2 / 8 / (b.kc * 2L) / 32 * 32, 32L, 4096L));
  b.nc = static_cast<int>(std::clamp(l3 / 4 / (b.kc * 2L) / 32 * 32, 32L, 8192L));
  if (const char* v = std::getenv("CHATFORGE_GEMM_MC"); v && std::atoi(v) > 0) b.mc = round_up(std::atoi(v), 32);
  if (const char* v = std::getenv("CHATFORGE_GEMM_NC"); v && std::atoi(v) > 0) b.nc = round_up(std::atoi(v), 32);
  return b;
}

GemmBlocking g_amx_blocking;
std::once_flag g_amx_blocking_once;

}  // namespace

const char* bf16_kernel_name(Bf16Kernel k) {
  switch (k) {
    case Bf16Kernel::kAmx: return "amx";
    case Bf16Kernel::kAvx512Bf16: return "avx512bf16";
    case Bf16Kernel::kEmulated: break;
  }
  return "emulated";
}

Bf16Kernel cpu_bf16_kernel() {
  if (gemm_level() != SimdLevel::kAvx512) return Bf16Kernel::kEmulated;
  if (amx_bf16_usable()) return Bf16Kernel::kAmx;
  return cpu_has_avx512_bf16() ? Bf16Kernel::kAvx512Bf16 : Bf16Kernel::kEmulated;
}

Bf16Kernel gemm_bf16_kernel() { return lower(ceiling(), cpu_bf16_kernel()); }

Bf16Kernel set_gemm_bf16_kernel(Bf16Kernel k) {
  g_ceiling.store(static_cast<int>(k), std::memory_order_relaxed);
  return gemm_bf16_kernel();
}

bool gemm_bf16_native() { return gemm_bf16_kernel() != Bf16Kernel::kEmulated; }

bool set_gemm_bf16_native(bool native) {
  return set_gemm_bf16_kernel(native ? Bf16Kernel::kAmx : Bf16Kernel::kEmulated) != Bf16Kernel::kEmulated;
}

GemmBlocking amx_blocking_in_use() {
  std::call_once(g_amx_blocking_once, [] { g_amx_blocking = amx_blocking(); });
  return g_amx_blocking;
}

void set_amx_blocking(const GemmBlocking& b) {
  amx_blocking_in_use();
  g_amx_blocking = b;
}

namespace {

// The kernel and blocking gemm_bf16 runs (gemm_bf16_kernel()).
void bf16_kernel(gemm_detail::MicroKernel& uk, GemmBlocking& bl) {
  const SimdLevel level = gemm_level();
  uk = gemm_detail::kernel_for_level(level);
  bl = blocking_in_use(level);
  switch (gemm_bf16_kernel()) {
    case Bf16Kernel::kAmx:
      uk = gemm_detail::amx_bf16_kernel();
      bl = amx_blocking_in_use();
      break;
    case Bf16Kernel::kAvx512Bf16:
      uk = gemm_detail::avx512_bf16_kernel();
      bl.kc *= 2;  // a pair slot per two depths: the same bytes of B in L1 as the fp32 kernel's KC
      break;
    case Bf16Kernel::kEmulated:
      uk.round_bf16 = true;
      break;
  }
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const float* B,
               int ldb, float beta, float* C, int ldc, const float* bias, float* gelu_out) {
  gemm_detail::MicroKernel uk{};
  GemmBlocking bl;
  bf16_kernel(uk, bl);
  gemm_detail::run_product(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, uk, bl, gelu_out);
}

void gemm_bf16_stored(bool trans_b, int M, int N, int K, float alpha, const float* A, int lda, const WeightMatrix& w,
                      float beta, float* C, int ldc, const float* bias, float* gelu_out) {
  gemm_detail::MicroKernel uk{};
  GemmBlocking bl;
  bf16_kernel(uk, bl);
  gemm_detail::run_product_stored(trans_b, M, N, K, alpha, A, lda, w, beta, C, ldc, bias, uk, bl, gelu_out);
}

}  // namespace chatforge::ops
