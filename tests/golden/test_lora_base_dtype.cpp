// LoRA over a frozen base held in bf16 or int8 (Gpt's base format, `train --base-dtype`):
// on the LoRA golden fixtures (GPT-2 and Llama), the loss, every adapter gradient and a
// few AdamW steps equal those of LoRA over the fp32 base whose matrices (block projections,
// embedding, head) were first rounded to the format, with the plain full-logits loss there
// and the chunked loss here. The reduced model never holds fp32 matrices (loaded through
// write_rows) and says so when asked for them; recompute stays bit-identical over it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
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

const char* kFixtures[] = {"gpt2_lora.safetensors", "llama_lora.safetensors"};

struct BaseDtypeFixture {
  std::string path;
  SafeTensorsReader r;
  model::GptConfig cfg;
  model::LoraConfig lc;
  int B = 0, T = 0;
  explicit BaseDtypeFixture(const std::string& name) : path(std::string(CF_SOURCE_DIR) + "/tests/golden/" + name), r(path) {
    cfg = chatforge::testing::golden_config(r, path);
    B = std::stoi(r.metadata().at("B"));
    T = std::stoi(r.metadata().at("T"));
    lc.rank = std::stoi(r.metadata().at("lora_r"));
    lc.alpha = std::stof(r.metadata().at("lora_alpha"));
    lc.dropout = 0;
    lc.targets = model::split_targets(r.metadata().at("lora_targets"));
  }
  train::Batch batch(int k) const {
    const size_t n = static_cast<size_t>(B) * T, off = k < 0 ? 0 : static_cast<size_t>(k) * n;
    const std::string pre = k < 0 ? "" : "curve.";
    auto get = [&](const std::string& name, size_t elem) {
      std::vector<uint8_t> v(n * elem);
      std::memcpy(v.data(), r.get(name).data + off * elem, v.size());
      return v;
    };
    train::Batch b;
    b.B = B, b.T = T;
    const auto in = get(pre + "inputs", 4), tg = get(pre + "targets", 4);
    b.inputs.resize(n), b.targets.resize(n);
    std::memcpy(b.inputs.data(), in.data(), in.size());
    std::memcpy(b.targets.data(), tg.data(), tg.size());
    b.mask = get(pre + "mask", 1);
    return b;
  }
  // The adapters (A and B nonzero, so every gradient flows), training (dropout 0).
  void attach(model::Gpt& gpt, model::Lora& lora) const {
    for (const auto& t : lora.tensors())
      r.read_f32("lora." + t.name, {t.shape[0], t.shape[1]}, lora.params().data() + t.offset);
    lora.push_params();
    lora.set_training(true);
    gpt.set_lora(&lora);
  }
};

// Rounds the (OC, C) matrix at w to format f and back, in place.
void round_matrix(float* w, int OC, int C, ops::WeightFormat f) {
  std::vector<uint8_t> store(ops::weight_storage_bytes(OC, C, f));
  std::vector<float> scale(OC);
  ops::quantize_weights(store.data(), scale.data(), w, OC, C, f);
  ops::dequantize_rows(w, ops::WeightMatrix{f, store.data(), scale.data(), OC, C}, 0, OC);
}

// The fp32 reference: the fixture's base with every matrix a reduced base stores rounded.
void round_base(model::Gpt& gpt, ops::WeightFormat f) {
  const model::GptConfig& c = gpt.config();
  const model::GptParams p = gpt.weights();
  const int C = c.n_embd, QKV = c.qkv_dim(), Q = c.q_dim(), U = c.ffn_up_rows(), F = c.ffn(), Vp = c.padded_vocab_size();
  for (size_t l = 0; l < static_cast<size_t>(c.n_layer); ++l) {
    round_matrix(p.qkvw + l * QKV * C, QKV, C, f);
    round_matrix(p.attprojw + l * C * Q, C, Q, f);
    round_matrix(p.fcw + l * U * C, U, C, f);
    round_matrix(p.fcprojw + l * C * F, C, F, f);
  }
  round_matrix(p.wte, Vp, C, f);
  if (p.lm_head != nullptr) round_matrix(p.lm_head, Vp, C, f);
}

}  // namespace

TEST(LoraBaseDtype, ReducedBaseEqualsFp32BaseOfRoundedWeights) {
  for (const char* name : kFixtures)
    for (ops::WeightFormat f : {ops::WeightFormat::kBF16, ops::WeightFormat::kInt8}) {
      SCOPED_TRACE(std::string(name) + " " + ops::weight_format_name(f));
      const BaseDtypeFixture fx(name);
      model::Gpt ref(fx.cfg), red(fx.cfg, nullptr, f);
      model::load_weights(ref, fx.path, "param.");
      round_base(ref, f);
      ref.freeze_base();
      model::load_weights(red, fx.path, "param.");  // rounded as it is read
      red.set_chunked_loss(true);
      ASSERT_EQ(red.base_format(), f);
      model::Lora lref(fx.cfg, fx.lc), lred(fx.cfg, fx.lc);
      fx.attach(ref, lref);
      fx.attach(red, lred);
      const train::Batch b = fx.batch(-1);
      const double count = static_cast<double>(b.mask_count());
      double loss[2];
      int k = 0;
      for (model::Gpt* g : {&ref, &red}) {
        g->zero_grad();
        loss[k++] = g->forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T) / count;
        g->backward(static_cast<float>(1.0 / count));
      }
      EXPECT_LT(std::fabs(loss[1] - loss[0]) / std::fabs(loss[0]), 1e-6) << loss[1] << " vs " << loss[0];
      double worst = 0;
      for (const auto& t : lref.tensors()) {
        const double rel = chatforge::testing::max_rel_error(lred.grads().data() + t.offset, lref.grads().data() + t.offset, t.numel());
        EXPECT_LT(rel, 1e-5) << t.name;
        worst = std::max(worst, rel);
      }
      // five AdamW steps through the trainer's step: the same losses
      train::AdamW oref(lref, train::AdamWConfig{}), ored(lred, train::AdamWConfig{});
      train::TrainStep sref(ref, oref), sred(red, ored);
      double worst_step = 0;
      for (int s = 0; s < 5; ++s) {
        const train::Batch bs = fx.batch(s % std::stoi(fx.r.metadata().at("nb")));
        const double a = sref.run({&bs, 1}, 1e-2f).loss, c = sred.run({&bs, 1}, 1e-2f).loss;
        worst_step = std::max(worst_step, std::fabs(c - a) / std::fabs(a));
      }
      EXPECT_LT(worst_step, 1e-5);
      std::printf("%s %s: loss %.7f vs %.7f, worst adapter gradient %.3g, 5 steps worst %.3g\n", name,
                  ops::weight_format_name(f), loss[1], loss[0], worst, worst_step);
      // the reduced base is smaller and its fp32 parameters do not exist
      EXPECT_LT(red.base_bytes(), ref.base_bytes() * (f == ops::WeightFormat::kInt8 ? 0.5 : 0.75));
      try {
        red.params();
        ADD_FAILURE() << "params() of a reduced base";
      } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("held in"), std::string::npos) << e.what();
      }
    }
}

TEST(LoraBaseDtype, RecomputeAndBaseIdentityOverAReducedBase) {
  const BaseDtypeFixture fx(kFixtures[1]);
  std::vector<float> grads[3];
  std::string ids[3];
  size_t act_bytes[3] = {0, 0, 0};
  const model::Recompute modes[3] = {model::Recompute::kNone, model::Recompute::kMlp, model::Recompute::kAll};
  for (int rc = 0; rc < 3; ++rc) {
    model::Gpt gpt(fx.cfg, nullptr, ops::WeightFormat::kBF16);
    model::load_weights(gpt, fx.path, "param.");
    gpt.set_chunked_loss(true);
    gpt.set_recompute(modes[rc]);
    model::Lora lora(fx.cfg, fx.lc);
    fx.attach(gpt, lora);
    const train::Batch b = fx.batch(-1);
    gpt.zero_grad();
    gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
    gpt.backward(0.01f);
    grads[rc].assign(lora.grads().data(), lora.grads().data() + lora.grads().size());
    ids[rc] = model::lora_base_identity(gpt);
    act_bytes[rc] = gpt.activation_bytes();
  }
  EXPECT_EQ(grads[0], grads[1]) << "--recompute=mlp";
  EXPECT_EQ(grads[0], grads[2]) << "--recompute (all)";
  EXPECT_EQ(ids[0], ids[1]);
  // mlp: the MLP hidden before its activation (U) of all layers but one is not kept
  const size_t U = fx.cfg.ffn_up_rows(), saved = (fx.cfg.n_layer - 1) * static_cast<size_t>(fx.B) * fx.T * U * 4;
  EXPECT_GE(act_bytes[0], act_bytes[1] + saved) << act_bytes[0] << " vs " << act_bytes[1];
  EXPECT_LT(act_bytes[2], act_bytes[1]);
  EXPECT_NE(ids[0].find(" bf16 #"), std::string::npos) << ids[0];
  model::Gpt fp32(fx.cfg);
  model::load_weights(fp32, fx.path, "param.");
  EXPECT_NE(model::lora_base_identity(fp32), ids[0]) << "another format is another base";
  // without adapters in training, a chunked forward_loss keeps nothing for backward
  model::Gpt gpt(fx.cfg, nullptr, ops::WeightFormat::kInt8);
  model::load_weights(gpt, fx.path, "param.");
  gpt.set_chunked_loss(true);
  const train::Batch b = fx.batch(-1);
  gpt.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T);
  EXPECT_THROW(gpt.backward(0.01f), Error);
}
