// Implementation of hf_folder.h.
#include "interop/hf_folder.h"

#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "model/checkpoint.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {
namespace {

using ordered_json = nlohmann::ordered_json;

nlohmann::json read_json(const std::string& path) { return parse_json(read_file(path), path); }

// Tensors HF checkpoints may carry that are not parameters: the causal-mask buffers of
// old GPT-2 saves, and the output head (tied to wte, checked below).
bool is_known_buffer(const std::string& name) {
  auto ends_with = [&](const char* s) {
    const size_t n = std::strlen(s);
    return name.size() >= n && name.compare(name.size() - n, n, s) == 0;
  };
  return ends_with(".attn.bias") || ends_with(".attn.masked_bias");
}

bool is_float_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

void check_config_architecture(const nlohmann::json& j, const std::string& path) {
  if (j.contains("architectures") && j["architectures"].is_array())
    for (const auto& a : j["architectures"]) {
      CF_CHECK(a.is_string(), "{}: field 'architectures' must hold strings", path);
      const std::string arch = a.get<std::string>();
      CF_CHECK(arch == "GPT2LMHeadModel" || arch == "GPT2Model",
               "{}: unsupported architecture '{}' in field 'architectures' (supported: GPT2LMHeadModel)", path, arch);
    }
}

}  // namespace

std::unique_ptr<model::Gpt> read_hf_model(const std::string& dir, DType* source_dtype) {
  CF_CHECK(is_directory(dir), "{} is not a directory", dir);
  const std::string cfg_path = dir + "/config.json";
  CF_CHECK(file_exists(cfg_path), "{} is missing (is {} a Hugging Face GPT-2 folder?)", cfg_path, dir);
  const nlohmann::json cj = read_json(cfg_path);
  CF_CHECK(cj.is_object(), "{}: config is not a JSON object", cfg_path);
  check_config_architecture(cj, cfg_path);
  CF_CHECK(cj.contains("model_type"), "{}: missing field 'model_type' (expected \"gpt2\")", cfg_path);
  const model::GptConfig cfg = model::GptConfig::from_hf_json(cj, cfg_path);

  // Every tensor of every shard, with the reader that holds it.
  std::vector<std::unique_ptr<SafeTensorsReader>> readers;
  std::map<std::string, const SafeTensorsReader*> where;
  for (const std::string& f : model::weight_files(dir)) {
    readers.push_back(std::make_unique<SafeTensorsReader>(f));
    for (const auto& [name, info] : readers.back()->tensors()) {
      auto [it, fresh] = where.emplace(name, readers.back().get());
      CF_CHECK(fresh, "tensor '{}' is stored twice ({} and {})", name, it->second->path(), f);
    }
  }
  const std::string files_desc = readers.size() == 1 ? readers[0]->path() : dir + " (sharded safetensors)";
  bool has_prefix = false;
  for (const auto& [name, r] : where)
    if (name.rfind("transformer.", 0) == 0) has_prefix = true;

  // the config's sizes against the headers before allocating a model of that size
  model::check_config_matches_weights(cfg, cfg_path, readers);
  auto gpt = std::make_unique<model::Gpt>(cfg);
  gpt->params().zero();
  std::set<std::string> used;
  bool dtype_set = false;
  for (const model::HfTensor& t : model::hf_tensors(cfg, gpt->layout())) {
    const std::string name = has_prefix ? t.name : t.name.substr(std::string("transformer.").size());
    auto it = where.find(name);
    CF_CHECK(it != where.end(), "{}: missing tensor '{}' (shape [{}])", files_desc, name, fmt::join(t.shape, ", "));
    const SafeTensorInfo& info = it->second->get(name);
    CF_CHECK(is_float_dtype(info.dtype), "{}: tensor '{}' has dtype {}, expected F32, F16 or BF16",
             it->second->path(), name, dtype_name(info.dtype));
    if (!dtype_set && t.shape.size() == 2) {
      if (source_dtype) *source_dtype = info.dtype;
      dtype_set = true;
    }
    std::vector<float> buf(t.rows * t.cols);
    it->second->read_f32(name, t.shape, buf.data());  // checks the shape, naming the tensor
    model::import_hf(t, buf.data(), gpt->params().data());
    used.insert(name);
  }
  for (const auto& [name, r] : where) {
    if (used.count(name) || is_known_buffer(name)) continue;
    if (name == "lm_head.weight") {
      // GPT-2's head is tied to wte; an untied head cannot be represented.
      const std::vector<int64_t> want = {cfg.vocab_size, cfg.n_embd};
      std::vector<float> head(static_cast<size_t>(cfg.vocab_size) * cfg.n_embd);
      r->read_f32(name, want, head.data());
      const float* wte = gpt->params().data() + gpt->layout().find("wte").offset;
      for (size_t i = 0; i < head.size(); ++i)
        CF_CHECK(head[i] == wte[i], "{}: tensor 'lm_head.weight' differs from the token embedding (an untied "
                 "output head is not supported by GPT-2)", r->path());
      continue;
    }
    fail("{}: unexpected tensor '{}' (not a GPT-2 parameter)", r->path(), name);
  }
  return gpt;
}

namespace {

std::string vocab_json(const tok::Tokenizer& t) {
  ordered_json v = ordered_json::object();
  for (int32_t id = 0; id < t.vocab_size(); ++id) {
    const std::string_view b = t.token_bytes(id);
    v[t.is_special(id) ? std::string(b) : tok::bytes_to_unicode(b)] = id;
  }
  return v.dump() + "\n";
}

std::string merges_txt(const tok::Tokenizer& t) {
  std::string out = "#version: 0.2\n";
  for (const tok::Merge& m : t.merges()) {
    out += tok::bytes_to_unicode(t.token_bytes(m.left));
    out += ' ';
    out += tok::bytes_to_unicode(t.token_bytes(m.right));
    out += '\n';
  }
  return out;
}

bool has_chat_tokens(const tok::Tokenizer& t) {
  return t.special_token_id(tok::kImStart) && t.special_token_id(tok::kImEnd);
}

}  // namespace

void write_hf_folder(const std::string& dir, const model::Gpt& gpt, const tok::Tokenizer* tokenizer, DType dtype) {
  CF_CHECK(is_float_dtype(dtype), "HF export dtype must be F32, F16 or BF16");
  model::GptConfig cfg = gpt.config();
  std::optional<int32_t> eot = tokenizer ? tokenizer->special_token_id(tok::kEndOfText) : std::nullopt;
  if (tokenizer) {
    CF_CHECK(tokenizer->vocab_size() <= cfg.vocab_size,
             "the tokenizer has {} tokens but the model only {} embeddings", tokenizer->vocab_size(), cfg.vocab_size);
    if (eot && cfg.bos_token_id < 0) cfg.bos_token_id = *eot;
    if (eot && cfg.eos_token_id < 0) cfg.eos_token_id = *eot;
  }
  nlohmann::json cj = cfg.to_hf_json();
  cj["torch_dtype"] = dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
  write_file_atomic(dir + "/config.json", cj.dump(2) + "\n");

  const auto tensors = model::hf_tensors(cfg, gpt.layout());
  std::vector<std::vector<float>> f32(tensors.size());
  std::vector<std::vector<uint16_t>> half(tensors.size());
  SafeTensorsWriter w;
  w.set_metadata("format", "pt");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const model::HfTensor& t = tensors[i];
    f32[i].resize(t.rows * t.cols);
    model::export_hf(t, gpt.params().data(), f32[i].data());
    if (dtype == DType::F32) {
      w.add_f32(t.name, t.shape, f32[i].data());
    } else {
      half[i].resize(f32[i].size());
      for (size_t k = 0; k < f32[i].size(); ++k)
        half[i][k] = dtype == DType::F16 ? float_to_half(f32[i][k]) : float_to_bf16(f32[i][k]);
      std::vector<float>().swap(f32[i]);
      w.add(t.name, dtype, t.shape, half[i].data());
    }
  }
  w.write(dir + "/model.safetensors");

  ordered_json gen;
  gen["_from_model_config"] = true;
  if (cfg.bos_token_id >= 0) gen["bos_token_id"] = cfg.bos_token_id;
  if (cfg.eos_token_id >= 0) {
    std::vector<int32_t> eos = {cfg.eos_token_id};
    if (tokenizer && has_chat_tokens(*tokenizer)) eos.push_back(*tokenizer->special_token_id(tok::kImEnd));
    if (eos.size() == 1) gen["eos_token_id"] = eos[0]; else gen["eos_token_id"] = eos;
  }
  gen["transformers_version"] = "4.40.0";
  write_file_atomic(dir + "/generation_config.json", gen.dump(2) + "\n");

  if (!tokenizer) return;
  write_file_atomic(dir + "/tokenizer.json", tokenizer->to_hf_json());
  if (tokenizer->pretokenizer().is_gpt2()) {  // the slow GPT2Tokenizer's files
    write_file_atomic(dir + "/vocab.json", vocab_json(*tokenizer));
    write_file_atomic(dir + "/merges.txt", merges_txt(*tokenizer));
  }
  ordered_json tc = parse_ordered_json(tokenizer->to_hf_config_json(), "tokenizer_config.json");
  tc["model_max_length"] = cfg.n_ctx;
  if (has_chat_tokens(*tokenizer)) tc["chat_template"] = tok::ChatFormat::jinja_template();
  write_file_atomic(dir + "/tokenizer_config.json", tc.dump(2) + "\n");
}

}  // namespace chatforge::interop
