// LoRA golden test against PyTorch: fixtures written by scripts/make_lora_golden.py hold a
// tiny base model (GPT-2, or a Llama-family model: metadata "hf_config"), adapters on its
// projections (PEFT's math, written in plain torch), one batch's loss, logits and the
// adapters' gradients, and a 100-step SFT run (AdamW over the adapters only, frozen base)
// from PEFT's start (B = 0). chatforge must reproduce all of it, training through its own
// TrainStep. CF_LORA_FIXTURE adds a fixture (script.lora_golden_live regenerates others).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "model/gpt.h"
#include "model/lora.h"
#include "train/adamw.h"
#include "train/train_step.h"

using namespace chatforge;

namespace {

std::vector<std::string> fixtures() {
  if (const char* p = std::getenv("CF_LORA_FIXTURE")) return {p};
  const std::string dir = std::string(CF_SOURCE_DIR) + "/tests/golden/";
  return {dir + "gpt2_lora.safetensors", dir + "llama_lora.safetensors"};
}

struct LoraFixture {
  std::string path;
  SafeTensorsReader r;
  model::GptConfig cfg;
  model::LoraConfig lc;
  int B = 0, T = 0;
  explicit LoraFixture(const std::string& p) : path(p), r(p) {
    auto meta = [&](const char* k) { return std::stoi(r.metadata().at(k)); };
    if (r.metadata().count("hf_config") != 0) {
      cfg = model::GptConfig::from_hf_json(nlohmann::json::parse(r.metadata().at("hf_config")), path);
    } else {
      cfg.n_layer = meta("n_layer");
      cfg.n_head = meta("n_head");
      cfg.n_embd = meta("n_embd");
      cfg.vocab_size = meta("vocab_size");
      cfg.n_ctx = meta("n_ctx");
    }
    B = meta("B");
    T = meta("T");
    lc.rank = meta("lora_r");
    lc.alpha = hp("lora_alpha");
    lc.dropout = 0;
    lc.targets = model::split_targets(r.metadata().at("lora_targets"));
  }
  float hp(const char* k) const { return std::stof(r.metadata().at(k)); }
  template <class T_>
  std::vector<T_> get(const std::string& name, size_t offset, size_t n) const {
    std::vector<T_> v(n);
    std::memcpy(v.data(), r.get(name).data + offset * sizeof(T_), n * sizeof(T_));
    return v;
  }
  // Batch k of the curve, or the gradient batch (k < 0).
  train::Batch batch(int k) const {
    const size_t n = static_cast<size_t>(B) * T, off = k < 0 ? 0 : static_cast<size_t>(k) * n;
    const std::string pre = k < 0 ? "" : "curve.";
    train::Batch b;
    b.B = B, b.T = T;
    b.inputs = get<int32_t>(pre + "inputs", off, n);
    b.targets = get<int32_t>(pre + "targets", off, n);
    b.mask = get<uint8_t>(pre + "mask", off, n);
    return b;
  }
  // The frozen base with the fixture's weights and adapters read from "<prefix><tensor name>"
  // (B zero when zero_b).
  void load(model::Gpt& gpt, model::Lora& lora, const std::string& prefix, bool zero_b) const {
    model::load_weights(gpt, path, "param.");
    gpt.freeze_base();
    for (const auto& t : lora.tensors()) {
      const bool is_b = t.name.find(".lora_B.") != std::string::npos;
      if (zero_b && is_b) continue;
      r.read_f32(prefix + t.name, {t.shape[0], t.shape[1]}, lora.params().data() + t.offset);
    }
    lora.push_params();
    gpt.set_lora(&lora);
  }
};

double max_rel(const float* got, const float* want, size_t n, double* abs_out = nullptr) {
  double abs = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    abs = std::max(abs, static_cast<double>(std::fabs(got[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  if (abs_out) *abs_out = abs;
  return abs / std::max(scale, 1e-30);
}

}  // namespace

TEST(LoraGolden, LossLogitsAndAdapterGradientsMatchPyTorch) {
  for (const std::string& path : fixtures()) {
    SCOPED_TRACE(path);
    LoraFixture f(path);
    model::Gpt gpt(f.cfg);
    model::Lora lora(f.cfg, f.lc);
    f.load(gpt, lora, "lora.", /*zero_b=*/false);
    const train::Batch b = f.batch(-1);
    gpt.zero_grad();
    const double sum = gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
    const double count = static_cast<double>(b.mask_count());
    float want_loss;
    std::memcpy(&want_loss, f.r.get("loss").data, 4);
    EXPECT_NEAR(sum / count, want_loss, 1e-5);
    const int V = f.cfg.vocab_size, Vp = f.cfg.padded_vocab_size();
    const auto* want_logits = reinterpret_cast<const float*>(f.r.get("logits").data);
    double worst_logit = 0;
    for (int i = 0; i < f.B * f.T; ++i)
      for (int v = 0; v < V; ++v)
        worst_logit = std::max(worst_logit, static_cast<double>(std::fabs(
                                                gpt.activations().logits[static_cast<size_t>(i) * Vp + v] -
                                                want_logits[static_cast<size_t>(i) * V + v])));
    EXPECT_LT(worst_logit, 2e-5);
    gpt.backward(static_cast<float>(1.0 / count));
    double worst = 0;
    int checked = 0;
    for (const auto& t : lora.tensors()) {
      std::vector<float> want(t.numel());
      f.r.read_f32("grad." + t.name, {t.shape[0], t.shape[1]}, want.data());
      double abs = 0;
      const double rel = max_rel(lora.grads().data() + t.offset, want.data(), want.size(), &abs);
      worst = std::max(worst, rel);
      EXPECT_LT(rel, 2e-5) << t.name << " abs " << abs;
      EXPECT_LT(abs, 1e-5) << t.name;
      ++checked;
    }
    int in_fixture = 0;
    for (const auto& [name, info] : f.r.tensors()) in_fixture += name.rfind("grad.", 0) == 0;
    EXPECT_EQ(checked, in_fixture);
    EXPECT_GT(checked, 0);
    std::printf("%s: loss %.7f, logits max abs err %.3g, %d adapter gradients, worst relative error %.3g\n",
                path.c_str(), sum / count, worst_logit, checked, worst);
    EXPECT_EQ(gpt.grads().size(), 0u) << "a frozen base allocates no gradients";
  }
}

TEST(LoraGolden, HundredStepSftCurveMatchesPyTorchWithinOneInTenThousand) {
  for (const std::string& path : fixtures()) {
    SCOPED_TRACE(path);
    LoraFixture f(path);
    model::Gpt gpt(f.cfg);
    model::Lora lora(f.cfg, f.lc);
    f.load(gpt, lora, "lora.", /*zero_b=*/true);  // PEFT's start: B = 0
    const std::vector<float> base_before(gpt.params().data(), gpt.params().data() + gpt.params().size());
    train::AdamWConfig oc;
    oc.beta1 = f.hp("beta1");
    oc.beta2 = f.hp("beta2");
    oc.eps = f.hp("eps");
    oc.weight_decay = f.hp("weight_decay");
    oc.grad_clip = f.hp("grad_clip");
    train::AdamW opt(lora, oc);
    EXPECT_EQ(opt.m().size(), lora.params().size()) << "moments for the adapters only";
    train::TrainStep step(gpt, opt);
    const int steps = std::stoi(f.r.metadata().at("steps")), nb = std::stoi(f.r.metadata().at("nb"));
    std::vector<train::Batch> batches;
    for (int k = 0; k < nb; ++k) batches.push_back(f.batch(k));
    const auto* want = reinterpret_cast<const float*>(f.r.get("curve_losses").data);
    double worst = 0, first = 0, last = 0;
    for (int s = 0; s < steps; ++s) {
      const train::StepStats st = step.run({&batches[s % nb], 1}, f.hp("lr"));
      ASSERT_TRUE(st.applied);
      (s == 0 ? first : last) = st.loss;
      const double rel = std::fabs(st.loss - want[s]) / std::fabs(want[s]);
      worst = std::max(worst, rel);
      EXPECT_LT(rel, 1e-4) << "step " << s << ": chatforge " << st.loss << " torch " << want[s];
    }
    std::printf("%s: %d steps, loss %.6f -> %.6f (torch %.6f -> %.6f), worst relative difference %.3g\n",
                path.c_str(), steps, first, last, want[0], want[steps - 1], worst);
    EXPECT_LT(want[steps - 1], want[0] - 0.1) << "the adapters learn";
    for (const auto& t : lora.tensors()) {
      std::vector<float> w(t.numel());
      f.r.read_f32("final." + t.name, {t.shape[0], t.shape[1]}, w.data());
      double abs = 0;
      max_rel(lora.params().data() + t.offset, w.data(), w.size(), &abs);
      EXPECT_LT(abs, 2e-4) << t.name;
    }
    EXPECT_EQ(0, std::memcmp(base_before.data(), gpt.params().data(), gpt.params().bytes())) << "base is frozen";
  }
}

TEST(LoraGolden, RecomputeGivesBitIdenticalAdapterGradients) {
  LoraFixture f(fixtures().back());
  std::vector<float> grads[2];
  for (int rc = 0; rc < 2; ++rc) {
    model::Gpt gpt(f.cfg);
    model::Lora lora(f.cfg, f.lc);
    f.load(gpt, lora, "lora.", false);
    gpt.set_recompute(rc == 1);
    const train::Batch b = f.batch(-1);
    gpt.zero_grad();
    gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
    gpt.backward(0.01f);
    grads[rc].assign(lora.grads().data(), lora.grads().data() + lora.grads().size());
  }
  EXPECT_EQ(grads[0], grads[1]);
}
