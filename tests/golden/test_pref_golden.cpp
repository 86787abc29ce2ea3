// Preference losses against PyTorch: scripts/make_pref_golden.py writes a tiny GPT-2 policy
// and a different reference, N examples of two sequences each, and for DPO (sigmoid with
// label smoothing), IPO and KTO the loss, every policy gradient and 10 AdamW steps' losses,
// from plain-torch definitions of the losses. chatforge computes them with its
// PreferenceObjective over packed rows (both sequences of an example in one row, attention
// and positions per sequence) and its own TrainStep. With LoRA (DPO): the reference is the
// same model with its adapters detached, and the adapters' gradients and steps must match.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/safetensors.h"
#include "golden_config.h"
#include "model/checkpoint.h"
#include "model/gpt.h"
#include "model/lora.h"
#include "train/adamw.h"
#include "train/preference_step.h"
#include "train/train_step.h"
#include "test_util.h"

using namespace chatforge;

namespace {

std::string pref_fixture_path() { return std::string(CF_SOURCE_DIR) + "/tests/golden/gpt2_pref.safetensors"; }

struct PrefFixture {
  SafeTensorsReader r{pref_fixture_path()};
  model::GptConfig cfg;
  int N = 0, L = 0;
  PrefFixture() {
    auto meta = [&](const char* k) { return std::stoi(r.metadata().at(k)); };
    cfg = chatforge::testing::golden_config(r, pref_fixture_path());
    N = meta("N");
    L = meta("L");
  }
  std::string meta(const std::string& k) const { return r.metadata().at(k); }
  template <class T_>
  const T_* raw(const std::string& name) const { return reinterpret_cast<const T_*>(r.get(name).data); }
  train::PreferenceLossConfig config(const std::string& v) const {
    train::PreferenceLossConfig c;
    c.loss = meta(v + ".loss");
    c.beta = std::stod(meta(v + ".beta"));
    if (r.metadata().count(v + ".label_smoothing")) c.label_smoothing = std::stod(meta(v + ".label_smoothing"));
    if (r.metadata().count(v + ".desirable_weight")) {
      c.desirable_weight = std::stod(meta(v + ".desirable_weight"));
      c.undesirable_weight = std::stod(meta(v + ".undesirable_weight"));
    }
    return c;
  }
  // Row i: sequence a (inputs x[0..L-1], targets x[1..L]) then sequence b, as `data prefs`
  // lays out an example (KTO: mask 2 on an undesirable answer).
  train::Batch batch(bool kto) const {
    train::Batch b;
    b.B = N;
    b.T = 2 * L;
    const size_t n = static_cast<size_t>(N) * 2 * L;
    b.inputs.resize(n), b.targets.resize(n), b.mask.resize(n), b.doc.resize(n), b.pos.resize(n);
    const int32_t* sa = raw<int32_t>("seq_a");
    const int32_t* sb = raw<int32_t>("seq_b");
    const uint8_t* ma = raw<uint8_t>("mask_a");
    const uint8_t* mb = raw<uint8_t>("mask_b");
    const uint8_t* good = raw<uint8_t>("desirable");
    for (int i = 0; i < N; ++i)
      for (int d = 0; d < 2; ++d)
        for (int t = 0; t < L; ++t) {
          const size_t k = static_cast<size_t>(i) * 2 * L + d * L + t;
          const int32_t* s = (d == 0 ? sa : sb) + static_cast<size_t>(i) * (L + 1);
          const uint8_t m = (d == 0 ? ma : mb)[static_cast<size_t>(i) * L + t];
          b.inputs[k] = s[t];
          b.targets[k] = s[t + 1];
          b.mask[k] = kto && d == 0 && good[i] == 0 && m != 0 ? 2 : m;
          b.doc[k] = d;
          b.pos[k] = t;
        }
    return b;
  }
};

class PrefGolden : public ::testing::TestWithParam<const char*> {};

}  // namespace

TEST_P(PrefGolden, LossAndEveryGradientMatchPyTorch) {
  const std::string v = GetParam();
  PrefFixture f;
  model::Gpt gpt(f.cfg), ref(f.cfg);
  model::load_weights(gpt, pref_fixture_path(), "param.");
  model::load_weights(ref, pref_fixture_path(), "ref.");
  const std::string stage = v == "kto" ? "kto" : "dpo";
  train::PreferenceObjective obj(stage, f.config(v), &ref);
  const train::Batch b = f.batch(stage == "kto");
  gpt.zero_grad();
  const double loss = obj.forward_backward(gpt, b, 1.0f / f.N) / f.N;
  const float want_loss = f.raw<float>(v + ".loss")[0];
  std::printf("%s loss: chatforge %.7f torch %.7f\n", v.c_str(), loss, want_loss);
  EXPECT_NEAR(loss, want_loss, 2e-5);
  int checked = 0;
  double worst = 0;
  for (const auto& t : model::param_slices(f.cfg, gpt.layout())) {
    std::vector<float> got(t.rows * t.cols), want(t.rows * t.cols);
    model::export_hf(t, gpt.grads().data(), got.data());
    f.r.read_f32(v + ".grad." + t.hf_name, t.hf_shape, want.data());
    double abs_err = 0;
    const double rel = chatforge::testing::max_rel_error(got.data(), want.data(), got.size(), &abs_err);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-4) << t.hf_name << " abs " << abs_err;
    ++checked;
  }
  std::printf("%s gradients: %d tensors, worst relative error %.3g\n", v.c_str(), checked, worst);
  EXPECT_EQ(checked, 2 + 12 * f.cfg.n_layer + 2);
}

TEST_P(PrefGolden, TenAdamWStepsMatchPyTorch) {
  const std::string v = GetParam();
  PrefFixture f;
  model::Gpt gpt(f.cfg), ref(f.cfg);
  model::load_weights(gpt, pref_fixture_path(), "param.");
  model::load_weights(ref, pref_fixture_path(), "ref.");
  const std::string stage = v == "kto" ? "kto" : "dpo";
  train::PreferenceObjective obj(stage, f.config(v), &ref);
  train::AdamWConfig oc;
  oc.beta1 = std::stof(f.meta("beta1"));
  oc.beta2 = std::stof(f.meta("beta2"));
  oc.eps = std::stof(f.meta("eps"));
  oc.weight_decay = std::stof(f.meta("weight_decay"));
  oc.grad_clip = std::stof(f.meta("grad_clip"));
  train::AdamW opt(gpt, oc);
  train::TrainStep step(gpt, opt);
  step.set_objective(&obj);
  const train::Batch b = f.batch(stage == "kto");
  const int steps = std::stoi(f.meta("steps"));
  const float* want = f.raw<float>(v + ".curve");
  for (int s = 0; s < steps; ++s) {
    const train::StepStats st = step.run({&b, 1}, std::stof(f.meta("lr")));
    ASSERT_TRUE(st.applied);
    std::printf("%s step %d: loss chatforge %.7f torch %.7f\n", v.c_str(), s, st.loss, want[s]);
    EXPECT_NEAR(st.loss, want[s], 2e-5 + 1e-4 * std::fabs(want[s])) << "step " << s;
  }
}

INSTANTIATE_TEST_SUITE_P(Losses, PrefGolden, ::testing::Values("dpo", "ipo", "kto"));

namespace {

// The fixture's base, frozen, with its LoRA adapters attached.
void load_lora(const PrefFixture& f, model::Gpt& gpt, model::Lora& lora) {
  model::load_weights(gpt, pref_fixture_path(), "param.");
  gpt.freeze_base();
  for (const auto& t : lora.tensors())
    f.r.read_f32("lora." + t.name, {t.shape[0], t.shape[1]}, lora.params().data() + t.offset);
  lora.push_params();
  gpt.set_lora(&lora);
}

model::LoraConfig lora_config(const PrefFixture& f) {
  model::LoraConfig lc;
  lc.rank = std::stoi(f.meta("lora_r"));
  lc.alpha = std::stof(f.meta("lora_alpha"));
  lc.dropout = 0;
  lc.targets = model::split_targets(f.meta("lora_targets"));
  return lc;
}

}  // namespace

TEST(PrefGoldenLora, DpoLossAndAdapterGradientsMatchPyTorchWithTheBaseAsReference) {
  PrefFixture f;
  model::Gpt gpt(f.cfg);
  model::Lora lora(f.cfg, lora_config(f));
  load_lora(f, gpt, lora);
  train::PreferenceObjective obj("dpo", f.config("dpo"), nullptr);  // reference: adapters off
  const train::Batch b = f.batch(false);
  lora.zero_grad();
  const double loss = obj.forward_backward(gpt, b, 1.0f / f.N) / f.N;
  const float want_loss = f.raw<float>("lora_dpo.loss")[0];
  std::printf("lora dpo loss: chatforge %.7f torch %.7f\n", loss, want_loss);
  EXPECT_NEAR(loss, want_loss, 2e-5);
  EXPECT_EQ(gpt.lora(), &lora) << "the adapters are attached again after the reference pass";
  int checked = 0;
  double worst = 0;
  for (const auto& t : lora.tensors()) {
    std::vector<float> got(lora.grads().data() + t.offset, lora.grads().data() + t.offset + t.numel()), want(t.numel());
    f.r.read_f32("lora_dpo.grad." + t.name, {t.shape[0], t.shape[1]}, want.data());
    double abs_err = 0;
    const double rel = chatforge::testing::max_rel_error(got.data(), want.data(), got.size(), &abs_err);
    worst = std::max(worst, rel);
    EXPECT_LT(rel, 1e-4) << t.name << " abs " << abs_err;
    ++checked;
  }
  std::printf("lora dpo: %d adapter gradients, worst relative error %.3g\n", checked, worst);
  EXPECT_EQ(checked, 8 * f.cfg.n_layer);
  EXPECT_EQ(gpt.grads().size(), 0u) << "no base gradients, no reference copy";
}

TEST(PrefGoldenLora, TenAdamWStepsOverTheAdaptersMatchPyTorch) {
  PrefFixture f;
  model::Gpt gpt(f.cfg);
  model::Lora lora(f.cfg, lora_config(f));
  load_lora(f, gpt, lora);
  train::PreferenceObjective obj("dpo", f.config("dpo"), nullptr);
  train::AdamWConfig oc;
  oc.beta1 = std::stof(f.meta("beta1"));
  oc.beta2 = std::stof(f.meta("beta2"));
  oc.eps = std::stof(f.meta("eps"));
  oc.weight_decay = std::stof(f.meta("weight_decay"));
  oc.grad_clip = std::stof(f.meta("grad_clip"));
  train::AdamW opt(lora, oc);
  train::TrainStep step(gpt, opt);
  step.set_objective(&obj);
  const train::Batch b = f.batch(false);
  const float* want = f.raw<float>("lora_dpo.curve");
  for (int s = 0; s < std::stoi(f.meta("steps")); ++s) {
    const train::StepStats st = step.run({&b, 1}, std::stof(f.meta("lr")));
    ASSERT_TRUE(st.applied);
    std::printf("lora dpo step %d: loss chatforge %.7f torch %.7f\n", s, st.loss, want[s]);
    EXPECT_NEAR(st.loss, want[s], 2e-5 + 1e-4 * std::fabs(want[s])) << "step " << s;
  }
}
