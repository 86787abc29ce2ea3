// The preference losses' derivatives against central differences, their worked examples,
// the preference record layouts (and the bad records data prefs skips), and the model's
// token-weighted backward (the same gradients as the scalar one at equal weights).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/preference_data.h"
#include "model/gpt.h"
#include "train/preference_loss.h"

using namespace chatforge;
using train::PreferenceLossConfig;

namespace {

PreferenceLossConfig cfg(const std::string& loss, double beta, double ls = 0) {
  PreferenceLossConfig c;
  c.loss = loss;
  c.beta = beta;
  c.label_smoothing = ls;
  c.desirable_weight = 1.0;
  c.undesirable_weight = 1.5;
  return c;
}

}  // namespace

TEST(PrefLoss, DpoWorkedExample) {
  // preference_loss.h's worked example: pc=-1, pr=-2, rc=-1, rr=-1 gives d = 1
  const auto l = train::dpo_pair_loss({-1, -2, -1, -1, 1, 1}, cfg("sigmoid", 0.1));
  EXPECT_NEAR(l.loss, std::log1p(std::exp(-0.1)), 1e-12);  // -logsig(0.1) = 0.6444
  EXPECT_NEAR(l.dpc, -0.1 / (1 + std::exp(0.1)), 1e-12);   // -beta sig(-beta d)
  EXPECT_NEAR(l.dpr, -l.dpc, 1e-15);
  EXPECT_NEAR(l.chosen_reward, 0.0, 1e-15);
  EXPECT_NEAR(l.rejected_reward, -0.1, 1e-15);
}

TEST(PrefLoss, DerivativesMatchCentralDifferences) {
  const double h = 1e-6;
  for (const auto& c : {cfg("sigmoid", 0.3), cfg("sigmoid", 0.5, 0.2), cfg("ipo", 0.4)}) {
    const train::PairLogps x{-7.5, -9.0, -8.0, -8.25, 5, 7};
    const auto l = train::dpo_pair_loss(x, c);
    auto at = [&](double dpc, double dpr) {
      train::PairLogps y = x;
      y.pc += dpc;
      y.pr += dpr;
      return train::dpo_pair_loss(y, c).loss;
    };
    EXPECT_NEAR(l.dpc, (at(h, 0) - at(-h, 0)) / (2 * h), 1e-7) << c.loss;
    EXPECT_NEAR(l.dpr, (at(0, h) - at(0, -h)) / (2 * h), 1e-7) << c.loss;
  }
  for (bool good : {true, false}) {
    const auto c = cfg("kto", 0.7);
    const double z = 0.3;
    const train::KtoLogps x{-4.0, -4.6, good};
    const auto l = train::kto_example_loss(x, z, c);
    auto at = [&](double dp) { return train::kto_example_loss({x.p + dp, x.r, good}, z, c).loss; };
    EXPECT_NEAR(l.dp, (at(h) - at(-h)) / (2 * h), 1e-7) << good;
    EXPECT_GT(good ? -l.dp : l.dp, 0);  // liked answers are pushed up, disliked down
  }
  EXPECT_DOUBLE_EQ(train::kto_kl({-1, -2}, {-1.5, -2.5}), 0.5);
  EXPECT_DOUBLE_EQ(train::kto_kl({-1, -2}, {-0.5, -1.5}), 0.0);  // clamped at 0
  EXPECT_DOUBLE_EQ(train::kto_kl({}, {}), 0.0);
}

TEST(PrefLoss, BadConfigIsAUsageError) {
  EXPECT_THROW(train::check_preference_config("dpo", cfg("kto", 0.1)), UsageError);
  EXPECT_THROW(train::check_preference_config("dpo", cfg("sigmoid", 0)), UsageError);
  EXPECT_THROW(train::check_preference_config("dpo", cfg("sigmoid", 0.1, 0.5)), UsageError);
  EXPECT_NO_THROW(train::check_preference_config("kto", cfg("", 0.1)));
}

TEST(PrefData, RecordLayouts) {
  using nlohmann::json;
  // the feedback export: a message-list prompt, string answers
  auto r = data::preference_record_from_json(json::parse(
      R"({"prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
          "chosen": "hello", "rejected": "go away"})"));
  ASSERT_TRUE(r.paired);
  ASSERT_EQ(r.prompt.size(), 2u);
  EXPECT_EQ(r.chosen.at(0).role, "assistant");
  EXPECT_EQ(r.rejected.at(0).content, "go away");
  // TRL's implicit prompt: whole conversations, the common prefix is the prompt
  r = data::preference_record_from_json(json::parse(
      R"({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
          "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]})"));
  ASSERT_EQ(r.prompt.size(), 1u);
  EXPECT_EQ(r.prompt[0].content, "q");
  EXPECT_EQ(r.chosen.at(0).content, "a");
  // unpaired (KTO)
  r = data::preference_record_from_json(json::parse(R"({"prompt": "q", "completion": "a", "label": false})"));
  EXPECT_FALSE(r.paired);
  EXPECT_FALSE(r.label);
  // bad records: one reason each
  auto reason = [](const char* text) {
    try {
      data::preference_record_from_json(json::parse(text));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(reason(R"({"prompt": "q", "chosen": "a"})"), "missing field 'rejected'");
  EXPECT_EQ(reason(R"({"prompt": "q", "chosen": "a", "rejected": "a"})"), "chosen and rejected are identical");
  EXPECT_EQ(reason(R"({"prompt": "q", "completion": "a"})"), "missing or non-boolean field 'label'");
  EXPECT_EQ(reason(R"({"prompt": "", "chosen": "a", "rejected": "b"})"), "field 'prompt' is empty");
  EXPECT_EQ(reason(R"({"prompt": "q", "chosen": [{"role": "user", "content": "a"}], "rejected": "b"})"),
            "field 'chosen' has no assistant turn");
  EXPECT_EQ(reason(R"({"text": "x"})"), "missing fields: need 'chosen' and 'rejected', or 'completion' and 'label'");
}

TEST(PrefStep, TokenWeightedBackwardEqualsScalarAtEqualWeights) {
  model::GptConfig c;
  c.n_layer = 1, c.n_head = 2, c.n_embd = 16, c.vocab_size = 40, c.n_ctx = 16;
  model::Gpt a(c), b(c);
  a.init_weights(3);
  b.init_weights(3);
  const int B = 2, T = 8;
  std::vector<int32_t> inp(B * T), tgt(B * T);
  std::vector<uint8_t> mask(B * T);
  for (int i = 0; i < B * T; ++i) {
    inp[i] = (i * 7) % 40;
    tgt[i] = (i * 11 + 3) % 40;
    mask[i] = i % 3 != 0;
  }
  a.zero_grad();
  b.zero_grad();
  const double sa = a.forward_loss(inp.data(), tgt.data(), mask.data(), B, T);
  a.backward(0.25f);
  b.forward_loss(inp.data(), tgt.data(), mask.data(), B, T);
  const std::vector<float> tl = b.token_losses();
  double s = 0;
  for (float x : tl) s += x;
  EXPECT_NEAR(s, sa, 1e-4 * std::fabs(sa));
  for (int i = 0; i < B * T; ++i) {
    if (!mask[i]) {
      EXPECT_EQ(tl[i], 0.0f);
    }
  }
  b.backward(std::vector<float>(B * T, 0.25f));
  for (size_t i = 0; i < a.grads().size(); ++i) ASSERT_EQ(a.grads().data()[i], b.grads().data()[i]) << i;
}
