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
  const int eos = cfg.eos_token_id() >= 0 ? cfg.eos_token_id() : eot.value_or(-1);
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
  CF_CHECK(!cfg.llama(), "GGUF export of {} models is not supported yet (GPT-2 only); export a Hugging Face folder "
           "with `convert --to hf` and convert it with llama.cpp's convert_hf_to_gguf.py", cfg.model_type);
  const uint64_t C = cfg.n_embd, L = cfg.n_layer, T = cfg.n_ctx;
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

  // Every parameter under llama.cpp's name, from the parameter table. A row-major (rows,
  // cols) matrix is ggml ne = {cols, rows}: our matrices are already nn.Linear (out, in),
  // the layout llama.cpp multiplies with (no Conv1D transpose here).
  for (const model::ParamSlice& t : model::param_slices(cfg, gpt.layout())) {
    const float* data = gpt.params().data() + t.offset;
    const uint64_t rows = static_cast<uint64_t>(t.rows), cols = static_cast<uint64_t>(t.cols);
    if (!t.matrix()) {  // norms and biases stay F32
      w.add_tensor(t.gguf_name, {rows}, GgmlType::F32, ggml_encode(GgmlType::F32, data, rows));
      continue;
    }
    GgmlType g = GgmlType::F32;
    if (type == GgufWeightType::F16) g = GgmlType::F16;
    if (type == GgufWeightType::Q8_0)
      g = t.tensor->gguf_quantizable && cols % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16;
    w.add_tensor(t.gguf_name, {cols, rows}, g, ggml_encode(g, data, rows * cols));
  }
  w.write(path);
}

}  // namespace chatforge::interop
