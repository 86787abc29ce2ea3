// Times chatforge's full training step (forward + backward + AdamW, fp32) on random data
// for one model shape. Prints the median step time, tokens/s, FLOPs per token, the peak
// resident memory (getrusage) and what it should be made of (parameters + gradients +
// AdamW moments, and the activation arena), so scripts/bench/train-step.sh can put it
// next to PyTorch and the sgemm peak.
// Usage: bench_train_step L NH C V B T [steps=5] [warmup=1] [recompute=0]
// (recompute=1: Gpt::set_recompute, the training flag --recompute)
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/rng.h"
#include "core/timer.h"
#include "model/gpt.h"
#include "train/adamw.h"

int main(int argc, char** argv) {
  using namespace chatforge;
  if (argc < 7) {
    std::fprintf(stderr, "usage: bench_train_step L NH C V B T [steps] [warmup] [recompute]\n");
    return 2;
  }
  model::GptConfig cfg;
  cfg.n_layer = std::atoi(argv[1]);
  cfg.n_head = std::atoi(argv[2]);
  cfg.n_embd = std::atoi(argv[3]);
  cfg.vocab_size = std::atoi(argv[4]);
  const int B = std::atoi(argv[5]), T = std::atoi(argv[6]);
  const int steps = argc > 7 ? std::atoi(argv[7]) : 5;
  const int warmup = argc > 8 ? std::atoi(argv[8]) : 1;
  cfg.n_ctx = std::max(T, 1024);
  model::Gpt gpt(cfg);
  gpt.init_weights(1);
  gpt.set_recompute(argc > 9 && std::atoi(argv[9]) != 0);
  train::AdamW opt(gpt, train::AdamWConfig{});
  Rng rng(2);
  std::vector<int32_t> inp(B * T), tgt(B * T);
  for (auto& x : inp) x = static_cast<int32_t>(rng.below(cfg.vocab_size));
  for (auto& x : tgt) x = static_cast<int32_t>(rng.below(cfg.vocab_size));
  std::vector<double> times;
  double phase[4] = {};  // mean over the timed steps: zero_grad, forward, backward, optimizer
  float loss = 0;
  for (int s = 0; s < warmup + steps; ++s) {
    Timer t;
    double mark[5];
    mark[0] = t.seconds();
    gpt.zero_grad();
    mark[1] = t.seconds();
    loss = static_cast<float>(gpt.forward_loss(inp.data(), tgt.data(), nullptr, B, T) / (B * T));
    mark[2] = t.seconds();
    gpt.backward(1.0f / (B * T));
    mark[3] = t.seconds();
    opt.update(gpt, 1e-4f);
    mark[4] = t.seconds();
    if (s >= warmup) {
      times.push_back(mark[4]);
      for (int i = 0; i < 4; ++i) phase[i] += (mark[i + 1] - mark[i]) / steps;
    }
  }
  std::printf("phases (mean s): zero_grad %.4f forward %.4f backward %.4f optimizer %.4f\n", phase[0], phase[1],
              phase[2], phase[3]);
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];
  const double best = times.front();  // the least disturbed step on a shared machine
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double mb = 1024.0 * 1024.0;
  const double state_mb = 4.0 * static_cast<double>(gpt.params().bytes()) / mb;  // params, grads, m, v
  std::printf(
      "RESULT step_s=%.4f tok_s=%.1f best_step_s=%.4f flops_per_token=%.6g loss=%.4f peak_rss_mb=%.0f state_mb=%.0f "
      "act_mb=%.0f\n",
      median, B * T / median, best, gpt.flops_per_token(T), loss, ru.ru_maxrss / 1024.0, state_mb,
      static_cast<double>(gpt.activation_bytes()) / mb);
  return 0;
}
