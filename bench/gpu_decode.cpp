// GPU decode benchmark: greedy decoding with the KV cache (model/gpt_cached.h on the CUDA
// backend, the code the CPU runs) at several batch sizes; prints tokens/s (all sequences together) per batch size and a RESULT line each.
// Usage: bench_gpu_decode [L NH C V n_ctx] [--batches 1,32] [--tokens 256] [--dtype fp32|bf16]
// Exits 77 when this build has no CUDA backend or the machine no GPU.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/timer.h"
#include "model/gpt.h"
#include "model/gpt_cached.h"
#include "ops/backend.h"
#ifdef CHATFORGE_HAS_CUDA
#include "ops/cuda/cuda_ops.h"
#endif

using namespace chatforge;

int main(int argc, char** argv) {
#ifndef CHATFORGE_HAS_CUDA
  std::fprintf(stderr, "bench_gpu_decode: this chatforge was built without the CUDA backend\n");
  return 77;
#else
  int dims[5] = {12, 12, 768, 50257, 1024};
  int tokens = 256, nd = 0;
  bool bf16 = false;
  std::vector<int> batches = {1, 32};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tokens" && i + 1 < argc) {
      tokens = std::atoi(argv[++i]);
    } else if (a == "--dtype" && i + 1 < argc) {
      bf16 = std::string(argv[++i]) == "bf16";
    } else if (a == "--batches" && i + 1 < argc) {
      batches.clear();
      std::stringstream ss(argv[++i]);
      for (std::string x; std::getline(ss, x, ',');) batches.push_back(std::atoi(x.c_str()));
    } else if (nd < 5) {
      dims[nd++] = std::atoi(a.c_str());
    }
  }
  if (cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_gpu_decode: no CUDA device (%s)\n", cuda::no_device_reason().c_str());
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
    model::Gpt host(cfg);
    host.init_weights(1);
    ops::Device device;
    device.cuda = true;
    device.bf16 = bf16;
    model::Gpt gpu(cfg, ops::make_backend(device));
    std::copy(host.params().data(), host.params().data() + host.params().size(), gpu.params().data());
    gpu.push_params();
    if (tokens >= cfg.n_ctx) tokens = cfg.n_ctx - 5;
    const int Vp = cfg.padded_vocab_size();
    for (int nseq : batches) {
      model::KvCache cache(cfg, nseq, cfg.n_ctx, gpu.backend());
      model::InferScratch scratch;
      std::vector<int32_t> cur(nseq);
      std::vector<float> logits(static_cast<size_t>(nseq) * Vp);
      auto step = [&] {  // one token for every sequence, greedy
        std::vector<model::InferSequence> seqs;
        for (int s = 0; s < nseq; ++s) seqs.push_back({s, &cur[s], 1});
        model::infer_forward(gpu, cache, seqs, logits.data(), scratch);
        for (int s = 0; s < nseq; ++s) {
          const float* row = logits.data() + static_cast<size_t>(s) * Vp;
          cur[s] = static_cast<int32_t>(std::max_element(row, row + cfg.vocab_size) - row);
        }
      };
      for (int s = 0; s < nseq; ++s) cur[s] = (s * 101 + 7) % cfg.vocab_size;
      for (int i = 0; i < 4; ++i) step();  // warm-up
      for (int s = 0; s < nseq; ++s) cache.clear(s);
      gpu.backend().synchronize();
      Timer t;
      for (int i = 0; i < tokens; ++i) step();
      const double dt = t.seconds();
      const double tok_s = static_cast<double>(tokens) * nseq / dt;
      std::printf("decode on %s (%s): batch %d, %d steps, %.2f ms/step, %.0f tok/s\n", cuda::device_name(0).c_str(),
                  bf16 ? "bf16" : "fp32", nseq, tokens, dt * 1e3 / tokens, tok_s);
      std::printf("RESULT decode_batch=%d tok_s=%.1f ms_per_step=%.3f\n", nseq, tok_s, dt * 1e3 / tokens);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
#endif
}
