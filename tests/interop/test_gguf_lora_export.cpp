// LoRA adapter GGUF export (gguf_lora_export.h), read back with the independent reader of
// gguf_reader.h: the adapter metadata llama.cpp checks (general.type, adapter.type,
// general.architecture, adapter.lora.alpha), one lora_a / lora_b pair per module named after
// the base GGUF tensor, shapes in ggml order as llama.cpp's loader validates them
// (lora_a ne {in, r}, lora_b ne {r, out}), the data of A and B (B's q/k rows permuted per head
// for `llama` only, as the base's q/k rows), f16, and the refused quantized types.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "core/error.h"
#include "interop/gguf_export.h"
#include "interop/gguf_layout.h"
#include "interop/gguf_lora_export.h"
#include "interop/gguf_reader.h"
#include "model/lora.h"
#include "test_util.h"

namespace chatforge::interop {
namespace {

namespace fs = std::filesystem;
using testing::GgufFile;
using testing::read_gguf;

std::string temp_path(const std::string& name) {
  static const std::string d = chatforge::testing::temp_dir("gguf_lora");
  return d + "/" + name;
}

// An adapter with A and B both random (a fresh adapter's B is zero: nothing to check).
std::unique_ptr<model::Lora> random_lora(const model::GptConfig& cfg, int rank, float alpha,
                                         std::vector<std::string> targets = {}) {
  model::LoraConfig lc;
  lc.rank = rank;
  lc.alpha = alpha;
  lc.dropout = 0;
  lc.targets = targets.empty() ? model::default_lora_targets(cfg) : std::move(targets);
  auto lora = std::make_unique<model::Lora>(cfg, lc);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> d(-1, 1);
  for (size_t i = 0; i < lora->params().size(); ++i) lora->params().data()[i] = d(rng);
  return lora;
}

GgufFile export_lora(const model::Lora& lora, GgufWeightType type, const std::string& file) {
  const std::string path = temp_path(file);
  export_gguf_lora(path, lora, type, "adapter-test");
  return read_gguf(path);
}

const model::LoraModule& module_named(const model::Lora& lora, const std::string& path) {
  for (const auto& m : lora.modules())
    if (m.path == path) return m;
  throw Error("no module " + path);
}

std::vector<float> values(const model::Lora& lora, size_t off, size_t n) {
  return {lora.params().data() + off, lora.params().data() + off + n};
}

void expect_adapter_keys(const GgufFile& f, const std::string& arch, float alpha, int64_t file_type) {
  EXPECT_EQ(f.at("general.architecture").s, arch);
  EXPECT_EQ(f.at("general.type").s, "adapter");
  EXPECT_EQ(f.at("adapter.type").s, "lora");
  EXPECT_EQ(f.at("adapter.lora.alpha").type, 6u);  // f32, as llama.cpp reads it
  EXPECT_FLOAT_EQ(f.at("adapter.lora.alpha").f, alpha);
  EXPECT_EQ(f.at("general.name").s, "adapter-test");
  EXPECT_EQ(f.at("general.file_type").i, file_type);
  EXPECT_FALSE(f.has("tokenizer.ggml.model"));  // the base's file carries the tokenizer
}

TEST(GgufLoraExport, Gpt2FusedQkvKeysShapesAndData) {
  const model::GptConfig cfg = model::GptConfig::for_arch("gpt2", 2, 2, 32, 64, 32);
  const auto lora = random_lora(cfg, 4, 8);
  const GgufFile f = export_lora(*lora, GgufWeightType::F32, "gpt2.gguf");
  expect_adapter_keys(f, "gpt2", 8, 0);
  // c_attn -> attn_qkv (3C rows, fused in llama.cpp too), attn.c_proj -> attn_output,
  // c_fc -> ffn_up, mlp.c_proj -> ffn_down; per layer 4 pairs
  const std::vector<std::pair<std::string, std::vector<uint64_t>>> shapes = {
      {"attn_qkv", {32, 96}}, {"attn_output", {32, 32}}, {"ffn_up", {32, 128}}, {"ffn_down", {128, 32}}};
  EXPECT_EQ(f.tensors.size(), 2u * 4u * 2u);
  for (int l = 0; l < 2; ++l)
    for (const auto& [name, ne] : shapes) {  // ne of the base tensor: {in, out}
      const std::string base = "blk." + std::to_string(l) + "." + name + ".weight";
      ASSERT_TRUE(f.tensors.count(base + ".lora_a")) << base;
      ASSERT_TRUE(f.tensors.count(base + ".lora_b")) << base;
      EXPECT_EQ(f.tensors.at(base + ".lora_a").ne, (std::vector<uint64_t>{ne[0], 4})) << base;
      EXPECT_EQ(f.tensors.at(base + ".lora_b").ne, (std::vector<uint64_t>{4, ne[1]})) << base;
      EXPECT_EQ(f.tensors.at(base + ".lora_a").type, 0u);
    }
  // PEFT's A (r, in) and B (out, r) as stored, no Conv1D transpose
  const model::LoraModule& qkv = module_named(*lora, "transformer.h.1.attn.c_attn");
  EXPECT_EQ(gguf_lora_base_name(cfg, qkv), "blk.1.attn_qkv.weight");
  EXPECT_EQ(f.f32("blk.1.attn_qkv.weight.lora_a"), values(*lora, qkv.a_off, 4 * 32));
  EXPECT_EQ(f.f32("blk.1.attn_qkv.weight.lora_b"), values(*lora, qkv.b_off, 96 * 4));
  const model::LoraModule& down = module_named(*lora, "transformer.h.0.mlp.c_proj");
  EXPECT_EQ(f.f32("blk.0.ffn_down.weight.lora_a"), values(*lora, down.a_off, 4 * 128));
  EXPECT_EQ(f.f32("blk.0.ffn_down.weight.lora_b"), values(*lora, down.b_off, 32 * 4));
}

TEST(GgufLoraExport, LlamaQkRowsPermutedLikeTheBase) {
  model::GptConfig cfg = model::GptConfig::for_arch("llama", 2, 4, 32, 64, 64);
  cfg.n_kv_head = 2;
  cfg.ffn_dim = 48;
  cfg.tie_embeddings = false;
  const auto lora = random_lora(cfg, 2, 6, {"q_proj", "k_proj", "v_proj", "down_proj"});
  const GgufFile f = export_lora(*lora, GgufWeightType::F32, "llama.gguf");
  expect_adapter_keys(f, "llama", 6, 0);
  EXPECT_EQ(f.tensors.size(), 2u * 4u * 2u);
  EXPECT_EQ(f.tensors.at("blk.0.attn_q.weight.lora_b").ne, (std::vector<uint64_t>{2, 32}));
  EXPECT_EQ(f.tensors.at("blk.0.attn_k.weight.lora_b").ne, (std::vector<uint64_t>{2, 16}));
  EXPECT_EQ(f.tensors.at("blk.0.attn_v.weight.lora_a").ne, (std::vector<uint64_t>{32, 2}));
  EXPECT_EQ(f.tensors.at("blk.1.ffn_down.weight.lora_a").ne, (std::vector<uint64_t>{48, 2}));
  EXPECT_EQ(f.tensors.at("blk.1.ffn_down.weight.lora_b").ne, (std::vector<uint64_t>{2, 32}));
  for (const auto& [hf, gg, rows, heads] : std::vector<std::tuple<std::string, std::string, int, int>>{
           {"q_proj", "attn_q", 32, 4}, {"k_proj", "attn_k", 16, 2}, {"v_proj", "attn_v", 16, 0}}) {
    const model::LoraModule& m = module_named(*lora, "model.layers.1.self_attn." + hf);
    const std::string base = "blk.1." + gg + ".weight";
    EXPECT_EQ(gguf_lora_base_name(cfg, m), base);
    EXPECT_EQ(f.f32(base + ".lora_a"), values(*lora, m.a_off, 2 * 32)) << base;  // A: input side, unchanged
    std::vector<float> want = values(*lora, m.b_off, rows * 2);
    if (heads > 0) {  // q/k output rows in llama.cpp's interleaved rope order, as in the base's file
      std::vector<float> p(want.size());
      gguf_rope_permute(want.data(), p.data(), rows, 2, heads);
      EXPECT_NE(p, want);
      want = p;
    }
    EXPECT_EQ(f.f32(base + ".lora_b"), want) << base;
  }
}

TEST(GgufLoraExport, Qwen3RowsUnpermutedAndF16) {
  model::GptConfig cfg = model::GptConfig::for_arch("qwen3", 1, 2, 32, 64, 64);
  cfg.n_kv_head = 1;
  cfg.head_dim = 16;
  cfg.tie_embeddings = false;
  const auto lora = random_lora(cfg, 4, 4, {"q_proj", "gate_proj"});
  const GgufFile f32 = export_lora(*lora, GgufWeightType::F32, "qwen3.gguf");
  expect_adapter_keys(f32, "qwen3", 4, 0);
  const model::LoraModule& q = module_named(*lora, "model.layers.0.self_attn.q_proj");
  EXPECT_EQ(f32.f32("blk.0.attn_q.weight.lora_b"), values(*lora, q.b_off, 32 * 4));  // qwen rotates halves
  const GgufFile f16 = export_lora(*lora, GgufWeightType::F16, "qwen3-f16.gguf");
  expect_adapter_keys(f16, "qwen3", 4, 1);
  ASSERT_EQ(f16.tensors.size(), 4u);
  for (const auto& [name, info] : f16.tensors) {
    EXPECT_EQ(info.type, 1u) << name;
    EXPECT_EQ(info.ne, f32.tensors.at(name).ne) << name;
  }
}

TEST(GgufLoraExport, QuantizedTypesRefused) {
  const model::GptConfig cfg = model::GptConfig::for_arch("gpt2", 1, 2, 32, 64, 32);
  const auto lora = random_lora(cfg, 4, 8);
  for (GgufWeightType t : {GgufWeightType::Q8_0, GgufWeightType::Q4_0}) {
    try {
      export_gguf_lora(temp_path("q.gguf"), *lora, t, "x");
      ADD_FAILURE() << "quantized adapter export accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("f32 or f16"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace chatforge::interop
