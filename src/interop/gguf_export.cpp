// Implementation of gguf_export.h.
#include "interop/gguf_export.h"

#include "core/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {

GgufWeightType parse_gguf_weight_type(const std::string& s) {
  if (s == "f32") return GgufWeightType::F32;
  if (s == "f16") return GgufWeightType::F16;
  if (s == "q8_0") return GgufWeightType::Q8_0;
  usage_fail("--type must be f32, f16 or q8_0, got '{}'", s);
}

namespace {

// llama.cpp file_type values (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q8_0).
uint32_t file_type(GgufWeightType t) { return t == GgufWeightType::F32 ? 0 : t == GgufWeightType::F16 ? 1 : 7; }

void add_tokenizer(GgufWriter& w, const tok::Tokenizer& tok, const model::GptConfig& cfg) {
  CF_CHECK(tok.pretokenizer().is_gpt2(),
           "GGUF export supports the GPT-2 pre-tokenizer only (llama.cpp 'gpt-2'); this tokenizer uses another pattern");
  CF_CHECK(tok.vocab_size() <= cfg.vocab_size, "the tokenizer has {} tokens but the model only {} embeddings",
           tok.vocab_size(), cfg.vocab_size);
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int32_t id = 0; id < cfg.vocab_size; ++id) {
    if (id >= tok.vocab_size()) {  // embeddings the tokenizer never produces
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(5);  // unused
    } else if (tok.is_special(id)) {
      tokens.emplace_back(tok.token_bytes(id));
      types.push_back(3);  // control
    } else {
      tokens.push_back(tok::bytes_to_unicode(tok.token_bytes(id)));
      types.push_back(1);  // normal
    }
  }
  std::vector<std::string> merges;
  merges.reserve(tok.merges().size());
  for (const tok::Merge& m : tok.merges())
    merges.push_back(tok::bytes_to_unicode(tok.token_bytes(m.left)) + " " +
                     tok::bytes_to_unicode(tok.token_bytes(m.right)));
  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", "gpt-2");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);
  const auto eot = tok.special_token_id(tok::kEndOfText);
  const int bos = cfg.bos_token_id >= 0 ? cfg.bos_token_id : eot.value_or(-1);
  const int eos = cfg.eos_token_id >= 0 ? cfg.eos_token_id : eot.value_or(-1);
  if (bos >= 0) w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
  if (eos >= 0) w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos));
  w.add_bool("tokenizer.ggml.add_bos_token", false);
  w.add_bool("tokenizer.ggml.add_eos_token", false);
  const auto im_start = tok.special_token_id(tok::kImStart);
  const auto im_end = tok.special_token_id(tok::kImEnd);
  if (im_start && im_end) {
    w.add_u32("tokenizer.ggml.eot_token_id", static_cast<uint32_t>(*im_end));
    w.add_string("tokenizer.chat_template", tok::ChatFormat::jinja_template());
  }
}

}  // namespace

void export_gguf(const std::string& path, const model::Gpt& gpt, const tok::Tokenizer& tok, GgufWeightType type,
                 const std::string& name) {
  const model::GptConfig& cfg = gpt.config();
  const uint64_t C = cfg.n_embd, L = cfg.n_layer, V = cfg.vocab_size, T = cfg.n_ctx;
  GgufWriter w;
  w.add_string("general.architecture", "gpt2");
  w.add_string("general.name", name);
  w.add_u32("general.file_type", file_type(type));
  if (type == GgufWeightType::Q8_0) w.add_u32("general.quantization_version", 2);
  w.add_u32("general.alignment", GgufWriter::kAlignment);
  w.add_u32("gpt2.context_length", static_cast<uint32_t>(T));
  w.add_u32("gpt2.embedding_length", static_cast<uint32_t>(C));
  w.add_u32("gpt2.feed_forward_length", static_cast<uint32_t>(4 * C));
  w.add_u32("gpt2.block_count", static_cast<uint32_t>(L));
  w.add_u32("gpt2.attention.head_count", static_cast<uint32_t>(cfg.n_head));
  w.add_f32("gpt2.attention.layer_norm_epsilon", 1e-5f);
  add_tokenizer(w, tok, cfg);

  const model::GptParams p = gpt.layout().views(const_cast<float*>(gpt.params().data()));
  // A row-major (rows, cols) matrix is ggml ne = {cols, rows}: our matrices are already
  // nn.Linear (out, in), the layout llama.cpp multiplies with (no Conv1D transpose here).
  auto matrix = [&](const std::string& n, const float* data, uint64_t rows, uint64_t cols, bool quantizable) {
    GgmlType t = GgmlType::F32;
    if (type == GgufWeightType::F16) t = GgmlType::F16;
    if (type == GgufWeightType::Q8_0) t = quantizable && cols % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
    w.add_tensor(n, {cols, rows}, t, ggml_encode(t, data, rows * cols));
  };
  auto vector = [&](const std::string& n, const float* data, uint64_t len) {
    w.add_tensor(n, {len}, GgmlType::F32, ggml_encode(GgmlType::F32, data, len));
  };
  matrix("token_embd.weight", p.wte, V, C, true);  // the first V rows: the rest is padding
  matrix("position_embd.weight", p.wpe, T, C, false);
  for (uint64_t l = 0; l < L; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    vector(b + "attn_norm.weight", p.ln1w + l * C, C);
    vector(b + "attn_norm.bias", p.ln1b + l * C, C);
    matrix(b + "attn_qkv.weight", p.qkvw + l * 3 * C * C, 3 * C, C, true);
    vector(b + "attn_qkv.bias", p.qkvb + l * 3 * C, 3 * C);
    matrix(b + "attn_output.weight", p.attprojw + l * C * C, C, C, true);
    vector(b + "attn_output.bias", p.attprojb + l * C, C);
    vector(b + "ffn_norm.weight", p.ln2w + l * C, C);
    vector(b + "ffn_norm.bias", p.ln2b + l * C, C);
    matrix(b + "ffn_up.weight", p.fcw + l * 4 * C * C, 4 * C, C, true);
    vector(b + "ffn_up.bias", p.fcb + l * 4 * C, 4 * C);
    matrix(b + "ffn_down.weight", p.fcprojw + l * 4 * C * C, C, 4 * C, true);
    vector(b + "ffn_down.bias", p.fcprojb + l * C, C);
  }
  vector("output_norm.weight", p.lnfw, C);
  vector("output_norm.bias", p.lnfb, C);
  w.write(path);
}

}  // namespace chatforge::interop
