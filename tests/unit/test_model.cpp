// Model: parameter layout, initialisation statistics, checkpoint round trips (bit-exact),
// Hugging Face naming, and clear errors for broken checkpoints.
#include <gtest/gtest.h>

#include "fixtures.h"
#include "test_util.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "model/resize.h"

#include <nlohmann/json.hpp>
#include "model/gpt.h"

using namespace chatforge;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;

namespace {
model::GptConfig tiny_model_config() { return chatforge::testing::tiny_config(); }
using chatforge::testing::error_of;
}  // namespace

TEST(Model, ParameterCountMatchesHuggingFace) {
  model::GptConfig gpt2;  // the 124M defaults
  EXPECT_EQ(gpt2.num_parameters(), 124439808u);  // GPT2LMHeadModel("gpt2").num_parameters()
  EXPECT_EQ(gpt2.padded_vocab_size(), 50304);
  model::Gpt m(tiny_model_config());
  EXPECT_EQ(m.layout().total(), tiny_model_config().num_parameters() + (128 - 50) * 16);
}

TEST(Model, InitFollowsGpt2Recipe) {
  model::GptConfig c = tiny_model_config();
  c.n_embd = 64;
  c.n_layer = 4;
  model::Gpt m(c);
  m.init_weights(1);
  auto stats = [&](const char* name) {
    const auto& t = m.layout().find(name);
    const float* p = m.params().data() + t.offset;
    size_t n = t.numel();
    if (std::string(name) == "wte") n = static_cast<size_t>(c.vocab_size) * c.n_embd;
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; ++i) s += p[i], s2 += static_cast<double>(p[i]) * p[i];
    return std::make_pair(s / n, std::sqrt(s2 / n - (s / n) * (s / n)));
  };
  EXPECT_NEAR(stats("qkvw").second, 0.02, 0.002);
  EXPECT_NEAR(stats("wte").second, 0.02, 0.002);
  EXPECT_NEAR(stats("fcprojw").second, 0.02 / std::sqrt(8.0), 0.001);
  EXPECT_EQ(stats("ln1w").first, 1.0);
  EXPECT_EQ(stats("qkvb").second, 0.0);
  const float* wte = m.weights().wte;
  for (size_t i = static_cast<size_t>(c.vocab_size) * c.n_embd; i < static_cast<size_t>(c.padded_vocab_size()) * c.n_embd;
       ++i)
    ASSERT_EQ(wte[i], 0.0f);
}

// init_weights draws a block's uniforms in order and transforms them on all threads: the
// result must be the one-value-at-a-time recipe's, bit for bit (seeds reproduce runs).
TEST(Model, InitIsTheSequentialDrawsBitForBit) {
  model::GptConfig c = tiny_model_config();
  c.n_embd = 32;
  c.n_layer = 3;
  for (uint64_t seed : {1u, 77u}) {
    model::Gpt m(c);
    m.init_weights(seed);
    Rng rng(seed);
    const float resid_std = 0.02f / std::sqrt(2.0f * c.n_layer);
    size_t normals = 0;
    for (const model::ParamSlice& sl : model::param_slices(c, m.layout())) {
      const model::ParamTensor& t = *sl.tensor;
      const float* got = m.params().data() + sl.offset;
      for (int64_t i = 0; i < sl.rows * sl.cols; ++i) {
        float want = t.kind == model::ParamKind::kNormWeight ? 1.0f : 0.0f;
        if (t.kind == model::ParamKind::kEmbedding || t.kind == model::ParamKind::kMatmulWeight) {
          want = static_cast<float>(rng.normal()) * (t.name == "attprojw" || t.name == "fcprojw" ? resid_std : 0.02f);
          ++normals;
        }
        ASSERT_EQ(std::memcmp(&got[i], &want, 4), 0) << sl.hf_name << " element " << i << ": " << got[i] << " vs " << want;
      }
    }
    EXPECT_GT(normals, 10000u);
  }
}

TEST(Model, CheckpointRoundTripIsBitExact) {
  const std::string d = temp_dir("rt");
  model::Gpt m(tiny_model_config());
  m.init_weights(3);
  model::save_model(d, m);
  auto back = model::load_model(d);
  ASSERT_EQ(back->params().size(), m.params().size());
  EXPECT_EQ(std::memcmp(back->params().data(), m.params().data(), m.params().bytes()), 0);
  // HF names and Conv1D layout on disk
  SafeTensorsReader r(d + "/model.safetensors");
  EXPECT_EQ(r.get("transformer.h.1.attn.c_attn.weight").shape, (std::vector<int64_t>{16, 48}));
  EXPECT_EQ(r.get("transformer.h.0.mlp.c_proj.weight").shape, (std::vector<int64_t>{64, 16}));
  EXPECT_EQ(r.get("transformer.wte.weight").shape, (std::vector<int64_t>{50, 16}));
  EXPECT_FALSE(r.has("lm_head.weight"));
  // the same logits after the round trip
  std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  m.forward(ids.data(), 1, 5);
  back->forward(ids.data(), 1, 5);
  EXPECT_EQ(std::memcmp(m.activations().logits, back->activations().logits, 5 * 128 * 4), 0);
  fs::remove_all(d);
}

TEST(Model, LoadsHalfPrecisionAndUnprefixedNames) {
  const std::string d = temp_dir("hf");
  model::Gpt m(tiny_model_config());
  m.init_weights(4);
  model::save_model(d, m);
  // Rewrite as F16 with GPT2Model-style names (no "transformer." prefix).
  SafeTensorsReader r(d + "/model.safetensors");
  std::vector<std::vector<uint16_t>> bufs;
  SafeTensorsWriter w;
  for (const auto& [name, info] : r.tensors()) {
    std::vector<float> f(info.numel());
    r.read_f32(name, info.shape, f.data());
    std::vector<uint16_t> h(f.size());
    for (size_t i = 0; i < f.size(); ++i) h[i] = float_to_half(f[i]);
    bufs.push_back(std::move(h));
  }
  size_t i = 0;
  for (const auto& [name, info] : r.tensors()) w.add(name.substr(12), DType::F16, info.shape, bufs[i++].data());
  const std::string d2 = temp_dir("hf2");
  fs::copy_file(d + "/config.json", d2 + "/config.json");
  w.write(d2 + "/model.safetensors");
  auto back = model::load_model(d2);
  const auto& t = m.layout().find("qkvw");
  for (size_t k = 0; k < t.numel(); ++k) {
    const float a = m.params().data()[t.offset + k], b = back->params().data()[t.offset + k];
    ASSERT_NEAR(a, b, std::fabs(a) * 1e-3 + 1e-7);
  }
  fs::remove_all(d);
  fs::remove_all(d2);
}

TEST(Model, BrokenCheckpointsGiveErrorsNamingTheProblem) {
  const std::string d = temp_dir("bad");
  model::Gpt m(tiny_model_config());
  m.init_weights(5);
  model::save_model(d, m);
  const std::string st = read_file(d + "/model.safetensors");
  // truncated weights
  write_file_atomic(d + "/model.safetensors", st.substr(0, st.size() - 100));
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("model.safetensors"), std::string::npos);
  // a missing tensor and a wrong shape
  write_file_atomic(d + "/model.safetensors", st);
  auto rewrite = [&](const std::string& drop, const std::string& reshape) {
    SafeTensorsReader r(d + "/model.safetensors");
    std::vector<std::vector<float>> bufs;
    SafeTensorsWriter w;
    for (const auto& [name, info] : r.tensors()) {
      if (name == drop) continue;
      std::vector<float> f(info.numel());
      r.read_f32(name, info.shape, f.data());
      bufs.push_back(std::move(f));
      auto shape = info.shape;
      if (name == reshape) shape = {shape[0] / 2, 2};
      w.add_f32(name, shape, bufs.back().data());
    }
    const std::string out = temp_dir("bad2");
    fs::copy_file(d + "/config.json", out + "/config.json");
    w.write(out + "/model.safetensors");
    return out;
  };
  const std::string missing = rewrite("transformer.h.1.ln_2.bias", "");
  EXPECT_NE(error_of([&] { model::load_model(missing); }).find("missing tensor 'transformer.h.1.ln_2.bias'"),
            std::string::npos);
  const std::string wrong = rewrite("", "transformer.ln_f.bias");
  const std::string msg = error_of([&] { model::load_model(wrong); });
  EXPECT_NE(msg.find("'transformer.ln_f.bias' has shape [8, 2], expected [16]"), std::string::npos) << msg;
  // config problems
  write_file_atomic(d + "/config.json", R"({"model_type": "mamba", "n_layer": 2})");
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("unsupported architecture model_type 'mamba'"),
            std::string::npos);
  write_file_atomic(d + "/config.json", R"({"model_type": "llama", "n_layer": 2})");  // Llama keys, not GPT-2's
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("missing field 'num_hidden_layers'"), std::string::npos);
  write_file_atomic(d + "/config.json", R"({"model_type": "gpt2", "n_layer": 2, "n_head": 2})");
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("missing field 'n_embd'"), std::string::npos);
  write_file_atomic(d + "/config.json", "{not json");
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("config.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of([&] { model::load_model(d + "/nope"); }).find("does not exist"), std::string::npos);
  fs::remove_all(d);
  fs::remove_all(missing);
  fs::remove_all(wrong);
}

TEST(Model, ExtendVocabKeepsEveryOldLogit) {
  model::Gpt m(tiny_model_config());  // vocab 50
  m.init_weights(6);
  auto big = model::extend_vocab(m, 53);
  EXPECT_EQ(big->config().vocab_size, 53);
  std::vector<int32_t> ids = {1, 7, 49, 3};
  m.forward(ids.data(), 1, 4);
  big->forward(ids.data(), 1, 4);
  const int Vp_old = tiny_model_config().padded_vocab_size(), Vp_new = big->config().padded_vocab_size();
  for (int t = 0; t < 4; ++t)
    for (int v = 0; v < 50; ++v)
      ASSERT_EQ(m.activations().logits[t * Vp_old + v], big->activations().logits[t * Vp_new + v]);
  // new rows are the mean embedding
  const float* wte = big->weights().wte;
  double mean0 = 0;
  for (int v = 0; v < 50; ++v) mean0 += wte[v * 16];
  EXPECT_NEAR(wte[51 * 16], mean0 / 50, 1e-6);
  EXPECT_THROW(model::extend_vocab(m, 40), Error);
}

TEST(Model, LoadsShardedHuggingFaceFolders) {
  const std::string d = temp_dir("sharded");
  model::Gpt m(tiny_model_config());
  m.init_weights(8);
  model::save_model(d, m);
  // Split model.safetensors into two shards listed by model.safetensors.index.json.
  std::vector<std::vector<float>> bufs;
  SafeTensorsWriter a, b;
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", nlohmann::json::object()}};
  {
    SafeTensorsReader r(d + "/model.safetensors");
    int i = 0;
    for (const auto& [name, info] : r.tensors()) {
      std::vector<float> f(info.numel());
      r.read_f32(name, info.shape, f.data());
      bufs.push_back(std::move(f));
      const bool first = i++ % 2 == 0;
      (first ? a : b).add_f32(name, info.shape, bufs.back().data());
      index["weight_map"][name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
    }
    a.write(d + "/model-00001-of-00002.safetensors");
    b.write(d + "/model-00002-of-00002.safetensors");
  }
  fs::remove(d + "/model.safetensors");
  write_file_atomic(d + "/model.safetensors.index.json", index.dump());
  auto back = model::load_model(d);
  EXPECT_EQ(std::memcmp(back->params().data(), m.params().data(), m.params().bytes()), 0);
  fs::remove(d + "/model-00002-of-00002.safetensors");
  EXPECT_NE(error_of([&] { model::load_model(d); }).find("model-00002-of-00002.safetensors"), std::string::npos);
  fs::remove_all(d);
}

// --recompute: forward keeps layer inputs only and backward reruns each layer (all), or
// backward redoes the MLP's first matmul (mlp); the gradients must be the very same bits
// (same kernels, same inputs), packed rows included, and the activation memory must shrink.
TEST(Model, RecomputeGivesBitIdenticalGradientsInLessMemory) {
  const model::GptConfig c = chatforge::testing::tiny_config({.layers = 3, .channels = 32, .vocab = 97, .context = 32});
  const int B = 2, T = 24;
  std::vector<int32_t> inp(B * T), tgt(B * T), doc(B * T), pos(B * T);
  for (int i = 0; i < B * T; ++i) {
    inp[i] = (i * 37 + 5) % c.vocab_size;
    tgt[i] = (i * 11 + 3) % c.vocab_size;
    doc[i] = i % T < 10 ? 0 : 1;  // two documents a row
    pos[i] = i % T < 10 ? i % T : i % T - 10;
  }
  for (const model::Recompute mode : {model::Recompute::kMlp, model::Recompute::kAll})
  for (const bool packed : {false, true}) {
    SCOPED_TRACE(model::recompute_name(mode));
    const model::RowLayout rows = packed ? model::RowLayout{doc.data(), pos.data()} : model::RowLayout{};
    model::Gpt keep(c), again(c);
    keep.init_weights(3);
    again.init_weights(3);
    again.set_recompute(mode);
    for (model::Gpt* m : {&keep, &again}) {
      m->zero_grad();
      m->forward_loss(inp.data(), tgt.data(), nullptr, B, T, rows);
      m->backward(1.0f / (B * T));
    }
    ASSERT_EQ(std::memcmp(keep.grads().data(), again.grads().data(), keep.grads().bytes()), 0) << "packed=" << packed;
    // all: only the layer inputs; mlp: the MLP hidden (U + F) of all layers but one
    const size_t mlp_saved = (c.n_layer - 1) * static_cast<size_t>(B) * T * (c.ffn_up_rows() + c.ffn()) * 4;
    if (mode == model::Recompute::kAll)
      EXPECT_LT(again.activation_bytes(), keep.activation_bytes() * 3 / 4);
    else
      EXPECT_GE(keep.activation_bytes(), again.activation_bytes() + mlp_saved);
    // and a second step on the same model (the working slot is reused) agrees too
    for (model::Gpt* m : {&keep, &again}) {
      m->forward_loss(tgt.data(), inp.data(), nullptr, B, T, rows);
      m->backward(0.5f);
    }
    ASSERT_EQ(std::memcmp(keep.grads().data(), again.grads().data(), keep.grads().bytes()), 0) << "packed=" << packed;
  }
}

// --- the Llama family as configuration ------------------------------------------------

TEST(Model, LlamaFamilyParameterCountsMatchHuggingFace) {
  // Qwen2.5-0.5B's config.json sizes: 494,032,768 parameters (tied embeddings, q/k/v biases)
  nlohmann::json qwen = {{"model_type", "qwen2"},         {"hidden_size", 896},        {"intermediate_size", 4864},
                         {"num_hidden_layers", 24},       {"num_attention_heads", 14}, {"num_key_value_heads", 2},
                         {"vocab_size", 151936},          {"max_position_embeddings", 32768},
                         {"tie_word_embeddings", true},   {"rope_theta", 1000000.0}};
  EXPECT_EQ(model::GptConfig::from_hf_json(qwen, "qwen2.5").num_parameters(), 494032768u);
  // Llama-3.2-1B: 1,235,814,400 (tied, no biases, llama3 rope scaling)
  nlohmann::json llama = {{"model_type", "llama"},        {"hidden_size", 2048},       {"intermediate_size", 8192},
                          {"num_hidden_layers", 16},      {"num_attention_heads", 32}, {"num_key_value_heads", 8},
                          {"vocab_size", 128256},         {"max_position_embeddings", 131072},
                          {"tie_word_embeddings", true},  {"rope_theta", 500000.0},
                          {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 32.0}, {"low_freq_factor", 1.0},
                                            {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}}};
  const model::GptConfig l = model::GptConfig::from_hf_json(llama, "llama-3.2");
  EXPECT_EQ(l.num_parameters(), 1235814400u);
  EXPECT_EQ(l.rope_scaling.type, "llama3");
  // the table holds exactly that many (plus the vocabulary padding rows)
  for (const chatforge::testing::TinyShape& s : chatforge::testing::every_architecture({.heads = 4, .channels = 32})) {
    const model::GptConfig c = chatforge::testing::tiny_config(s);
    const size_t pad = static_cast<size_t>(c.padded_vocab_size() - c.vocab_size) * c.n_embd;
    EXPECT_EQ(model::ParamLayout(c).total(), c.num_parameters() + pad * (c.tie_embeddings ? 1 : 2)) << s.arch;
  }
}

TEST(Model, NewModelConfigAppliesTheArchitecture) {
  model::GptConfig sizes;
  sizes.n_layer = 4, sizes.n_head = 8, sizes.n_embd = 256, sizes.vocab_size = 1000, sizes.n_ctx = 128;
  const model::GptConfig gpt2 = model::new_model_config(sizes, {});
  EXPECT_FALSE(gpt2.llama());
  EXPECT_EQ(gpt2.ffn(), 1024);
  model::ArchOptions a;
  a.arch = "llama";
  const model::GptConfig l = model::new_model_config(sizes, a);
  EXPECT_EQ(l.kv_heads(), 2);      // n_head / 4
  EXPECT_EQ(l.ffn(), 704);         // 8 * 256 / 3 = 682, rounded up to 64
  EXPECT_TRUE(l.tie_embeddings);
  EXPECT_FALSE(l.qkv_bias || l.qk_norm);
  a.arch = "qwen3", a.n_kv_head = 8, a.head_dim = 48, a.ffn_dim = 512, a.rope_theta = 1e6, a.untied_head = true;
  const model::GptConfig q = model::new_model_config(sizes, a);
  EXPECT_TRUE(q.qk_norm);
  EXPECT_EQ(q.kv_heads(), 8);
  EXPECT_EQ(q.head_size(), 48);
  EXPECT_EQ(q.q_dim(), 384);
  EXPECT_EQ(q.ffn(), 512);
  EXPECT_EQ(q.rope_theta, 1e6);
  EXPECT_FALSE(q.tie_embeddings);
  a = {}, a.arch = "qwen2";
  EXPECT_TRUE(model::new_model_config(sizes, a).qkv_bias);
  // errors name the flags
  model::ArchOptions bad;
  bad.n_kv_head = 2;  // on gpt2
  EXPECT_NE(error_of([&] { model::new_model_config(sizes, bad); }).find("--n-kv-head"), std::string::npos);
  bad.arch = "llama", bad.n_kv_head = 3;  // does not divide 8 heads
  EXPECT_NE(error_of([&] { model::new_model_config(sizes, bad); }).find("must divide"), std::string::npos);
  bad.arch = "mamba";
  EXPECT_NE(error_of([&] { model::new_model_config(sizes, bad); }).find("--arch"), std::string::npos);
}

// Every block variant: a checkpoint round trip is bit-exact (HF names: q/k/v and gate/up
// stored as separate tensors of our fused ones), a larger vocabulary keeps every old logit,
// and recompute gives the very same gradients.
TEST(Model, EveryArchitectureRoundTripsExtendsAndRecomputes) {
  for (const chatforge::testing::TinyShape& s :
       chatforge::testing::every_architecture({.heads = 4, .channels = 32, .vocab = 97, .context = 32})) {
    SCOPED_TRACE(s.arch);
    auto m = chatforge::testing::tiny_model(s, 3, 2.0f);
    const std::string d = temp_dir(std::string("arch_") + s.arch);
    model::save_model(d, *m);
    auto back = model::load_model(d);
    ASSERT_EQ(back->config().to_hf_json(), m->config().to_hf_json());
    ASSERT_EQ(std::memcmp(back->params().data(), m->params().data(), m->params().bytes()), 0);
    if (m->config().llama()) {
      SafeTensorsReader r(d + "/model.safetensors");
      EXPECT_TRUE(r.has("model.layers.1.self_attn.k_proj.weight"));
      EXPECT_TRUE(r.has("model.layers.0.mlp.gate_proj.weight"));
      EXPECT_EQ(r.has("lm_head.weight"), !m->config().tie_embeddings);
    }
    const int V = m->config().vocab_size;
    std::vector<int32_t> ids = {1, 7, 96, 3, 50};
    auto big = model::extend_vocab(*m, V + 40);  // past the padding: the padded size grows
    m->forward(ids.data(), 1, 5);
    big->forward(ids.data(), 1, 5);
    const int Vp = m->config().padded_vocab_size(), Vp2 = big->config().padded_vocab_size();
    ASSERT_GT(Vp2, Vp);
    for (int t = 0; t < 5; ++t)
      for (int v = 0; v < V; ++v) ASSERT_EQ(m->activations().logits[t * Vp + v], big->activations().logits[t * Vp2 + v]);
    // recompute: the same bits
    std::vector<int32_t> inp(2 * 24), tgt(2 * 24);
    for (size_t i = 0; i < inp.size(); ++i) inp[i] = (i * 37 + 5) % V, tgt[i] = (i * 11 + 3) % V;
    for (const model::Recompute mode : {model::Recompute::kMlp, model::Recompute::kAll}) {
      auto again = chatforge::testing::tiny_model(s, 3, 2.0f);
      again->set_recompute(mode);
      for (model::Gpt* g : {m.get(), again.get()}) {
        g->zero_grad();
        g->forward_loss(inp.data(), tgt.data(), nullptr, 2, 24);
        g->backward(1.0f / 48);
      }
      ASSERT_EQ(std::memcmp(m->grads().data(), again->grads().data(), m->grads().bytes()), 0)
          << model::recompute_name(mode);
    }
    fs::remove_all(d);
  }
}
