// Implementation of gguf_export.h.
#include "interop/gguf_export.h"

#include <cmath>

#include "core/error.h"
#include "interop/gguf_layout.h"

namespace chatforge::interop {

uint32_t gguf_file_type(GgufWeightType t) {
  switch (t) {
    case GgufWeightType::F32: return 0;
    case GgufWeightType::F16: return 1;
    case GgufWeightType::Q8_0: return 7;
    case GgufWeightType::Q4_0: return 2;
  }
  return 0;
}

GgufWeightType parse_gguf_weight_type(const std::string& s) {
  if (s == "f32") return GgufWeightType::F32;
  if (s == "f16") return GgufWeightType::F16;
  if (s == "q8_0") return GgufWeightType::Q8_0;
  if (s == "q4_0") return GgufWeightType::Q4_0;
  usage_fail("--type must be f32, f16, q8_0 or q4_0, got '{}'", s);
}

std::string gguf_architecture(const model::GptConfig& cfg) {
  if (!cfg.llama()) return "gpt2";
  if (cfg.model_type == "llama" || cfg.model_type == "mistral") return "llama";
  if (cfg.model_type == "qwen2" || cfg.model_type == "qwen3") return cfg.model_type;
  fail("GGUF export: no llama.cpp architecture for model_type '{}'", cfg.model_type);
}

namespace {

using model::GptConfig;

// The tensors each llama.cpp architecture has: refuse what it would ignore or reject.
void check_expressible(const GptConfig& cfg, const std::string& arch) {
  const std::string what = "GGUF export of this " + cfg.model_type + " model: llama.cpp's '" + arch + "' architecture";
  CF_CHECK(!cfg.qk_norm || arch == "qwen3", "{} has no q/k norms (field qk_norm)", what);
  CF_CHECK(arch != "qwen3" || cfg.qk_norm, "{} needs q/k norms (field qk_norm)", what);
  CF_CHECK(arch != "qwen3" || (!cfg.qkv_bias && !cfg.o_bias), "{} has no attention biases (field attention_bias)", what);
  CF_CHECK(arch != "qwen2" || cfg.qkv_bias, "{} needs q/k/v biases", what);
  CF_CHECK(arch != "qwen2" || !cfg.o_bias, "{} has no o_proj bias", what);
}

// rope.scaling.* keys for the rope_scaling types llama.cpp computes as transformers does.
void add_rope_scaling(GgufWriter& w, const std::string& a, const GptConfig& cfg) {
  const model::RopeScaling& r = cfg.rope_scaling;
  if (r.type.empty()) return;
  if (r.type == "llama3") {  // the rope_freqs.weight tensor; only the LLAMA graph reads it
    CF_CHECK(a == "llama", "GGUF export: rope_scaling type 'llama3' cannot be expressed for llama.cpp's '{}' "
             "architecture (it reads rope_freqs only for 'llama')", a);
    return;
  }
  if (r.type == "linear") {
    w.add_string(a + ".rope.scaling.type", "linear");
    w.add_f32(a + ".rope.scaling.factor", static_cast<float>(r.factor));
    return;
  }
  CF_CHECK(r.type == "yarn", "GGUF export: rope_scaling type '{}' cannot be expressed: llama.cpp has no such scaling "
           "(it has linear, yarn and Llama 3's)", r.type);
  const double default_attention = r.factor <= 1 ? 1.0 : 0.1 * std::log(r.factor) + 1.0;
  CF_CHECK(r.attention_factor <= 0 || std::fabs(r.attention_factor - default_attention) < 1e-6,
           "GGUF export: rope_scaling.attention_factor {} cannot be expressed: llama.cpp versions disagree on "
           "the meaning of its attention-factor keys (only the default 0.1 ln(factor) + 1 is exported)",
           r.attention_factor);
  w.add_string(a + ".rope.scaling.type", "yarn");
  w.add_f32(a + ".rope.scaling.factor", static_cast<float>(r.factor));
  w.add_u32(a + ".rope.scaling.original_context_length",
            static_cast<uint32_t>(r.original_max_positions > 0 ? r.original_max_positions : cfg.n_ctx));
  w.add_f32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(r.beta_fast));
  w.add_f32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(r.beta_slow));
}

// GPT-2 as chatforge computes it: MLP width 4C, LayerNorm epsilon 1e-5 (the ops' constant).
void add_gpt2_hparams(GgufWriter& w, const GptConfig& cfg) {
  w.add_u32("gpt2.context_length", static_cast<uint32_t>(cfg.n_ctx));
  w.add_u32("gpt2.embedding_length", static_cast<uint32_t>(cfg.n_embd));
  w.add_u32("gpt2.feed_forward_length", static_cast<uint32_t>(4 * cfg.n_embd));
  w.add_u32("gpt2.block_count", static_cast<uint32_t>(cfg.n_layer));
  w.add_u32("gpt2.attention.head_count", static_cast<uint32_t>(cfg.n_head));
  w.add_f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
}

void add_llama_hparams(GgufWriter& w, const std::string& a, const GptConfig& cfg) {
  auto u32 = [&](const char* key, int v) { w.add_u32(a + key, static_cast<uint32_t>(v)); };
  u32(".vocab_size", cfg.vocab_size);
  u32(".context_length", cfg.n_ctx);
  u32(".embedding_length", cfg.n_embd);
  u32(".feed_forward_length", cfg.ffn());
  u32(".block_count", cfg.n_layer);
  u32(".attention.head_count", cfg.n_head);
  u32(".attention.head_count_kv", cfg.kv_heads());
  if (cfg.head_size() * cfg.n_head != cfg.n_embd) {  // llama.cpp's default head size is C / NH
    u32(".attention.key_length", cfg.head_size());
    u32(".attention.value_length", cfg.head_size());
  }
  u32(".rope.dimension_count", cfg.head_size());
  w.add_f32(a + ".rope.freq_base", static_cast<float>(cfg.rope_theta));
  w.add_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(cfg.norm_eps));
  add_rope_scaling(w, a, cfg);
}

// The ggml type of one stored tensor (see export_gguf in the header).
GgmlType tensor_type(GgufWeightType type, const model::ParamSlice& t, const GptConfig& cfg) {
  if (!t.matrix() || type == GgufWeightType::F32) return GgmlType::F32;
  if (type == GgufWeightType::F16 || !t.tensor->gguf_quantizable || t.cols % 32 != 0) return GgmlType::F16;
  const bool logits = t.tensor->name == "lm_head" || (t.tensor->name == "wte" && cfg.tie_embeddings);
  return type == GgufWeightType::Q4_0 && !logits ? GgmlType::Q4_0 : GgmlType::Q8_0;
}

// Every parameter under llama.cpp's name, from the parameter table. A row-major (rows, cols)
// matrix is ggml ne = {cols, rows}: our matrices are already nn.Linear (out, in), the layout
// llama.cpp multiplies with (no Conv1D transpose here).
void add_tensors(GgufWriter& w, const model::Gpt& gpt, GgufWeightType type) {
  const GptConfig& cfg = gpt.config();
  if (cfg.llama() && cfg.rope_scaling.type == "llama3") {
    const std::vector<float> f = gguf_rope_freq_factors(cfg);
    w.add_tensor("rope_freqs.weight", {f.size()}, GgmlType::F32, ggml_encode(GgmlType::F32, f.data(), f.size()));
  }
  std::vector<float> permuted;
  for (const model::ParamSlice& t : model::param_slices(cfg, gpt.layout())) {
    const float* data = gpt.params().data() + t.offset;
    const uint64_t rows = static_cast<uint64_t>(t.rows), cols = static_cast<uint64_t>(t.cols);
    if (t.gguf_rope_heads > 0) {
      permuted.resize(rows * cols);
      gguf_rope_permute(data, permuted.data(), t.rows, t.cols, t.gguf_rope_heads);
      data = permuted.data();
    }
    const GgmlType g = tensor_type(type, t, cfg);
    std::vector<uint64_t> ne = t.matrix() ? std::vector<uint64_t>{cols, rows} : std::vector<uint64_t>{rows};
    w.add_tensor(t.gguf_name, std::move(ne), g, ggml_encode(g, data, rows * cols));
  }
}

}  // namespace

void export_gguf(const std::string& path, const model::Gpt& gpt, const tok::Tokenizer& tok, GgufWeightType type,
                 const std::string& name, const TokenizerConfig& tokenizer_config) {
  const GptConfig& cfg = gpt.config();
  const std::string arch = gguf_architecture(cfg);
  check_expressible(cfg, arch);
  GgufWriter w;
  w.add_string("general.architecture", arch);
  w.add_string("general.name", name);
  w.add_u32("general.file_type", gguf_file_type(type));
  if (type == GgufWeightType::Q8_0 || type == GgufWeightType::Q4_0) w.add_u32("general.quantization_version", 2);
  w.add_u32("general.alignment", GgufWriter::kAlignment);
  if (arch == "gpt2")
    add_gpt2_hparams(w, cfg);
  else
    add_llama_hparams(w, arch, cfg);
  add_gguf_tokenizer(w, tok, cfg, tokenizer_config);
  add_tensors(w, gpt, type);
  w.write(path);
}

}  // namespace chatforge::interop
