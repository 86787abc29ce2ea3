// Times chatforge's full training step (forward + backward + AdamW, fp32) on random data
// for one model shape. Prints the median step time, tokens/s, FLOPs per token, the peak
// resident memory (getrusage) and what it should be made of (parameters + gradients +
// AdamW moments, and the activation arena), so scripts/bench/train-step.sh can put it
// next to PyTorch and the sgemm peak.
// Usage: bench_train_step L NH C V B T [steps=5] [warmup=1] [recompute=0] [architecture flags]
// (recompute: 0 none, 1 or all, mlp -- Gpt::set_recompute, the training flag --recompute[=mlp]). The architecture flags
// are `chatforge train`'s, anywhere on the line: --arch gpt2|llama|mistral|qwen2|qwen3,
// --n-kv-head N, --head-dim N, --ffn-dim N, --rope-theta X, --untied-head; the model is
// model::new_model_config's (GPT-2 when none is given, so the positional usage is unchanged).
// --plan: print the model and what its parameters, gradients and AdamW moments take
// ("PLAN params=N state_mb=M"), allocate nothing and exit (the script's memory check).
// --lora R: train LoRA adapters of rank R (alpha 2R, dropout 0.05, every projection) over the
// frozen model instead (no base gradients or moments, the loss over blocks of rows as
// `chatforge train --lora-rank` runs it: scripts/bench/lora.sh). --base-dtype f32|bf16|int8
// (with --lora): the frozen base held in that format, as `train --base-dtype`.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/timer.h"
#include "model/config.h"
#include "model/gpt.h"
#include "model/lora.h"
#include "ops/backend.h"
#include "ops/cpu/gemm.h"
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

constexpr const char* kUsage =
    "usage: bench_train_step L NH C V B T [steps] [warmup] [recompute] [--arch A] [--n-kv-head N] [--head-dim N] "
    "[--ffn-dim N] [--rope-theta X] [--untied-head] [--lora R] [--base-dtype F] [--bf16] [--plan]\n";

bool g_bf16 = false;  // --bf16: the CPU's bf16 backend (train --dtype bf16)
chatforge::ops::WeightFormat g_base = chatforge::ops::WeightFormat::kF32;  // --base-dtype

// Splits argv into the positional numbers and the architecture flags. false: a flag is
// unknown or lacks its value (the caller prints the usage).
bool parse_args(int argc, char** argv, std::vector<const char*>& pos, chatforge::model::ArchOptions& arch,
                bool& plan, int& lora_rank) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--", 0) != 0) {
      pos.push_back(argv[i]);
      continue;
    }
    if (a == "--untied-head" || a == "--plan" || a == "--bf16") {
      (a == "--plan" ? plan : a == "--bf16" ? g_bf16 : arch.untied_head) = true;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    if (a == "--arch")
      arch.arch = v;
    else if (a == "--n-kv-head")
      arch.n_kv_head = std::atoi(v);
    else if (a == "--head-dim")
      arch.head_dim = std::atoi(v);
    else if (a == "--ffn-dim")
      arch.ffn_dim = std::atoi(v);
    else if (a == "--rope-theta")
      arch.rope_theta = std::atof(v);
    else if (a == "--lora")
      lora_rank = std::atoi(v);
    else if (a == "--base-dtype" && chatforge::ops::parse_weight_format(v, &g_base))
      continue;
    else
      return false;
  }
  return pos.size() >= 6 && pos.size() <= 9;
}
}  // namespace

int main(int argc, char** argv) try {
  using namespace chatforge;
  std::vector<const char*> pos;
  model::ArchOptions arch;
  bool plan = false;
  int lora_rank = 0;
  if (!parse_args(argc, argv, pos, arch, plan, lora_rank)) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }
  model::GptConfig sizes;
  sizes.n_layer = std::atoi(pos[0]);
  sizes.n_head = std::atoi(pos[1]);
  sizes.n_embd = std::atoi(pos[2]);
  sizes.vocab_size = std::atoi(pos[3]);
  const int B = std::atoi(pos[4]), T = std::atoi(pos[5]);
  const int steps = pos.size() > 6 ? std::atoi(pos[6]) : 5;
  const int warmup = pos.size() > 7 ? std::atoi(pos[7]) : 1;
  sizes.n_ctx = std::max(T, 1024);
  const model::GptConfig cfg = model::new_model_config(sizes, arch);  // `chatforge train --arch ...`'s model
  std::printf("model: %s, %d layers, %d heads / %d kv heads, head size %d, C=%d, MLP %d, vocab %d, %s head, %zu parameters\n",
              cfg.model_type.c_str(), cfg.n_layer, cfg.n_head, cfg.kv_heads(), cfg.head_size(), cfg.n_embd, cfg.ffn(),
              cfg.vocab_size, cfg.tie_embeddings ? "tied" : "untied", cfg.num_parameters());
  const double mb = 1024.0 * 1024.0;
  if (plan) {  // 4 arrays of fp32: parameters, gradients, AdamW m and v (padding rows not counted)
    std::printf("PLAN params=%zu state_mb=%.0f\n", cfg.num_parameters(), 16.0 * cfg.num_parameters() / mb);
    return 0;
  }
  if (g_base != ops::WeightFormat::kF32 && lora_rank == 0) {
    std::fprintf(stderr, "--base-dtype needs --lora (a reduced base is a frozen one)\n");
    return 2;
  }
  model::Gpt gpt(cfg, g_bf16 ? std::shared_ptr<ops::Backend>(&ops::cpu_backend_bf16(), [](ops::Backend*) {})
                             : std::shared_ptr<ops::Backend>(), g_base);
  gpt.init_weights(1);
  if (g_bf16) std::printf("bf16 GEMMs (%s)\n", ops::bf16_kernel_name(ops::gemm_bf16_kernel()));
  const std::string rc = pos.size() > 8 ? pos[8] : "0";
  gpt.set_recompute(rc == "0" ? model::Recompute::kNone : rc == "1" ? model::Recompute::kAll : model::parse_recompute(rc));
  std::unique_ptr<model::Lora> lora;
  if (lora_rank > 0) {
    gpt.freeze_base();
    gpt.set_chunked_loss(true);
    model::LoraConfig lc;
    lc.rank = lora_rank;
    lc.alpha = 2.0f * lora_rank;
    lora = std::make_unique<model::Lora>(cfg, lc);
    lora->init_weights(1);
    lora->set_training(true);
    gpt.set_lora(lora.get());
    std::printf("LoRA rank %d: %zu trainable parameters (%.2f%%), frozen base in %s\n", lora_rank,
                lora->params().size(), 100.0 * lora->params().size() / cfg.num_parameters(),
                ops::weight_format_name(g_base));
  }
  train::AdamW opt = lora ? train::AdamW(*lora, train::AdamWConfig{}) : train::AdamW(gpt, train::AdamWConfig{});
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
  // params, grads, m, v (LoRA: the base, then the adapters' four arrays)
  const double state_mb = lora ? (static_cast<double>(gpt.base_bytes()) + 4.0 * lora->params().bytes()) / mb
                               : 4.0 * static_cast<double>(gpt.params().bytes()) / mb;
  std::printf(
      "RESULT step_s=%.4f tok_s=%.1f best_step_s=%.4f flops_per_token=%.6g loss=%.4f peak_rss_mb=%.0f state_mb=%.0f "
      "act_mb=%.0f\n",
      median, B * T / median, best, gpt.flops_per_token(T), loss, ru.ru_maxrss / 1024.0, state_mb,
      static_cast<double>(gpt.activation_bytes()) / mb);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 1;
}
