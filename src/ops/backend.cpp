// Implementation of backend.h's factory: the CPU backend, or the CUDA one when built.
#include "ops/backend.h"

#include "core/error.h"

namespace chatforge::ops {

#ifdef CHATFORGE_HAS_CUDA
// ops/cuda/cuda_backend.cc
std::shared_ptr<Backend> make_cuda_backend(bool bf16);
#endif

std::shared_ptr<Backend> make_backend(const Device& device) {
  if (!device.cuda) return std::shared_ptr<Backend>(&cpu_backend(), [](Backend*) {});  // not owned
#ifdef CHATFORGE_HAS_CUDA
  return make_cuda_backend(device.bf16);
#else
  fail("--device cuda: this chatforge was built without the CUDA backend (see docs/cuda.md)");
#endif
}

}  // namespace chatforge::ops
