// Implementation of checkpoint.h.
#include "model/checkpoint.h"

#include <nlohmann/json.hpp>
#include <algorithm>
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

void save_model(const std::string& dir, const Gpt& model) {
  make_dirs(dir);
  const GptConfig& cfg = model.config();
  write_file_atomic(dir + "/config.json", cfg.to_hf_json().dump(2) + "\n");
  const auto tensors = hf_tensors(cfg, model.layout());
  std::vector<std::vector<float>> buffers(tensors.size());
  SafeTensorsWriter w;
  w.set_metadata("format", "pt");
  for (size_t i = 0; i < tensors.size(); ++i) {
    const HfTensor& t = tensors[i];
    buffers[i].resize(t.rows * t.cols);
    export_hf(t, model.params().data(), buffers[i].data());
    w.add_f32(t.name, t.shape, buffers[i].data());
  }
  w.write(dir + "/model.safetensors");
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

void load_weights(Gpt& model, const std::vector<std::string>& paths, const std::string& prefix) {
  std::vector<std::unique_ptr<SafeTensorsReader>> readers;
  for (const auto& p : paths) readers.push_back(std::make_unique<SafeTensorsReader>(p));
  // HF GPT2LMHeadModel saves "transformer.h.0...", GPT2Model saves "h.0...": accept both.
  bool has_prefix = false;
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors())
      if (name.rfind(prefix + "transformer.", 0) == 0) has_prefix = true;
  model.params().zero();
  for (const HfTensor& t : hf_tensors(model.config(), model.layout())) {
    const std::string name = prefix + (has_prefix ? t.name : t.name.substr(std::string("transformer.").size()));
    const SafeTensorsReader* from = readers.front().get();
    for (const auto& r : readers)
      if (r->has(name)) from = r.get();
    std::vector<float> buf(t.rows * t.cols);
    from->read_f32(name, t.shape, buf.data());  // errors name the file and the tensor
    import_hf(t, buf.data(), model.params().data());
  }
}

void load_weights(Gpt& model, const std::string& path, const std::string& prefix) {
  load_weights(model, std::vector<std::string>{path}, prefix);
}

std::unique_ptr<Gpt> load_model(const std::string& dir) {
  const GptConfig cfg = load_config(dir);
  const auto files = weight_files(dir);  // one file, or the shards of an HF index
  auto model = std::make_unique<Gpt>(cfg);
  load_weights(*model, files);
  return model;
}

}  // namespace chatforge::model
