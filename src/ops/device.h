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
  std::string str() const;  // "cpu", "cuda:0 (bf16)", ...
};

// parse_device("cuda:1", "bf16") -> {cuda, 1, bf16}. Throws UsageError for a bad spelling
// and for bf16 on the CPU (which computes in fp32 only).
Device parse_device(const std::string& device, const std::string& dtype);

// True when this binary has the CUDA backend compiled in.
bool cuda_built();

// For a cuda device: picks the index (given, else local_rank modulo the device count) and
// makes it current. Throws Error "--device cuda: ..." when the backend is not built or no
// GPU is usable. Returns the index used.
int activate_device(const Device& d, int local_rank = 0);

// The MFU denominator in GFLOP/s: the measured sgemm peak on the CPU, the device's dense
// bf16 tensor-core peak on a GPU (in both dtypes, so fp32 and bf16 runs compare).
double peak_gflops(const Device& d);

// This process's rank on its node from the launcher's environment (OpenMPI, Slurm,
// MPICH/PMI); 0 when not launched as a rank.
int local_rank_from_env();

}  // namespace chatforge::ops
