// GPU training-step benchmark (scripts/bench/gpu-train.sh runs it beside bench/gpu_train.py):
// forward + backward + global-norm clip + AdamW of the model on the CUDA backend (the same
// code as the CPU's) on random tokens, at the largest
// micro-batch that fits (or --batch). Prints the median step time, tokens/s and MFU against
// the device's bf16 tensor-core peak, and a RESULT line.
// Usage: bench_gpu_train [L NH C V T] [--batch B] [--steps N] [--dtype fp32|bf16]
// Exits 77 when this build has no CUDA backend or the machine no GPU.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "model/gpt.h"
#include "ops/backend.h"
#include "ops/device.h"
#include "train/adamw.h"
#ifdef CHATFORGE_HAS_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

using namespace chatforge;

int main(int argc, char** argv) {
#ifndef CHATFORGE_HAS_CUDA
  std::fprintf(stderr, "bench_gpu_train: this chatforge was built without the CUDA backend\n");
  return 77;
#else
  int dims[5] = {12, 12, 768, 50257, 1024};
  int batch = 0, steps = 20, warmup = 3, nd = 0;
  bool bf16 = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--batch" && i + 1 < argc) batch = std::atoi(argv[++i]);
    else if (a == "--steps" && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (a == "--dtype" && i + 1 < argc) bf16 = std::string(argv[++i]) == "bf16";
    else if (nd < 5) dims[nd++] = std::atoi(a.c_str());
  }
  if (cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_gpu_train: no CUDA device (%s)\n", cuda::no_device_reason().c_str());
    return 77;
  }
  try {
    cuda::set_device(0);
    model::GptConfig cfg;
    cfg.n_layer = dims[0];
    cfg.n_head = dims[1];
    cfg.n_embd = dims[2];
    cfg.vocab_size = dims[3];
    cfg.n_ctx = dims[4];
    const int T = dims[4];
    model::Gpt host(cfg);
    host.init_weights(1);
    const double peak = cuda::bf16_peak_tflops() * 1e12;
    std::vector<int> candidates = batch > 0 ? std::vector<int>{batch} : std::vector<int>{64, 32, 16, 8, 4, 2, 1};
    for (int B : candidates) {
      std::vector<double> times;
      double loss = 0;
      try {
        ops::Device device;
        device.cuda = true;
        device.bf16 = bf16;
        model::Gpt gpu(cfg, ops::make_backend(device));
        std::copy(host.params().data(), host.params().data() + host.params().size(), gpu.params().data());
        gpu.push_params();
        train::AdamWConfig hp;
        train::AdamW opt(gpu, hp);
        Rng rng(7);
        std::vector<int32_t> inp(static_cast<size_t>(B) * T), tgt(inp.size());
        for (size_t i = 0; i < inp.size(); ++i) {
          inp[i] = static_cast<int32_t>(rng.below(cfg.vocab_size));
          tgt[i] = static_cast<int32_t>(rng.below(cfg.vocab_size));
        }
        for (int s = 0; s < warmup + steps; ++s) {
          gpu.backend().synchronize();
          Timer t;
          gpu.zero_grad();
          loss = gpu.forward_loss(inp.data(), tgt.data(), nullptr, B, T) / inp.size();
          gpu.backward(1.0f / inp.size());
          opt.update(gpu, 1e-4f);
          gpu.backend().synchronize();
          if (s >= warmup) times.push_back(t.seconds());
        }
      } catch (const Error& e) {
        if (std::strstr(e.what(), "out of GPU memory") == nullptr) throw;
        std::printf("batch %d: out of memory\n", B);
        continue;
      }
      std::sort(times.begin(), times.end());
      const double dt = times[times.size() / 2];
      const double tok_s = static_cast<double>(B) * T / dt;
      const double mfu = tok_s * host.flops_per_token(T) / peak;
      std::printf("chatforge on %s (%s): batch %d, step %.1f ms, loss %.3f, %.0f tok/s, MFU %.1f%% of %.0f TFLOP/s\n",
                  cuda::device_name(0).c_str(), bf16 ? "bf16" : "fp32", B, dt * 1e3, loss, tok_s, 100 * mfu,
                  peak / 1e12);
      std::printf("RESULT impl=chatforge batch=%d tok_s=%.1f mfu=%.4f step_ms=%.2f peak_tflops=%.1f\n", B, tok_s, mfu,
                  dt * 1e3, peak / 1e12);
      return 0;
    }
    std::fprintf(stderr, "error: no batch size fits\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
#endif
}
