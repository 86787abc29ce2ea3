// Implementation of checkpoint.h.
#include "model/checkpoint.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"

namespace chatforge::model {

GptConfig load_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  CF_CHECK(is_directory(dir), "model directory {} does not exist", dir);
  CF_CHECK(file_exists(path), "{} is missing (is {} a chatforge or Hugging Face GPT-2 checkpoint?)", path, dir);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail("{}: invalid JSON: {}", path, e.what());
  }
  return GptConfig::from_hf_json(j, path);
}

void write_weights(const std::string& path, const Gpt& model, DType dtype) {
  CF_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16,
           "weights can be written as F32, F16 or BF16, not {}", dtype_name(dtype));
  const auto slices = param_slices(model.config(), model.layout());
  std::vector<std::vector<float>> f32(slices.size());
  std::vector<std::vector<uint16_t>> half(slices.size());
  SafeTensorsWriter w;
  w.set_metadata("format", "pt");
  for (size_t i = 0; i < slices.size(); ++i) {
    const ParamSlice& t = slices[i];
    f32[i].resize(t.rows * t.cols);
    export_hf(t, model.params().data(), f32[i].data());
    if (dtype == DType::F32) {
      w.add_f32(t.hf_name, t.hf_shape, f32[i].data());
      continue;
    }
    half[i].resize(f32[i].size());
    for (size_t k = 0; k < f32[i].size(); ++k)
      half[i][k] = dtype == DType::F16 ? float_to_half(f32[i][k]) : float_to_bf16(f32[i][k]);
    std::vector<float>().swap(f32[i]);
    w.add(t.hf_name, dtype, t.hf_shape, half[i].data());
  }
  w.write(path);
}

void save_model(const std::string& dir, const Gpt& model, DType dtype) {
  make_dirs(dir);
  nlohmann::json cj = model.config().to_hf_json();
  cj["torch_dtype"] = dtype == DType::F32 ? "float32" : dtype == DType::F16 ? "float16" : "bfloat16";
  write_file_atomic(dir + "/config.json", cj.dump(2) + "\n");
  write_weights(dir + "/model.safetensors", model, dtype);
}

std::vector<std::string> weight_files(const std::string& dir) {
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  if (file_exists(single)) return {single};
  if (file_exists(index)) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(read_file(index));
    } catch (const nlohmann::json::exception& e) {
      fail("{}: invalid JSON: {}", index, e.what());
    }
    CF_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
             "{}: missing field 'weight_map'", index);
    std::set<std::string> files;  // sorted: shards in name order
    for (const auto& [name, file] : j["weight_map"].items()) {
      CF_CHECK(file.is_string(), "{}: weight_map['{}'] must be a file name", index, name);
      files.insert(file.get<std::string>());
    }
    CF_CHECK(!files.empty(), "{}: weight_map is empty", index);
    std::vector<std::string> out;
    for (const auto& f : files) {
      CF_CHECK(f.find('/') == std::string::npos, "{}: shard name '{}' must be a plain file name", index, f);
      CF_CHECK(file_exists(dir + "/" + f), "{}: shard {} is missing", index, dir + "/" + f);
      out.push_back(dir + "/" + f);
    }
    return out;
  }
  if (file_exists(dir + "/pytorch_model.bin"))
    fail("{}: only safetensors weights are supported; found pytorch_model.bin (convert it with "
         "`transformers` save_pretrained(safe_serialization=True))", dir);
  fail("{}: no model.safetensors or model.safetensors.index.json", dir);
}

namespace {

// Tensors Hugging Face GPT-2 checkpoints may carry that are not parameters: the
// causal-mask buffers of old saves.
bool is_known_buffer(const std::string& name) {
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return ends_with(".attn.bias") || ends_with(".attn.masked_bias");
}

bool is_float_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

}  // namespace

DType read_weights(Gpt& model, const std::vector<std::string>& paths, const ReadOptions& opt) {
  // Every tensor of every file, with the reader that holds it.
  std::vector<std::unique_ptr<SafeTensorsReader>> readers;
  std::map<std::string, const SafeTensorsReader*> where;
  for (const std::string& f : paths) {
    readers.push_back(std::make_unique<SafeTensorsReader>(f));
    for (const auto& [name, info] : readers.back()->tensors()) {
      auto [it, fresh] = where.emplace(name, readers.back().get());
      CF_CHECK(fresh, "tensor '{}' is stored twice ({} and {})", name, it->second->path(), f);
    }
  }
  const std::string files_desc = readers.size() == 1 ? readers[0]->path() : "the sharded safetensors files";
  // HF GPT2LMHeadModel saves "transformer.h.0...", GPT2Model saves "h.0...": accept both.
  bool has_prefix = false;
  for (const auto& [name, r] : where)
    if (name.rfind(opt.prefix + "transformer.", 0) == 0) has_prefix = true;
  const size_t strip = has_prefix ? 0 : std::string("transformer.").size();

  model.params().zero();
  std::set<std::string> used;
  DType matrix_dtype = DType::F32;
  bool dtype_seen = false;
  for (const ParamSlice& t : param_slices(model.config(), model.layout())) {
    const std::string name = opt.prefix + t.hf_name.substr(strip);
    auto it = where.find(name);
    CF_CHECK(it != where.end(), "{}: missing tensor '{}' (shape [{}])", files_desc, name, fmt::join(t.hf_shape, ", "));
    const SafeTensorInfo& info = it->second->get(name);
    CF_CHECK(is_float_dtype(info.dtype), "{}: tensor '{}' has dtype {}, expected F32, F16 or BF16",
             it->second->path(), name, dtype_name(info.dtype));
    if (!dtype_seen && t.matrix()) {
      matrix_dtype = info.dtype;
      dtype_seen = true;
    }
    std::vector<float> buf(t.rows * t.cols);
    it->second->read_f32(name, t.hf_shape, buf.data());  // checks the shape, naming the tensor
    import_hf(t, buf.data(), model.params().data());
    used.insert(name);
  }
  for (const auto& [name, r] : where) {
    if (used.count(name) || opt.allow_unknown || is_known_buffer(name)) continue;
    if (name == opt.prefix + "lm_head.weight") {
      // GPT-2's head is tied to wte; an untied head cannot be represented.
      const GptConfig& cfg = model.config();
      std::vector<float> head(static_cast<size_t>(cfg.vocab_size) * cfg.n_embd);
      r->read_f32(name, {cfg.vocab_size, cfg.n_embd}, head.data());
      const float* wte = model.params().data() + model.layout().find("wte").offset;
      for (size_t i = 0; i < head.size(); ++i)
        CF_CHECK(head[i] == wte[i], "{}: tensor 'lm_head.weight' differs from the token embedding (an untied "
                 "output head is not supported by GPT-2)", r->path());
      continue;
    }
    fail("{}: unexpected tensor '{}' (not a GPT-2 parameter)", r->path(), name);
  }
  model.push_params();
  return matrix_dtype;
}

void load_weights(Gpt& model, const std::string& path, const std::string& prefix) {
  read_weights(model, {path}, ReadOptions{prefix, true});
}

std::unique_ptr<Gpt> load_model(const std::string& dir, DType* source_dtype) {
  const GptConfig cfg = load_config(dir);
  const auto files = weight_files(dir);  // one file, or the shards of an HF index
  auto model = std::make_unique<Gpt>(cfg);
  const DType d = read_weights(*model, files);
  if (source_dtype != nullptr) *source_dtype = d;
  return model;
}

}  // namespace chatforge::model
