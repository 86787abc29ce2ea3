// Implementation of device.h.
#include "ops/device.h"

#include <cstdlib>

#include "core/error.h"
#include "ops/cpu/fma_peak.h"
#include "ops/cpu/gemm.h"
#include "ops/ops.h"
#ifdef CHATFORGE_HAS_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

namespace chatforge::ops {

std::string Device::str() const {
  if (!cuda) return bf16 ? "cpu (bf16)" : "cpu";
  return (index >= 0 ? "cuda:" + std::to_string(index) : std::string("cuda")) + (bf16 ? " (bf16)" : " (fp32)");
}

Device parse_device(const std::string& device, const std::string& dtype) {
  Device d;
  if (device == "cpu") {
    d.cuda = false;
  } else if (device == "cuda") {
    d.cuda = true;
  } else if (device.rfind("cuda:", 0) == 0) {
    const std::string n = device.substr(5);
    char* end = nullptr;
    const long v = n.empty() ? -1 : std::strtol(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || v < 0 || v > 1024)
      usage_fail("--device {}: expected cpu, cuda or cuda:N with N a device index", device);
    d.cuda = true;
    d.index = static_cast<int>(v);
  } else {
    usage_fail("--device {}: expected cpu, cuda or cuda:N", device);
  }
  if (dtype == "bf16") {
    d.bf16 = true;
  } else if (dtype != "fp32") {
    usage_fail("--dtype {}: expected fp32 or bf16", dtype);
  }
  return d;
}

bool cuda_built() {
#ifdef CHATFORGE_HAS_CUDA
  return true;
#else
  return false;
#endif
}

double peak_gflops(const Device& d) {
  if (!d.cuda && d.bf16 && gemm_bf16_kernel() == Bf16Kernel::kAmx) return measure_amx_bf16_peak_gflops();
  if (!d.cuda && d.bf16 && gemm_bf16_native()) return measure_bf16_peak_gflops();
  if (!d.cuda) return measure_fma_peak().gflops;
#ifdef CHATFORGE_HAS_CUDA
  return cuda::bf16_peak_tflops() * 1e3;
#else
  fail("--device cuda: this chatforge was built without the CUDA backend");
#endif
}

int local_rank_from_env() {
  for (const char* var : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return 0;
}

int activate_device(const Device& d, int local_rank) {
  CF_ASSERT(d.cuda);
#ifdef CHATFORGE_HAS_CUDA
  const int n = cuda::device_count();
  CF_CHECK(n > 0, "--device cuda: no usable CUDA GPU on this machine ({})", cuda::no_device_reason());
  const int index = d.index >= 0 ? d.index : local_rank % n;
  cuda::set_device(index);
  return index;
#else
  (void)local_rank;
  fail("--device cuda: this chatforge was built without the CUDA backend (configure where nvcc is installed, "
       "with -DCHATFORGE_CUDA=ON; see docs/cuda.md)");
#endif
}

}  // namespace chatforge::ops
