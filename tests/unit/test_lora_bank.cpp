// Multi-LoRA inference (model/lora_bank.h): one forward pass over sequences of different
// adapters and of the base gives each sequence the logits of its adapter merged into the
// weights (merge_adapter), prefill and decode, on every architecture; the engine generates
// the merged models' greedy tokens for mixed batches and never reuses keys/values computed
// with another adapter; bad adapter indices and bases are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "fixtures.h"
#include "infer/engine.h"
#include "model/gpt_cached.h"
#include "model/lora_bank.h"
#include "model/lora_io.h"

namespace chatforge {
namespace {


std::unique_ptr<model::Gpt> tiny_bank_model(const char* arch, uint64_t seed = 7) {
  for (const testing::TinyShape& s :
       testing::every_architecture({.heads = 4, .channels = 32, .vocab = 300, .context = 48}))
    if (std::string(s.arch) == arch) return testing::tiny_model(s, seed, 4.0f);
  throw std::logic_error("no such architecture");
}

// An adapter with random A and B (B is not zero, so it changes the model).
std::unique_ptr<model::Lora> random_adapter(const model::GptConfig& cfg, int rank, std::vector<std::string> targets,
                                            uint64_t seed) {
  model::LoraConfig lc;
  lc.rank = rank;
  lc.alpha = 2.0f * rank;
  lc.dropout = 0;
  lc.targets = std::move(targets);
  auto lora = std::make_unique<model::Lora>(cfg, lc);
  lora->init_weights(seed);
  Rng rng(seed + 1);
  for (const model::ParamTensor& t : lora->tensors())
    if (t.name.find(".lora_B.") != std::string::npos)
      for (int64_t i = 0; i < t.shape[0] * t.shape[1]; ++i)
        lora->params().data()[t.offset + i] = 0.5f * (2.0f * rng.uniform_f() - 1.0f);
  lora->push_params();
  return lora;
}

std::unique_ptr<model::Gpt> merged_copy(const model::Gpt& base, const model::Lora& lora, float scale) {
  auto m = std::make_unique<model::Gpt>(base.config());
  std::memcpy(m->params().data(), base.params().data(), base.params().bytes());
  m->push_params();
  model::merge_adapter(*m, lora, scale);
  return m;
}

// Two adapters over `base`: "a" on every projection (scale 1), "b" on a few of them
// (fused-block parts, the GELU/SwiGLU input; scale 0.5).
struct TwoAdapters {
  model::LoraBank bank;
  std::vector<std::unique_ptr<model::Gpt>> merged;  // base + a, base + b
  explicit TwoAdapters(const model::Gpt& base) : bank(base) {
    const auto& cfg = base.config();
    const std::vector<std::string> few =
        cfg.llama() ? std::vector<std::string>{"k_proj", "up_proj", "o_proj"} : std::vector<std::string>{"c_fc"};
    bank.add("a", random_adapter(cfg, 4, {}, 21), 1.0f);
    bank.add("b", random_adapter(cfg, 2, few, 33), 0.5f);
    merged.push_back(merged_copy(base, bank.adapter(0), 1.0f));
    merged.push_back(merged_copy(base, bank.adapter(1), 0.5f));
  }
};

TEST(LoraBank, MixedAdapterPassEqualsEachAdapterMergedIntoTheWeights) {
  for (const char* arch : testing::kTinyArchs) {
    SCOPED_TRACE(arch);
    auto base = tiny_bank_model(arch);
    TwoAdapters ad(*base);
    const int Vp = base->config().padded_vocab_size(), V = base->config().vocab_size;
    // slots: a, a (neighbours: one delta matmul for both), base, b
    const int adapter_of[4] = {0, 0, -1, 1};
    const std::vector<std::vector<int32_t>> prompts = {{5, 17, 250, 3}, {99, 42}, {7, 8, 9, 10, 11}, {1, 2, 3}};
    const model::InferWeights w(*base, ops::WeightFormat::kF32);
    model::KvCache cache(base->config(), 4, 48);
    model::InferScratch scratch;
    // references: each sequence alone on its merged model (or the base)
    std::vector<std::unique_ptr<model::KvCache>> ref_cache;
    std::vector<model::InferScratch> ref_scratch(4);
    auto model_of = [&](int i) -> const model::Gpt& {
      return adapter_of[i] < 0 ? *base : *ad.merged[adapter_of[i]];
    };
    for (int i = 0; i < 4; ++i) ref_cache.push_back(std::make_unique<model::KvCache>(base->config(), 1, 48));
    std::vector<std::vector<int32_t>> next = prompts;
    double worst = 0, moved = 0;
    for (int pass = 0; pass < 4; ++pass) {  // a prefill, then decode steps
      std::vector<model::InferSequence> seqs;
      for (int i = 0; i < 4; ++i)
        seqs.push_back({i, next[i].data(), static_cast<int>(next[i].size()), adapter_of[i]});
      std::vector<float> logits(4 * static_cast<size_t>(Vp));
      model::infer_forward(*base, w, cache, seqs, logits.data(), scratch, nullptr, model::CachedSchedule::kAuto,
                           &ad.bank);
      for (int i = 0; i < 4; ++i) {
        const model::InferWeights rw(model_of(i), ops::WeightFormat::kF32);
        const model::InferSequence one{0, next[i].data(), static_cast<int>(next[i].size())};
        std::vector<float> ref(Vp), plain(Vp);
        model::infer_forward(model_of(i), rw, *ref_cache[i], {&one, 1}, ref.data(), ref_scratch[i]);
        for (int v = 0; v < V; ++v) {
          const float got = logits[static_cast<size_t>(i) * Vp + v];
          ASSERT_NEAR(got, ref[v], 2e-4 * (1 + std::fabs(ref[v]))) << "pass " << pass << " seq " << i << " id " << v;
          worst = std::max(worst, static_cast<double>(std::fabs(got - ref[v])));
        }
        // the adapters matter: an adapted row's logits are far from the base's
        if (pass == 0 && adapter_of[i] >= 0) {
          model::KvCache c(base->config(), 1, 48);
          model::InferScratch s;
          model::infer_forward(*base, c, {&one, 1}, plain.data(), s);
          for (int v = 0; v < V; ++v) moved = std::max(moved, static_cast<double>(std::fabs(plain[v] - ref[v])));
        }
        next[i] = {static_cast<int32_t>((7 * pass + 13 * i + 1) % V)};
      }
    }
    EXPECT_GT(moved, 0.5) << "the adapters hardly change the model: the test could not fail";
    std::printf("%s: mixed-adapter pass within %.3g of the merged models (adapters move logits by %.3g)\n", arch,
                worst, moved);
  }
}

TEST(LoraBank, EngineBatchesAdaptersAndKeepsTheirCachesApart) {
  for (const char* arch : {"gpt2", "qwen3"}) {
    SCOPED_TRACE(arch);
    auto base = tiny_bank_model(arch, 11);
    TwoAdapters ad(*base);
    const std::vector<int32_t> prompt = {5, 17, 250, 3, 8};
    auto request = [&](int adapter) {
      infer::GenerationRequest r;
      r.prompt = prompt;
      r.sampling.temperature = 0;
      r.max_new_tokens = 8;
      r.adapter = adapter;
      return r;
    };
    auto alone = [&](const model::Gpt& m) {
      infer::Engine e(m, 1);
      return e.generate(request(-1)).tokens;
    };
    const auto want_base = alone(*base), want_a = alone(*ad.merged[0]), want_b = alone(*ad.merged[1]);
    ASSERT_NE(want_a, want_base);
    ASSERT_NE(want_b, want_base);
    infer::Engine engine(*base, 4, 0, ops::WeightFormat::kF32, &ad.bank);
    const auto out = engine.generate_batch({request(0), request(-1), request(1), request(0)});
    EXPECT_EQ(out[0].tokens, want_a);
    EXPECT_EQ(out[1].tokens, want_base);
    EXPECT_EQ(out[2].tokens, want_b);
    EXPECT_EQ(out[3].tokens, want_a);
    const infer::BatchStats st = engine.batch_stats();
    EXPECT_EQ(st.max_sequences, 4);
    EXPECT_EQ(st.mixed_steps, st.steps) << "every pass held the base and both adapters";
    // one slot: the prompt's keys/values of adapter a are not reused for b, but are for a again
    infer::Engine one(*base, 1, 0, ops::WeightFormat::kF32, &ad.bank);
    EXPECT_EQ(one.generate(request(0)).tokens, want_a);
    const infer::GenerationResult rb = one.generate(request(1));
    EXPECT_EQ(rb.cached_prompt_tokens, 0);
    EXPECT_EQ(rb.tokens, want_b);
    const infer::GenerationResult rb2 = one.generate(request(1));
    EXPECT_GT(rb2.cached_prompt_tokens, 0);
    EXPECT_EQ(rb2.tokens, want_b);
    EXPECT_EQ(one.batch_stats().mixed_steps, 0u);
  }
}

TEST(LoraBank, UnknownAdaptersAndOtherBasesAreErrors) {
  auto base = tiny_bank_model("gpt2");
  model::LoraBank bank(*base);
  bank.add("a", random_adapter(base->config(), 2, {}, 3));
  EXPECT_THROW(bank.add("a", random_adapter(base->config(), 2, {}, 4)), Error);  // the name again
  auto other = tiny_bank_model("qwen3");
  EXPECT_THROW(bank.add("q", random_adapter(other->config(), 2, {}, 5)), Error);
  EXPECT_EQ(bank.find("a"), 0);
  EXPECT_EQ(bank.find("q"), -1);
  infer::Engine engine(*base, 1, 0, ops::WeightFormat::kF32, &bank);
  infer::GenerationRequest r;
  r.prompt = {1, 2, 3};
  r.adapter = 1;
  EXPECT_THROW(engine.submit(r), Error);
  infer::Engine plain(*base, 1);
  r.adapter = 0;
  EXPECT_THROW(plain.submit(r), Error);
  // the team schedule cannot run adapters
  model::KvCache cache(base->config(), 1, 48);
  model::InferScratch s;
  const int32_t ids[2] = {4, 5};
  const model::InferSequence seq{0, ids, 2, 0};
  std::vector<float> logits(base->config().padded_vocab_size());
  const model::InferWeights w(*base, ops::WeightFormat::kF32);
  EXPECT_THROW(model::infer_forward(*base, w, cache, {&seq, 1}, logits.data(), s, nullptr, model::CachedSchedule::kTeam,
                                    &bank),
               Error);
}

}  // namespace
}  // namespace chatforge
