// GGUF export of each llama.cpp architecture, read back with the independent reader of
// gguf_reader.h: the hyperparameter keys and values llama.cpp reads, the tensor names,
// shapes and types, the data of every q/k/v and gate/up part (q/k rows permuted per head
// for `llama` only), rope scaling keys and Llama 3's rope_freqs, the tokenizer keys
// (pre-tokenizer name, token types, special ids, tokenizer_config.json's chat template and
// flags), and the clear errors for what llama.cpp cannot express.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "interop/gguf_export.h"
#include "interop/gguf_layout.h"
#include "interop/gguf_reader.h"
#include "model/gpt.h"
#include "tokenizer/trainer.h"
#include "test_util.h"

namespace chatforge::interop {
namespace {

using chatforge::testing::temp_dir;

namespace fs = std::filesystem;
using testing::GgufFile;
using testing::read_gguf;

// A small byte-level BPE tokenizer with ChatML specials and the given split pattern.
tok::Tokenizer small_tokenizer(const std::string& pattern, bool ignore_merges = false) {
  tok::TrainOptions o;
  o.vocab_size = 256 + 40 + 3;
  o.pattern = pattern;
  o.special_tokens = {"<|im_start|>", "<|im_end|>"};
  o.progress = false;
  const tok::Tokenizer t = tok::train_bpe_on_text(
      "the whale and the sea; the captain's ship sailed 1234 miles. The whale! the sea, the sea.", o);
  tok::TokenizerParts parts;
  for (int32_t id = 0; id < t.vocab_size(); ++id) parts.tokens.emplace_back(t.token_bytes(id));
  parts.merges = t.merges();
  for (const auto& sp : t.special_tokens()) parts.special_ids.push_back(sp.second);
  parts.pretokenizer = t.pretokenizer();
  parts.ignore_merges = ignore_merges;
  return tok::Tokenizer::from_parts(std::move(parts));
}

struct Exported {
  model::Gpt gpt;
  GgufFile file;
};

Exported export_model(const model::GptConfig& cfg, const tok::Tokenizer& tok, GgufWeightType type,
                      const TokenizerConfig& tc = {}) {
  cfg.validate("test config");
  model::Gpt gpt(cfg);
  gpt.init_weights(5);
  const std::string path = temp_dir("gguf_export") + "/m.gguf";
  export_gguf(path, gpt, tok, type, "test", tc);
  return {std::move(gpt), read_gguf(path)};
}

int64_t u(const GgufFile& f, const std::string& k) { return f.at(k).i; }

// Row r of layer l's slice of a stacked (L, R, C) parameter tensor.
const float* param_row(const model::Gpt& gpt, const char* name, int l, int64_t r) {
  const model::ParamTensor& t = gpt.layout().find(name);
  const int64_t rows = t.shape[1], cols = t.shape.ndim == 3 ? t.shape[2] : 1;
  return gpt.params().data() + t.offset + (l * rows + r) * cols;
}

// Every row of GGUF tensor `name` (F32, `cols` wide) equals param row row_of(r) of layer l.
template <class RowOf>
void expect_rows(const GgufFile& f, const std::string& name, const model::Gpt& gpt, const char* param, int l,
                 int64_t rows, int64_t cols, RowOf row_of) {
  const std::vector<float> got = f.f32(name);
  ASSERT_EQ(got.size(), static_cast<size_t>(rows * cols)) << name;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(got[r * cols + c], param_row(gpt, param, l, row_of(r))[c]) << name << " row " << r << " col " << c;
}

// HF row of GGUF row r under the LLAMA permutation with head size hs.
int64_t unpermuted(int64_t r, int64_t hs) {
  const int64_t h = r / hs, k = r % hs;
  return h * hs + (k % 2) * (hs / 2) + k / 2;
}

model::GptConfig llama_config(int vocab) {
  model::GptConfig c = model::GptConfig::for_arch("llama", 2, 4, 32, vocab, 64);
  c.n_kv_head = 2;
  c.ffn_dim = 64;
  c.tie_embeddings = false;
  c.rope_theta = 500000;
  c.rope_scaling.type = "llama3";
  c.rope_scaling.factor = 8;
  c.rope_scaling.original_max_positions = 256;  // wavelengths 6.3 | 167 | 4443, 118000 at head size 8
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

TEST(GgufExport, LlamaKeysTensorsAndPermutedQK) {
  const tok::Tokenizer tok = small_tokenizer("gpt4", true);
  const int V = tok.vocab_size() + 5;  // 5 embedding rows past the tokenizer: unused tokens
  const model::GptConfig cfg = llama_config(V);
  TokenizerConfig tc;
  tc.chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}";
  tc.add_bos_token = true;
  const auto [gpt, f] = export_model(cfg, tok, GgufWeightType::F32, tc);
  EXPECT_EQ(f.at("general.architecture").s, "llama");
  EXPECT_EQ(u(f, "general.file_type"), 0);
  EXPECT_EQ(u(f, "llama.vocab_size"), V);
  EXPECT_EQ(u(f, "llama.context_length"), 64);
  EXPECT_EQ(u(f, "llama.embedding_length"), 32);
  EXPECT_EQ(u(f, "llama.feed_forward_length"), 64);
  EXPECT_EQ(u(f, "llama.block_count"), 2);
  EXPECT_EQ(u(f, "llama.attention.head_count"), 4);
  EXPECT_EQ(u(f, "llama.attention.head_count_kv"), 2);
  EXPECT_EQ(u(f, "llama.rope.dimension_count"), 8);
  EXPECT_FLOAT_EQ(f.at("llama.rope.freq_base").f, 500000.0f);
  EXPECT_FLOAT_EQ(f.at("llama.attention.layer_norm_rms_epsilon").f, 1e-6f);
  EXPECT_FALSE(f.has("llama.attention.key_length"));  // head size is C / NH
  EXPECT_FALSE(f.has("llama.rope.scaling.type"));     // Llama 3 scaling is the rope_freqs tensor
  // rope_freqs: 1 for the highest frequency (wavelength 2 pi < 256 / 4), the factor 8 for
  // wavelengths above 256, in between for 167
  const std::vector<float> rf = f.f32("rope_freqs.weight");
  ASSERT_EQ(rf.size(), 4u);
  EXPECT_EQ(rf, gguf_rope_freq_factors(cfg));
  EXPECT_FLOAT_EQ(rf[0], 1.0f);
  EXPECT_GT(rf[1], 1.5f);
  EXPECT_LT(rf[1], 7.5f);
  EXPECT_FLOAT_EQ(rf[2], 8.0f);
  EXPECT_FLOAT_EQ(rf[3], 8.0f);
  const std::vector<float> inv = cfg.rope_inv_freq();
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(1.0 / std::pow(500000.0, 2 * i / 8.0) / rf[i], inv[i], 1e-6 * inv[i]) << i;
  // tensors: 2 + rope_freqs + output + 9 per layer, ggml order {cols, rows}
  EXPECT_EQ(f.tensors.size(), 4u + 9 * 2);
  EXPECT_EQ(f.tensors.at("token_embd.weight").ne, (std::vector<uint64_t>{32, static_cast<uint64_t>(V)}));
  EXPECT_EQ(f.tensors.at("output.weight").ne, (std::vector<uint64_t>{32, static_cast<uint64_t>(V)}));
  EXPECT_EQ(f.tensors.at("blk.1.attn_q.weight").ne, (std::vector<uint64_t>{32, 32}));
  EXPECT_EQ(f.tensors.at("blk.1.attn_k.weight").ne, (std::vector<uint64_t>{32, 16}));
  EXPECT_EQ(f.tensors.at("blk.1.ffn_down.weight").ne, (std::vector<uint64_t>{64, 32}));
  EXPECT_FALSE(f.tensors.count("blk.0.attn_q.bias"));
  // data: q and k rows permuted within each head (head size 8), v, gate and up as stored
  for (int l = 0; l < 2; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    expect_rows(f, b + "attn_q.weight", gpt, "qkvw", l, 32, 32, [](int64_t r) { return unpermuted(r, 8); });
    expect_rows(f, b + "attn_k.weight", gpt, "qkvw", l, 16, 32, [](int64_t r) { return 32 + unpermuted(r, 8); });
    expect_rows(f, b + "attn_v.weight", gpt, "qkvw", l, 16, 32, [](int64_t r) { return 48 + r; });
    expect_rows(f, b + "ffn_gate.weight", gpt, "fcw", l, 64, 32, [](int64_t r) { return r; });
    expect_rows(f, b + "ffn_up.weight", gpt, "fcw", l, 64, 32, [](int64_t r) { return 64 + r; });
  }
  EXPECT_NE(f.f32("blk.0.attn_q.weight")[32], param_row(gpt, "qkvw", 0, 1)[0]);  // row 1 did move
  // tokenizer
  EXPECT_EQ(f.at("tokenizer.ggml.model").s, "gpt2");
  EXPECT_EQ(f.at("tokenizer.ggml.pre").s, "llama-bpe");
  const auto& tokens = f.at("tokenizer.ggml.tokens").strs;
  const auto& types = f.at("tokenizer.ggml.token_type").ints;
  ASSERT_EQ(tokens.size(), static_cast<size_t>(V));
  ASSERT_EQ(types.size(), static_cast<size_t>(V));
  EXPECT_EQ(tokens[' '], "Ġ");
  EXPECT_EQ(types[' '], 1);
  const int32_t im_end = *tok.special_token_id("<|im_end|>");
  EXPECT_EQ(tokens[im_end], "<|im_end|>");
  EXPECT_EQ(types[im_end], 3);
  EXPECT_EQ(tokens[V - 1], "[PAD" + std::to_string(V - 1) + "]");
  EXPECT_EQ(types[V - 1], 5);
  EXPECT_EQ(f.at("tokenizer.ggml.merges").strs.size(), tok.merges().size());
  EXPECT_EQ(u(f, "tokenizer.ggml.bos_token_id"), 1);  // config.json's ids win
  EXPECT_EQ(u(f, "tokenizer.ggml.eos_token_id"), 2);
  EXPECT_EQ(u(f, "tokenizer.ggml.eot_token_id"), im_end);
  EXPECT_FALSE(f.has("tokenizer.ggml.padding_token_id"));
  EXPECT_EQ(u(f, "tokenizer.ggml.add_bos_token"), 1);  // from tokenizer_config.json
  EXPECT_EQ(f.at("tokenizer.chat_template").s, tc.chat_template);
}

TEST(GgufExport, Qwen2BiasesUnpermutedAndTiedHead) {
  const tok::Tokenizer tok = small_tokenizer("qwen2");
  model::GptConfig cfg = model::GptConfig::for_arch("qwen2", 1, 4, 32, tok.vocab_size(), 64);
  cfg.n_kv_head = 2;
  cfg.ffn_dim = 48;  // not a multiple of 32: ffn_down stays F16 in quantized files
  const auto [gpt, f] = export_model(cfg, tok, GgufWeightType::F32);
  EXPECT_EQ(f.at("general.architecture").s, "qwen2");
  EXPECT_EQ(u(f, "qwen2.attention.head_count_kv"), 2);
  EXPECT_EQ(f.at("tokenizer.ggml.pre").s, "qwen2");
  EXPECT_FALSE(f.tensors.count("output.weight"));  // tied: llama.cpp reuses token_embd
  EXPECT_FALSE(f.tensors.count("rope_freqs.weight"));
  EXPECT_EQ(f.tensors.size(), 2u + 12);
  EXPECT_EQ(f.tensors.at("blk.0.attn_k.bias").ne, (std::vector<uint64_t>{16}));
  // Qwen2 rotates halves in llama.cpp too: rows and biases as Hugging Face stores them
  expect_rows(f, "blk.0.attn_q.weight", gpt, "qkvw", 0, 32, 32, [](int64_t r) { return r; });
  expect_rows(f, "blk.0.attn_q.bias", gpt, "qkvb", 0, 32, 1, [](int64_t r) { return r; });
  expect_rows(f, "blk.0.attn_k.bias", gpt, "qkvb", 0, 16, 1, [](int64_t r) { return 32 + r; });
  expect_rows(f, "blk.0.attn_v.bias", gpt, "qkvb", 0, 16, 1, [](int64_t r) { return 48 + r; });
  EXPECT_FALSE(f.has("tokenizer.chat_template") && f.at("tokenizer.chat_template").s.empty());
  EXPECT_NE(f.at("tokenizer.chat_template").s.find("<|im_start|>"), std::string::npos);  // chatforge's ChatML
  // the tokenizer has <|endoftext|>: bos/eos fall back to it
  EXPECT_EQ(u(f, "tokenizer.ggml.bos_token_id"), *tok.special_token_id("<|endoftext|>"));

  const auto [g8, q8] = export_model(cfg, tok, GgufWeightType::Q8_0);
  EXPECT_EQ(u(q8, "general.file_type"), 7);
  EXPECT_EQ(u(q8, "general.quantization_version"), 2);
  EXPECT_EQ(q8.tensors.at("token_embd.weight").type, 8u);
  EXPECT_EQ(q8.tensors.at("blk.0.attn_q.weight").type, 8u);
  EXPECT_EQ(q8.tensors.at("blk.0.ffn_down.weight").type, 1u);  // rows of 48: F16
  EXPECT_EQ(q8.tensors.at("blk.0.attn_q.bias").type, 0u);
  const auto [g4, q4] = export_model(cfg, tok, GgufWeightType::Q4_0);
  EXPECT_EQ(u(q4, "general.file_type"), 2);
  EXPECT_EQ(q4.tensors.at("token_embd.weight").type, 8u);  // tied: it computes the logits
  EXPECT_EQ(q4.tensors.at("blk.0.attn_q.weight").type, 2u);
  EXPECT_EQ(q4.tensors.at("blk.0.ffn_gate.weight").type, 2u);
  EXPECT_EQ(q4.tensors.at("blk.0.ffn_down.weight").type, 1u);
  EXPECT_EQ(q4.tensors.at("blk.0.attn_norm.weight").type, 0u);
}

TEST(GgufExport, Qwen3HeadDimAndQKNorms) {
  const tok::Tokenizer tok = small_tokenizer("qwen2");
  model::GptConfig cfg = model::GptConfig::for_arch("qwen3", 1, 4, 32, tok.vocab_size(), 64);
  cfg.n_kv_head = 2;
  cfg.head_dim = 16;  // != 32 / 4
  cfg.ffn_dim = 64;
  cfg.tie_embeddings = false;
  const auto [gpt, f] = export_model(cfg, tok, GgufWeightType::F32);
  EXPECT_EQ(f.at("general.architecture").s, "qwen3");
  EXPECT_EQ(u(f, "qwen3.attention.key_length"), 16);
  EXPECT_EQ(u(f, "qwen3.attention.value_length"), 16);
  EXPECT_EQ(u(f, "qwen3.rope.dimension_count"), 16);
  EXPECT_EQ(f.tensors.at("blk.0.attn_q.weight").ne, (std::vector<uint64_t>{32, 64}));
  EXPECT_EQ(f.tensors.at("blk.0.attn_k.weight").ne, (std::vector<uint64_t>{32, 32}));
  EXPECT_EQ(f.tensors.at("blk.0.attn_output.weight").ne, (std::vector<uint64_t>{64, 32}));
  EXPECT_EQ(f.tensors.at("blk.0.attn_q_norm.weight").ne, (std::vector<uint64_t>{16}));
  EXPECT_EQ(f.tensors.at("output.weight").ne, (std::vector<uint64_t>{32, static_cast<uint64_t>(tok.vocab_size())}));
  EXPECT_EQ(f.tensors.size(), 3u + 11);
  expect_rows(f, "blk.0.attn_k.weight", gpt, "qkvw", 0, 32, 32, [](int64_t r) { return 64 + r; });
  expect_rows(f, "blk.0.attn_k_norm.weight", gpt, "knormw", 0, 1, 16, [](int64_t) { return 0; });
}

TEST(GgufExport, RopeScalingKeys) {
  const tok::Tokenizer tok = small_tokenizer("qwen2");
  model::GptConfig cfg = model::GptConfig::for_arch("qwen2", 1, 4, 32, tok.vocab_size(), 64);
  cfg.rope_scaling.type = "yarn";
  cfg.rope_scaling.factor = 4;
  cfg.rope_scaling.original_max_positions = 16;
  cfg.rope_scaling.beta_fast = 16;
  const auto [g, f] = export_model(cfg, tok, GgufWeightType::F32);
  EXPECT_EQ(f.at("qwen2.rope.scaling.type").s, "yarn");
  EXPECT_FLOAT_EQ(f.at("qwen2.rope.scaling.factor").f, 4.0f);
  EXPECT_EQ(u(f, "qwen2.rope.scaling.original_context_length"), 16);
  EXPECT_FLOAT_EQ(f.at("qwen2.rope.scaling.yarn_beta_fast").f, 16.0f);
  EXPECT_FLOAT_EQ(f.at("qwen2.rope.scaling.yarn_beta_slow").f, 1.0f);
  cfg.rope_scaling = {};
  cfg.rope_scaling.type = "linear";
  cfg.rope_scaling.factor = 2;
  const auto [g2, lin] = export_model(cfg, tok, GgufWeightType::F32);
  EXPECT_EQ(lin.at("qwen2.rope.scaling.type").s, "linear");
  EXPECT_FLOAT_EQ(lin.at("qwen2.rope.scaling.factor").f, 2.0f);
  EXPECT_FALSE(lin.has("qwen2.rope.scaling.original_context_length"));
}

// The message of the Error export_gguf throws, or "" when it succeeds.
std::string export_error(const model::GptConfig& cfg, const tok::Tokenizer& tok) {
  try {
    export_model(cfg, tok, GgufWeightType::F32);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(GgufExport, RefusesWhatLlamaCppCannotExpress) {
  const tok::Tokenizer tok = small_tokenizer("qwen2");
  const int V = tok.vocab_size();
  model::GptConfig dyn = model::GptConfig::for_arch("llama", 1, 4, 32, V, 64);
  dyn.rope_scaling.type = "dynamic";
  dyn.rope_scaling.factor = 2;
  EXPECT_NE(export_error(dyn, tok).find("rope_scaling type 'dynamic' cannot be expressed"), std::string::npos)
      << export_error(dyn, tok);
  model::GptConfig l3 = model::GptConfig::for_arch("qwen3", 1, 4, 32, V, 64);
  l3.rope_scaling = llama_config(V).rope_scaling;
  EXPECT_NE(export_error(l3, tok).find("'llama3' cannot be expressed for llama.cpp's 'qwen3'"), std::string::npos);
  model::GptConfig yarn = model::GptConfig::for_arch("llama", 1, 4, 32, V, 64);
  yarn.rope_scaling.type = "yarn";
  yarn.rope_scaling.factor = 4;
  yarn.rope_scaling.attention_factor = 1.5;
  EXPECT_NE(export_error(yarn, tok).find("attention_factor 1.5"), std::string::npos);
  model::GptConfig biased = model::GptConfig::for_arch("qwen3", 1, 4, 32, V, 64);
  biased.qkv_bias = true;
  EXPECT_NE(export_error(biased, tok).find("has no attention biases"), std::string::npos);
  // a split pattern llama.cpp has no name for, named in the message
  const tok::Tokenizer cjk = small_tokenizer("cjk");
  const model::GptConfig ok = model::GptConfig::for_arch("llama", 1, 4, 32, cjk.vocab_size(), 64);
  const std::string msg = export_error(ok, cjk);
  EXPECT_NE(msg.find("no pre-tokenizer for this tokenizer's split pattern"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\\p{Han}"), std::string::npos) << msg;
  // GPT-4's pattern with merges always applied: the same regex under another name
  EXPECT_EQ(gguf_pre_tokenizer(small_tokenizer("gpt4")), "smaug-bpe");
  EXPECT_EQ(gguf_pre_tokenizer(small_tokenizer("gpt2")), "gpt-2");
  EXPECT_THROW(gguf_pre_tokenizer(small_tokenizer("qwen2", true)), Error);
}

TEST(GgufTokenizerConfig, ReadsTemplateSpecialsAndFlags) {
  const std::string dir = temp_dir("gguf_tokenizer_config");
  EXPECT_TRUE(read_tokenizer_config(dir + "/tokenizer_config.json").chat_template.empty());  // no file: {}
  write_file_atomic(dir + "/tokenizer_config.json", R"({
    "add_bos_token": false, "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
    "pad_token": null,
    "chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}],
    "added_tokens_decoder": {"5": {"content": "<think>", "special": false}, "6": {"content": "<s>", "special": true}}
  })");
  const TokenizerConfig tc = read_tokenizer_config(dir + "/tokenizer_config.json");
  EXPECT_EQ(tc.chat_template, "D");
  ASSERT_TRUE(tc.add_bos_token.has_value());
  EXPECT_FALSE(*tc.add_bos_token);
  EXPECT_EQ(tc.bos_token, "<s>");
  EXPECT_EQ(tc.eos_token, "</s>");
  EXPECT_EQ(tc.pad_token, "");
  EXPECT_EQ(tc.not_special, (std::set<std::string>{"<think>"}));
  write_file_atomic(dir + "/tokenizer_config.json", R"({"add_bos_token": "yes"})");
  try {
    read_tokenizer_config(dir + "/tokenizer_config.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json: add_bos_token must be a boolean"), std::string::npos)
        << e.what();
  }
  write_file_atomic(dir + "/tokenizer_config.json", "{");
  EXPECT_THROW(read_tokenizer_config(dir + "/tokenizer_config.json"), Error);
}

TEST(GgufExport, NotSpecialAddedTokensAreUserDefined) {
  const tok::Tokenizer tok = small_tokenizer("qwen2");
  TokenizerConfig tc;
  tc.not_special = {"<|im_start|>"};
  tc.pad_token = "<|im_end|>";
  const model::GptConfig cfg = model::GptConfig::for_arch("qwen2", 1, 4, 32, tok.vocab_size(), 64);
  const auto [g, f] = export_model(cfg, tok, GgufWeightType::F32, tc);
  const auto& types = f.at("tokenizer.ggml.token_type").ints;
  EXPECT_EQ(types[*tok.special_token_id("<|im_start|>")], 4);
  EXPECT_EQ(types[*tok.special_token_id("<|im_end|>")], 3);
  EXPECT_EQ(u(f, "tokenizer.ggml.padding_token_id"), *tok.special_token_id("<|im_end|>"));
  EXPECT_EQ(u(f, "tokenizer.ggml.add_bos_token"), 0);
}

}  // namespace
}  // namespace chatforge::interop
