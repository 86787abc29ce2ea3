// The whole model on the CUDA backend against the same model on the CPU: one model
// (model/gpt.cpp, model/gpt_cached.cpp) on two backends. A training step (the loss, every
// parameter gradient, the gradient norm, the parameters after one AdamW update) with plain
// rows, with a loss mask and with packed rows (document masks and positions), in fp32
// (tight) and bf16 (loose); recomputed activations giving the same bits; two identical
// steps giving the same bits; and cached greedy decoding on the GPU equal to greedy
// decoding by full recomputation on the CPU. Skipped when no CUDA device is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "model/gpt.h"
#include "model/gpt_cached.h"
#include "model/kv_cache.h"
#include "ops/backend.h"
#include "ops/device.h"
#include "train/adamw.h"

namespace chatforge {
namespace {

// Max |got - want| / max |want| (1 when want is all zeros): the error relative to the
// tensor's scale, so small tensors (gradients of a mean loss) are held to the same bar.
double rel_diff(const float* got, const float* want, size_t n) {
  double e = 0, m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, static_cast<double>(std::fabs(want[i])));
  if (m == 0) m = 1;
  for (size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
    e = std::max(e, std::isfinite(d) ? d : INFINITY);
  }
  return e / m;
}

model::GptConfig small_config() {
  model::GptConfig cfg;
  cfg.n_layer = 2;
  cfg.n_head = 4;
  cfg.n_embd = 64;
  cfg.vocab_size = 301;  // padded to 384: the padded rows must stay zero
  cfg.n_ctx = 48;
  return cfg;
}

class CudaModel : public ::testing::Test {
 protected:
  // The CUDA backend in fp32 or bf16; skips the test when there is none.
  std::shared_ptr<ops::Backend> cuda(bool bf16) {
    try {
      ops::Device d;
      d.cuda = true;
      d.bf16 = bf16;
      ops::activate_device(d);
      return ops::make_backend(d);
    } catch (const Error& e) {
      skip_reason_ = e.what();
      return nullptr;
    }
  }
  // The same weights on the GPU.
  std::unique_ptr<model::Gpt> on_gpu(const model::Gpt& cpu, std::shared_ptr<ops::Backend> be) {
    auto gpu = std::make_unique<model::Gpt>(cpu.config(), std::move(be));
    std::memcpy(gpu->params().data(), cpu.params().data(), cpu.params().bytes());
    gpu->push_params();
    return gpu;
  }
  std::string skip_reason_;
};

#define CUDA_OR_SKIP(var, bf16)                      \
  auto var = cuda(bf16);                             \
  if (!var) GTEST_SKIP() << "no CUDA backend: " << skip_reason_;

enum class Rows { kPlain, kMasked, kPacked };

struct Batch {
  int B = 3, T = 40;
  std::vector<int32_t> inp, targets, doc, pos;
  std::vector<uint8_t> mask;
  model::RowLayout layout() const { return {doc.empty() ? nullptr : doc.data(), pos.empty() ? nullptr : pos.data()}; }
  const uint8_t* mask_ptr() const { return mask.empty() ? nullptr : mask.data(); }
  float count() const {
    if (mask.empty()) return static_cast<float>(inp.size());
    float n = 0;
    for (uint8_t m : mask) n += m;
    return n;
  }
};

Batch make_batch(const model::GptConfig& cfg, Rows kind, uint64_t seed = 9) {
  Batch b;
  Rng rng(seed);
  const int n = b.B * b.T;
  for (int i = 0; i < n; ++i) {
    b.inp.push_back(static_cast<int32_t>(rng.below(cfg.vocab_size)));
    b.targets.push_back(static_cast<int32_t>(rng.below(cfg.vocab_size)));
  }
  b.inp[5] = b.inp[6] = b.inp[70] = 7;  // a repeated token
  if (kind == Rows::kMasked) {
    for (int i = 0; i < n; ++i) b.mask.push_back(i % 5 != 0);
  }
  if (kind == Rows::kPacked) {  // row b holds documents of 13, 27 ... tokens, positions restarting
    for (int r = 0; r < b.B; ++r) {
      int id = 0, p = 0, left = 7 + 6 * r;
      for (int t = 0; t < b.T; ++t, --left) {
        if (left == 0) ++id, p = 0, left = 11 + r;
        b.doc.push_back(100 * r + id);
        b.pos.push_back(p++);
      }
    }
  }
  return b;
}

// One training step on the CPU and on the GPU from the same weights: loss, every
// gradient, the norm and the parameters after AdamW agree to the tolerances.
void training_step(model::Gpt& cpu, model::Gpt& gpu, const Batch& b, double loss_tol, double grad_tol,
                   double param_tol) {
  const float count = b.count();
  cpu.zero_grad();
  gpu.zero_grad();
  const double l_cpu = cpu.forward_loss(b.inp.data(), b.targets.data(), b.mask_ptr(), b.B, b.T, b.layout()) / count;
  const double l_gpu = gpu.forward_loss(b.inp.data(), b.targets.data(), b.mask_ptr(), b.B, b.T, b.layout()) / count;
  EXPECT_NEAR(l_gpu, l_cpu, loss_tol * std::max(1.0, std::fabs(l_cpu)));
  cpu.backward(1.0f / count);
  gpu.backward(1.0f / count);
  gpu.pull_grads();
  for (const auto& t : cpu.layout().tensors())
    EXPECT_LE(rel_diff(gpu.grads().data() + t.offset, cpu.grads().data() + t.offset, t.numel()), grad_tol)
        << "gradient of " << t.name;
  // the padded vocabulary rows of wte get no gradient
  const size_t C = cpu.config().n_embd, V = cpu.config().vocab_size, Vp = cpu.config().padded_vocab_size();
  const float* dwte = gpu.gradients().wte;
  for (size_t i = V * C; i < Vp * C; ++i) ASSERT_EQ(dwte[i], 0.0f) << "padded row of wte got a gradient";
  train::AdamWConfig hp;
  train::AdamW opt_cpu(cpu, hp), opt_gpu(gpu, hp);
  const float norm_cpu = opt_cpu.update(cpu, 1e-3f), norm_gpu = opt_gpu.update(gpu, 1e-3f);
  EXPECT_NEAR(norm_gpu, norm_cpu, grad_tol * std::max(1.0f, norm_cpu));
  gpu.pull_params();
  EXPECT_LE(rel_diff(gpu.params().data(), cpu.params().data(), cpu.params().size()), param_tol);
}

void step_test(const std::shared_ptr<ops::Backend>& be, Rows kind, bool bf16) {
  const model::GptConfig cfg = small_config();
  model::Gpt cpu(cfg);
  cpu.init_weights(42);
  model::Gpt gpu(cfg, be);
  std::memcpy(gpu.params().data(), cpu.params().data(), cpu.params().bytes());
  gpu.push_params();
  const Batch b = make_batch(cfg, kind);
  if (!bf16) {
    training_step(cpu, gpu, b, 1e-5, 1e-4, 1e-6);
  } else {
    // bf16 GEMM inputs: the loss and gradients move by bf16 rounding (8 bits of mantissa).
    // AdamW's first step is lr * sign(g): a gradient near zero may flip sign, so the
    // parameters agree only to about 2 lr there (the gradients are the real check).
    training_step(cpu, gpu, b, 2e-2, 5e-2, 2.5e-3);
  }
}

TEST_F(CudaModel, Fp32TrainingStepMatchesCpu) {
  CUDA_OR_SKIP(be, false);
  step_test(be, Rows::kPlain, false);
}
TEST_F(CudaModel, Fp32MaskedTrainingStepMatchesCpu) {
  CUDA_OR_SKIP(be, false);
  step_test(be, Rows::kMasked, false);
}
TEST_F(CudaModel, Fp32PackedRowsTrainingStepMatchesCpu) {
  CUDA_OR_SKIP(be, false);
  step_test(be, Rows::kPacked, false);
}
TEST_F(CudaModel, Bf16TrainingStepTracksCpu) {
  CUDA_OR_SKIP(be, true);
  step_test(be, Rows::kPlain, true);
}
TEST_F(CudaModel, Bf16PackedRowsTrainingStepTracksCpu) {
  CUDA_OR_SKIP(be, true);
  step_test(be, Rows::kPacked, true);
}

// The gradients of one backward pass on the GPU (packed rows: every bucketed reduction).
std::vector<float> gpu_grads(const model::Gpt& cpu, const std::shared_ptr<ops::Backend>& be, bool recompute) {
  model::Gpt gpu(cpu.config(), be);
  std::memcpy(gpu.params().data(), cpu.params().data(), cpu.params().bytes());
  gpu.push_params();
  gpu.set_recompute(recompute);
  const Batch b = make_batch(cpu.config(), Rows::kPacked);
  gpu.zero_grad();
  gpu.forward_loss(b.inp.data(), b.targets.data(), b.mask_ptr(), b.B, b.T, b.layout());
  gpu.backward(1.0f / b.count());
  gpu.pull_grads();
  return {gpu.grads().data(), gpu.grads().data() + gpu.grads().size()};
}

TEST_F(CudaModel, DeterministicAndRecomputeIsBitIdentical) {
  CUDA_OR_SKIP(be, false);
  model::Gpt cpu(small_config());
  cpu.init_weights(3);
  const std::vector<float> first = gpu_grads(cpu, be, false);
  EXPECT_EQ(gpu_grads(cpu, be, false), first) << "two identical backward passes gave different bits";
  EXPECT_EQ(gpu_grads(cpu, be, true), first) << "recomputed activations changed the gradients";
}

// Greedy decoding of two sequences at once with the KV cache on the GPU (a prefill of
// several tokens, then one token per step) gives the tokens of greedy decoding by full
// recomputation on the CPU, and logits close to the CPU's at every step.
TEST_F(CudaModel, CachedGreedyDecodeMatchesFullRecompute) {
  CUDA_OR_SKIP(be, false);
  model::GptConfig cfg = small_config();
  cfg.n_ctx = 40;
  model::Gpt cpu(cfg);
  cpu.init_weights(11);
  auto gpu = on_gpu(cpu, be);
  const int V = cfg.vocab_size, Vp = cfg.padded_vocab_size();
  std::vector<int32_t> seq[2] = {{5, 17, 200, 3, 3, 90}, {250, 1}};  // prompts of different lengths
  const size_t prompt_len[2] = {seq[0].size(), seq[1].size()};
  model::KvCache cache(cfg, 2, cfg.n_ctx, gpu->backend());
  model::InferScratch scratch;
  std::vector<float> logits(2 * static_cast<size_t>(Vp));
  auto argmax = [&](const float* row) { return static_cast<int32_t>(std::max_element(row, row + V) - row); };
  // prefill both prompts in one pass
  std::vector<model::InferSequence> seqs = {{0, seq[0].data(), static_cast<int>(seq[0].size())},
                                            {1, seq[1].data(), static_cast<int>(seq[1].size())}};
  model::infer_forward(*gpu, cache, seqs, logits.data(), scratch);
  const int steps = 20;
  for (int step = 0; step <= steps; ++step) {
    int32_t next[2];
    for (int s = 0; s < 2; ++s) {
      // the full recomputation on the CPU: forward over the whole sequence, last row
      cpu.forward(seq[s].data(), 1, static_cast<int>(seq[s].size()));
      const std::vector<float> want = cpu.logits_row(0, static_cast<int>(seq[s].size()) - 1);
      const float* got = logits.data() + static_cast<size_t>(s) * Vp;
      EXPECT_LE(rel_diff(got, want.data(), V), 1e-4) << "sequence " << s << " at length " << seq[s].size();
      next[s] = argmax(want.data());
      // the GPU's greedy choice is the CPU's (up to a tie closer than the rounding)
      const int32_t mine = argmax(got);
      ASSERT_TRUE(mine == next[s] || want[mine] >= want[next[s]] - 1e-5f)
          << "sequence " << s << " at length " << seq[s].size() << ": GPU picks " << mine << ", CPU " << next[s];
    }
    if (step == steps) break;
    for (int s = 0; s < 2; ++s) seq[s].push_back(next[s]);
    seqs = {{0, &seq[0].back(), 1}, {1, &seq[1].back(), 1}};
    model::infer_forward(*gpu, cache, seqs, logits.data(), scratch);
  }
  EXPECT_EQ(cache.length(0), static_cast<int>(prompt_len[0]) + steps);
  EXPECT_EQ(cache.length(1), static_cast<int>(prompt_len[1]) + steps);
}

// Log-probabilities of a prompt (every new row's logits) on the GPU equal the CPU's full forward.
TEST_F(CudaModel, PrefillRowLogitsMatchFullForward) {
  CUDA_OR_SKIP(be, false);
  const model::GptConfig cfg = small_config();
  model::Gpt cpu(cfg);
  cpu.init_weights(5);
  auto gpu = on_gpu(cpu, be);
  const int Vp = cfg.padded_vocab_size(), T = 33;
  std::vector<int32_t> prompt(T);
  for (int t = 0; t < T; ++t) prompt[t] = (t * 37 + 11) % cfg.vocab_size;
  model::KvCache cache(cfg, 1, cfg.n_ctx, gpu->backend());
  model::InferScratch scratch;
  std::vector<float> last(Vp), rows(static_cast<size_t>(T) * Vp);
  const model::InferSequence s{0, prompt.data(), T};
  model::infer_forward(*gpu, cache, {&s, 1}, last.data(), scratch, rows.data());
  cpu.forward(prompt.data(), 1, T);
  for (int t = 0; t < T; ++t) {
    const std::vector<float> want = cpu.logits_row(0, t);
    EXPECT_LE(rel_diff(rows.data() + static_cast<size_t>(t) * Vp, want.data(), want.size()), 1e-4) << "row " << t;
  }
}

}  // namespace
}  // namespace chatforge
