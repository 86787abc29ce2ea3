// LoRA golden test against PyTorch: fixtures written by scripts/make_lora_golden.py hold a
// tiny base model (GPT-2, or a Llama-family model: metadata "hf_config"), adapters on its
// projections (PEFT's math, written in plain torch), one batch's loss, logits and the
// adapters' gradients, and a 100-step SFT run (AdamW over the adapters only, frozen base)
// from PEFT's start (B = 0). chatforge must reproduce all of it, training through its own
// TrainStep. CF_LORA_FIXTURE adds a fixture (script.lora_golden_live regenerates others).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "golden_config.h"
#include "model/checkpoint.h"
#include "model/gpt.h"
#include "model/lora.h"
#include "model/lora_io.h"
#include "train/adamw.h"
#include "train/train_step.h"
#include "test_util.h"

using namespace chatforge;

namespace {

using chatforge::testing::error_of;

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
    cfg = chatforge::testing::golden_config(r, path);
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
      const double rel = chatforge::testing::max_rel_error(lora.grads().data() + t.offset, want.data(), want.size(), &abs);
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
      chatforge::testing::max_rel_error(lora.params().data() + t.offset, w.data(), w.size(), &abs);
      EXPECT_LT(abs, 2e-4) << t.name;
    }
    EXPECT_EQ(0, std::memcmp(base_before.data(), gpt.params().data(), gpt.params().bytes())) << "base is frozen";
  }
}

// Recompute (all, or the MLP's first matmul) gives the very same adapter gradients, with
// adapters on every projection and on the attention input only (then the MLP's redo must
// redo its norm output itself: no adapter asks for it).
TEST(LoraGolden, RecomputeGivesBitIdenticalAdapterGradients) {
  for (const std::string& path : fixtures())  // GPT-2 and Llama
  for (const bool attention_only : {false, true}) {
    SCOPED_TRACE(path + (attention_only ? ", attention input only" : ", every projection"));
    LoraFixture f(path);
    if (attention_only) f.lc.targets = {model::lora_targets(f.cfg).front().name};
    std::vector<float> grads[3];
    const model::Recompute modes[3] = {model::Recompute::kNone, model::Recompute::kMlp, model::Recompute::kAll};
    for (int rc = 0; rc < 3; ++rc) {
      model::Gpt gpt(f.cfg);
      model::Lora lora(f.cfg, f.lc);
      f.load(gpt, lora, "lora.", false);
      gpt.set_recompute(modes[rc]);
      const train::Batch b = f.batch(-1);
      gpt.zero_grad();
      gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
      gpt.backward(0.01f);
      grads[rc].assign(lora.grads().data(), lora.grads().data() + lora.grads().size());
    }
    EXPECT_EQ(grads[0], grads[1]) << "--recompute=mlp";
    EXPECT_EQ(grads[0], grads[2]) << "--recompute (all)";
  }
}

// Lean activations (Gpt::recompute_cheap): under a frozen base the norm outputs, the
// attention output and the MLP activation keep one working slot and backward redoes them; the adapters' gradients are
// bit-identical to a run that keeps every layer's (the same model, base not frozen).
TEST(LoraGolden, LeanActivationsUnderAFrozenBaseAreSmallerAndBitIdentical) {
  for (const std::string& path : fixtures()) {
    SCOPED_TRACE(path);
    LoraFixture f(path);
    std::vector<float> grads[2];
    size_t act_bytes[2] = {0, 0};
    for (int frozen = 0; frozen < 2; ++frozen) {
      model::Gpt gpt(f.cfg);
      model::Lora lora(f.cfg, f.lc);
      f.load(gpt, lora, "lora.", false);
      model::Gpt kept(f.cfg);  // the same weights, base trainable: every layer's insides kept
      model::Gpt& m = frozen == 1 ? gpt : kept;
      if (frozen == 0) {
        std::memcpy(kept.params().data(), gpt.params().data(), gpt.params().bytes());
        kept.set_lora(&lora);
      }
      const train::Batch b = f.batch(-1);
      m.zero_grad();
      lora.zero_grad();
      m.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
      m.backward(0.01f);
      grads[frozen].assign(lora.grads().data(), lora.grads().data() + lora.grads().size());
      act_bytes[frozen] = m.activation_bytes();
    }
    EXPECT_EQ(grads[0], grads[1]);
    // ln1, ln2 (C each), the attention output (Q) and the MLP activation (F) of all layers
    // but one are not kept
    const size_t L = f.cfg.n_layer, BT = static_cast<size_t>(f.B) * f.T;
    const size_t saved = (L - 1) * BT * (2 * f.cfg.n_embd + f.cfg.q_dim() + f.cfg.ffn()) * sizeof(float);
    EXPECT_GE(act_bytes[0], act_bytes[1] + saved) << act_bytes[0] << " vs " << act_bytes[1];
  }
}

namespace {

std::string tmp_dir(const std::string& name) { return chatforge::testing::temp_dir("lora_adapter_" + name); }

// Greedy continuation of `prompt` by full forwards (no cache): n new ids.
std::vector<int32_t> greedy(model::Gpt& gpt, std::vector<int32_t> ids, int n) {
  for (int i = 0; i < n; ++i) {
    gpt.forward(ids.data(), 1, static_cast<int>(ids.size()));
    const std::vector<float> row = gpt.logits_row(0, static_cast<int>(ids.size()) - 1);
    ids.push_back(static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin()));
  }
  return ids;
}

}  // namespace

TEST(LoraAdapter, PeftRoundTripAndMergedModelEqualsBasePlusAdapter) {
  for (const std::string& path : fixtures()) {
    SCOPED_TRACE(path);
    LoraFixture f(path);
    model::Gpt with(f.cfg);
    model::Lora lora(f.cfg, f.lc);
    f.load(with, lora, "lora.", false);
    const std::string dir = tmp_dir(f.cfg.model_type);
    model::save_adapter(dir, lora, "tiny-base");
    // read back: the same tensors, bit for bit
    const auto back = model::load_adapter(dir, f.cfg);
    ASSERT_EQ(back->params().size(), lora.params().size());
    EXPECT_EQ(0, std::memcmp(back->params().data(), lora.params().data(), lora.params().bytes()));
    EXPECT_EQ(back->config().rank, f.lc.rank);
    EXPECT_FLOAT_EQ(back->config().scale(), f.lc.scale());
    // merged into a fresh base (the --lora / convert --merge-lora path)
    model::Gpt merged(f.cfg);
    model::load_weights(merged, path, "param.");
    model::apply_lora_specs(merged, {dir});
    const train::Batch b = f.batch(-1);
    with.forward(b.inputs.data(), b.B, b.T);
    merged.forward(b.inputs.data(), b.B, b.T);
    const int Vp = f.cfg.padded_vocab_size(), V = f.cfg.vocab_size;
    double worst = 0;
    for (int i = 0; i < b.B * b.T; ++i)
      for (int v = 0; v < V; ++v)
        worst = std::max(worst, static_cast<double>(std::fabs(with.activations().logits[static_cast<size_t>(i) * Vp + v] -
                                                              merged.activations().logits[static_cast<size_t>(i) * Vp + v])));
    EXPECT_LT(worst, 1e-5);
    const std::vector<int32_t> prompt(b.inputs.begin(), b.inputs.begin() + 4);
    EXPECT_EQ(greedy(with, prompt, 10), greedy(merged, prompt, 10));
    // DIR:0 leaves the base exactly as it was
    model::Gpt base(f.cfg), zero(f.cfg);
    model::load_weights(base, path, "param.");
    model::load_weights(zero, path, "param.");
    model::apply_lora_specs(zero, {dir + ":0"});
    EXPECT_EQ(0, std::memcmp(base.params().data(), zero.params().data(), base.params().bytes()));
    std::printf("%s: merged logits within %.3g of base + adapter, greedy tokens identical\n", path.c_str(), worst);
  }
}

TEST(LoraAdapter, BadAdaptersAreOneLineErrorsNamingFileAndTensor) {
  const auto fx = fixtures();
  LoraFixture g(fx.front());  // GPT-2
  model::Lora lora(g.cfg, g.lc);
  model::Gpt gpt(g.cfg);
  g.load(gpt, lora, "lora.", false);
  const std::string good = tmp_dir("good");
  model::save_adapter(good, lora, "base");
  const std::string weights = good + "/adapter_model.safetensors";
  auto copy_with_config = [&](const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    const std::string d = tmp_dir(name);
    std::filesystem::copy_file(weights, d + "/adapter_model.safetensors");
    nlohmann::json c = nlohmann::json::parse(read_file(good + "/adapter_config.json"));
    edit(c);
    write_file_atomic(d + "/adapter_config.json", c.dump());
    return d;
  };
  // rank mismatch: the config says 8, the tensors have 4
  const std::string r8 = copy_with_config("rank", [](nlohmann::json& c) { c["r"] = 8; });
  std::string e = error_of([&] { model::load_adapter(r8, g.cfg); });
  EXPECT_NE(e.find(r8 + "/adapter_model.safetensors: tensor base_model.model.transformer.h.0.attn.c_attn.lora_A.weight "
                        "has shape [4, 64], this base needs [8, 64] (rank mismatch: adapter_config.json says r = 8)"),
            std::string::npos)
      << e;
  // a base of another shape
  model::GptConfig wide = g.cfg;
  wide.n_embd = 128;
  e = error_of([&] { model::load_adapter(good, wide); });
  EXPECT_NE(e.find("has shape [4, 64], this base needs [4, 128] (the adapter was trained on a base of another shape)"),
            std::string::npos)
      << e;
  // a missing tensor
  {
    const std::string d = tmp_dir("missing");
    write_file_atomic(d + "/adapter_config.json", read_file(good + "/adapter_config.json"));
    SafeTensorsWriter w;
    for (const auto& t : lora.tensors())
      if (t.name != "transformer.h.1.mlp.c_fc.lora_B.weight")
        w.add_f32(model::peft_tensor_name(t), {t.shape[0], t.shape[1]}, lora.params().data() + t.offset);
    w.write(d + "/adapter_model.safetensors");
    e = error_of([&] { model::load_adapter(d, g.cfg); });
    EXPECT_NE(e.find(d + "/adapter_model.safetensors: missing tensor base_model.model.transformer.h.1.mlp.c_fc.lora_B.weight"),
              std::string::npos)
        << e;
  }
  // names for another architecture: a Llama adapter on the GPT-2 base
  LoraFixture l(fx.back());
  model::Lora llora(l.cfg, l.lc);
  const std::string ld = tmp_dir("llama");
  model::save_adapter(ld, llora, "llama-base");
  e = error_of([&] { model::load_adapter(ld, g.cfg); });
  EXPECT_NE(e.find(ld + "/adapter_config.json: LoRA target 'q_proj' names no module of a gpt2 model"), std::string::npos)
      << e;
  // ... and GPT-2 target names over Llama tensors
  {
    const std::string d = tmp_dir("mixed");
    std::filesystem::copy_file(ld + "/adapter_model.safetensors", d + "/adapter_model.safetensors");
    write_file_atomic(d + "/adapter_config.json", read_file(good + "/adapter_config.json"));
    e = error_of([&] { model::load_adapter(d, g.cfg); });
    EXPECT_NE(e.find("missing tensor base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"), std::string::npos) << e;
  }
  // PEFT features we do not implement, and not an adapter at all
  const std::string dora = copy_with_config("dora", [](nlohmann::json& c) { c["use_dora"] = true; });
  EXPECT_NE(error_of([&] { model::load_adapter(dora, g.cfg); }).find("DoRA adapters are not supported"), std::string::npos);
  const std::string ia3 = copy_with_config("ia3", [](nlohmann::json& c) { c["peft_type"] = "IA3"; });
  EXPECT_NE(error_of([&] { model::load_adapter(ia3, g.cfg); }).find("'peft_type' is 'IA3'"), std::string::npos);
  EXPECT_NE(error_of([&] { model::load_adapter(tmp_dir("empty"), g.cfg); }).find("adapter_config.json is missing"),
            std::string::npos);
  for (const std::string& msg : {e}) EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

TEST(LoraAdapter, SpecParsesDirectoryAndScale) {
  EXPECT_EQ(model::parse_lora_spec("runs/a").dir, "runs/a");
  EXPECT_FLOAT_EQ(model::parse_lora_spec("runs/a").scale, 1.0f);
  EXPECT_EQ(model::parse_lora_spec("runs/a:0.5").dir, "runs/a");
  EXPECT_FLOAT_EQ(model::parse_lora_spec("runs/a:0.5").scale, 0.5f);
  EXPECT_EQ(model::parse_lora_spec("c:/x:y").dir, "c:/x:y");  // not a number: part of the path
}
