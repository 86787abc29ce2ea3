// Implementation of backend.h's factory: the CPU backend, or the CUDA one when built.
#include "ops/backend.h"

#include <cstdio>

#include "core/error.h"
#include "ops/cpu/gemm.h"

namespace chatforge::ops {

#ifdef CHATFORGE_HAS_CUDA
// ops/cuda/cuda_backend.cc
std::shared_ptr<Backend> make_cuda_backend(bool bf16);
#endif

std::shared_ptr<Backend> make_backend(const Device& device) {
  if (!device.cuda && device.bf16) {
    static const bool warned = [] {
      if (!gemm_bf16_native())
        std::fprintf(stderr, "warning: --dtype bf16: this CPU lacks AVX512-BF16 (or CHATFORGE_BF16=emulate): GEMM "
                     "inputs are rounded to bf16 but computed at fp32 speed (emulated)\n");
      return true;
    }();
    (void)warned;
    return std::shared_ptr<Backend>(&cpu_backend_bf16(), [](Backend*) {});  // not owned
  }
  if (!device.cuda) return std::shared_ptr<Backend>(&cpu_backend(), [](Backend*) {});  // not owned
#ifdef CHATFORGE_HAS_CUDA
  return make_cuda_backend(device.bf16);
#else
  fail("--device cuda: this chatforge was built without the CUDA backend (see docs/cuda.md)");
#endif
}

}  // namespace chatforge::ops
