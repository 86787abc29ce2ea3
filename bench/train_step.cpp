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
#include "train/train_step.h"

namespace {
// n ids uniform in [0, vocab) from a seed
std::vector<int32_t> testing_ids(size_t n, int vocab, uint64_t seed) {
  chatforge::Rng rng(seed);
  std::vector<int32_t> ids(n);
  for (auto& x : ids) x = static_cast<int32_t>(rng.below(vocab));
  return ids;
}
}  // namespace

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
  train::TrainStep step(gpt, opt);  // the trainer's own step
  train::Batch batch;
  batch.B = B, batch.T = T;
  batch.inputs = testing_ids(B * T, cfg.vocab_size, 2);
  batch.targets = testing_ids(B * T, cfg.vocab_size, 3);
  batch.mask.assign(static_cast<size_t>(B) * T, 1);
  std::vector<double> times;
  double phase[2] = {};  // mean over the timed steps: zero_grad + forward + backward, norm + optimizer
  float loss = 0;
  for (int s = 0; s < warmup + steps; ++s) {
    Timer t;
    const train::StepStats st = step.run({&batch, 1}, 1e-4f);
    const double dt = t.seconds();
    loss = static_cast<float>(st.loss);
    if (s >= warmup) {
      times.push_back(dt);
      phase[0] += st.backward_seconds / steps;
      phase[1] += st.update_seconds / steps;
    }
  }
  std::printf("phases (mean s): zero_grad+forward+backward %.4f norm+optimizer %.4f\n", phase[0], phase[1]);
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
