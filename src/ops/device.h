// Where the math runs: `--device cpu|cuda[:N]` and `--dtype fp32|bf16` parsed once, and
// the check that a CUDA device is really there (a one-line error otherwise). Built with
// or without the CUDA backend; without it, asking for cuda fails with a clear message.
#pragma once
#include <string>

namespace chatforge::ops {

struct Device {
  bool cuda = false;
  int index = -1;      // cuda:N; -1 = not given (a data-parallel rank takes its local rank)
  bool bf16 = false;   // bf16 GEMM inputs with fp32 accumulation and fp32 master weights
  std::string str() const;  // "cpu", "cpu (bf16)", "cuda:0 (bf16)", ...
};

// parse_device("cuda:1", "bf16") -> {cuda, 1, bf16}. Throws UsageError for a bad spelling.
// bf16 on the CPU: the AVX512-BF16 GEMM, or its emulation where CPUID lacks it (gemm.h).
Device parse_device(const std::string& device, const std::string& dtype);

// True when this binary has the CUDA backend compiled in.
bool cuda_built();

// For a cuda device: picks the index (given, else local_rank modulo the device count) and
// makes it current. Throws Error "--device cuda: ..." when the backend is not built or no
// GPU is usable. Returns the index used.
int activate_device(const Device& d, int local_rank = 0);

// The MFU denominator in GFLOP/s: on the CPU the measured fp32 FMA peak (the measured bf16
// dot-product peak for a bf16 run on a CPU with AVX512-BF16), on a GPU the device's dense
// bf16 tensor-core peak (in both dtypes, so fp32 and bf16 runs compare).
double peak_gflops(const Device& d);

// This process's rank on its node from the launcher's environment (OpenMPI, Slurm,
// MPICH/PMI); 0 when not launched as a rank.
int local_rank_from_env();

}  // namespace chatforge::ops
