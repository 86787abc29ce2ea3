// Golden test against PyTorch: a fixture written by scripts/make_golden.py holds a tiny
// model's weights, inputs, logits, loss, every gradient and 10 AdamW steps. chatforge
// must reproduce all of it. The model is GPT-2, or (metadata "hf_config": the model's
// config.json) a Llama-family model: Llama with llama3 rope scaling and grouped-query
// attention, Qwen2 with q/k/v biases and multi-query attention, Qwen3 with per-head q/k
// norms and a head size other than hidden/heads. CF_GOLDEN_FIXTURE overrides the committed
// GPT-2 fixture (script.golden_live regenerates it with other seeds and packed rows: several
// documents per row with per-document positions and block-diagonal causal attention;
// script.golden_llama runs the Llama-family fixtures).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "golden_config.h"
#include "model/checkpoint.h"
#include "model/gpt.h"
#include "train/adamw.h"
#include "train/train_step.h"

using namespace chatforge;

namespace {

std::string golden_fixture_path() {
  if (const char* p = std::getenv("CF_GOLDEN_FIXTURE")) return p;
  return std::string(CF_SOURCE_DIR) + "/tests/golden/gpt2_tiny.safetensors";
}

struct GoldenFixture {
  SafeTensorsReader r{golden_fixture_path()};
  model::GptConfig cfg;
  int B = 0, T = 0;
  std::vector<int32_t> inputs, targets;
  std::vector<uint8_t> mask;
  std::vector<int32_t> doc, pos;  // packed fixtures (make_golden.py --packed) only
  GoldenFixture() {
    auto meta = [&](const char* k) { return std::stoi(r.metadata().at(k)); };
    cfg = chatforge::testing::golden_config(r, golden_fixture_path());
    B = meta("B");
    T = meta("T");
    inputs.resize(B * T);
    targets.resize(B * T);
    mask.resize(B * T);
    std::memcpy(inputs.data(), r.get("inputs").data, B * T * 4);
    std::memcpy(targets.data(), r.get("targets").data, B * T * 4);
    std::memcpy(mask.data(), r.get("mask").data, B * T);
    if (r.metadata().count("packed") != 0) {
      doc.resize(B * T);
      pos.resize(B * T);
      std::memcpy(doc.data(), r.get("doc").data, B * T * 4);
      std::memcpy(pos.data(), r.get("pos").data, B * T * 4);
    }
  }
  model::RowLayout rows() const {
    return {doc.empty() ? nullptr : doc.data(), pos.empty() ? nullptr : pos.data()};
  }
  float hp(const char* k) const { return std::stof(r.metadata().at(k)); }
  train::Batch batch() const {
    train::Batch b;
    b.B = B, b.T = T, b.inputs = inputs, b.targets = targets, b.mask = mask, b.doc = doc, b.pos = pos;
    return b;
  }
  float mask_count() const {
    float n = 0;
    for (uint8_t m : mask) n += m;
    return n;
  }
};

// Max abs and relative error of got vs want; prints both.
struct Err {
  double abs = 0, rel = 0;
};
Err compare_to_torch(const float* got, const float* want, size_t n) {
  Err e;
  double max_want = 0;
  for (size_t i = 0; i < n; ++i) {
    e.abs = std::max(e.abs, static_cast<double>(std::fabs(got[i] - want[i])));
    max_want = std::max(max_want, static_cast<double>(std::fabs(want[i])));
  }
  e.rel = e.abs / std::max(max_want, 1e-30);
  return e;
}

}  // namespace

TEST(Golden, ForwardLogitsAndLossMatchPyTorch) {
  GoldenFixture f;
  model::Gpt gpt(f.cfg);
  model::load_weights(gpt, golden_fixture_path(), "param.");
  const double sum = gpt.forward_loss(f.inputs.data(), f.targets.data(), f.mask.data(), f.B, f.T, f.rows());
  const float loss = static_cast<float>(sum / f.mask_count());
  float want_loss;
  std::memcpy(&want_loss, f.r.get("loss").data, 4);
  std::printf("loss: chatforge %.7f torch %.7f\n", loss, want_loss);
  EXPECT_NEAR(loss, want_loss, 1e-5);
  const int V = f.cfg.vocab_size, Vp = f.cfg.padded_vocab_size();
  const auto* want = reinterpret_cast<const float*>(f.r.get("logits").data);
  std::vector<float> got(f.B * f.T * V);
  for (int i = 0; i < f.B * f.T; ++i)
    std::memcpy(&got[i * V], gpt.activations().logits + static_cast<size_t>(i) * Vp, V * 4);
  const Err e = compare_to_torch(got.data(), want, got.size());
  std::printf("logits: max abs err %.3g, rel %.3g\n", e.abs, e.rel);
  EXPECT_LT(e.abs, 2e-5);
}

TEST(Golden, EveryParameterGradientMatchesPyTorch) {
  GoldenFixture f;
  model::Gpt gpt(f.cfg);
  model::load_weights(gpt, golden_fixture_path(), "param.");
  gpt.zero_grad();
  gpt.forward_loss(f.inputs.data(), f.targets.data(), f.mask.data(), f.B, f.T, f.rows());
  gpt.backward(1.0f / f.mask_count());
  double worst = 0;
  int checked = 0;
  for (const auto& t : model::param_slices(f.cfg, gpt.layout())) {
    std::vector<float> got(t.rows * t.cols), want(t.rows * t.cols);
    model::export_hf(t, gpt.grads().data(), got.data());
    f.r.read_f32("grad." + t.hf_name, t.hf_shape, want.data());
    const Err e = compare_to_torch(got.data(), want.data(), got.size());
    worst = std::max(worst, e.rel);
    EXPECT_LT(e.rel, 2e-5) << t.hf_name << " abs " << e.abs;
    EXPECT_LT(e.abs, 1e-5) << t.hf_name;
    ++checked;
  }
  std::printf("gradients: %d tensors, worst relative error %.3g\n", checked, worst);
  int in_fixture = 0;  // every gradient PyTorch wrote was checked
  for (const auto& [name, info] : f.r.tensors()) in_fixture += name.rfind("grad.", 0) == 0;
  EXPECT_EQ(checked, in_fixture);
  EXPECT_EQ(checked, f.cfg.llama() ? static_cast<int>(model::param_slices(f.cfg, gpt.layout()).size())
                                   : 2 + 12 * f.cfg.n_layer + 2);
  // The vocabulary padding rows must stay untouched.
  const float* gwte = gpt.gradients().wte;
  for (size_t i = static_cast<size_t>(f.cfg.vocab_size) * f.cfg.n_embd;
       i < static_cast<size_t>(f.cfg.padded_vocab_size()) * f.cfg.n_embd; ++i)
    ASSERT_EQ(gwte[i], 0.0f);
}

TEST(Golden, TenAdamWStepsMatchPyTorch) {
  GoldenFixture f;
  model::Gpt gpt(f.cfg);
  model::load_weights(gpt, golden_fixture_path(), "param.");
  train::AdamWConfig oc;
  oc.beta1 = f.hp("beta1");
  oc.beta2 = f.hp("beta2");
  oc.eps = f.hp("eps");
  oc.weight_decay = f.hp("weight_decay");
  oc.grad_clip = f.hp("grad_clip");
  train::AdamW opt(gpt, oc);
  train::TrainStep step(gpt, opt);  // the trainer's own step
  const train::Batch batch = f.batch();
  const int steps = std::stoi(f.r.metadata().at("steps"));
  const auto* want = reinterpret_cast<const float*>(f.r.get("adamw_losses").data);
  for (int s = 0; s < steps; ++s) {
    const train::StepStats st = step.run({&batch, 1}, f.hp("lr"));
    ASSERT_TRUE(st.applied);
    const float loss = static_cast<float>(st.loss);
    std::printf("step %d: loss chatforge %.7f torch %.7f\n", s, loss, want[s]);
    EXPECT_NEAR(loss, want[s], 2e-5) << "step " << s;
  }
  double worst = 0;
  for (const auto& t : model::param_slices(f.cfg, gpt.layout())) {
    std::vector<float> got(t.rows * t.cols), w(t.rows * t.cols);
    model::export_hf(t, gpt.params().data(), got.data());
    f.r.read_f32("final." + t.hf_name, t.hf_shape, w.data());
    const Err e = compare_to_torch(got.data(), w.data(), got.size());
    worst = std::max(worst, e.abs);
    EXPECT_LT(e.abs, 5e-5) << t.hf_name;
  }
  std::printf("weights after %d steps: worst abs error %.3g\n", steps, worst);
}
