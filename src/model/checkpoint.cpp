// Implementation of checkpoint.h.
#include "model/checkpoint.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/safetensors.h"

namespace chatforge::model {

GptConfig load_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  CF_CHECK(is_directory(dir), "model directory {} does not exist", dir);
  CF_CHECK(file_exists(path), "{} is missing (is {} a chatforge or Hugging Face GPT-2 checkpoint?)", path, dir);
  nlohmann::json j;
  try {
    j = parse_json(read_file(path), path);
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
      j = parse_json(read_file(index), index);
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

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The first reader holding `name` (the last one when none does: its error names a file).
const SafeTensorsReader* holder(const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                                const std::string& name) {
  for (const auto& r : readers)
    if (r->has(name)) return r.get();
  return nullptr;
}

bool has_transformer_prefix(const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                            const std::string& prefix) {
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors())
      if (name.rfind(prefix + "transformer.", 0) == 0) return true;
  return false;
}

void fill_from(Gpt& model, const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
               const std::string& prefix) {
  // HF GPT2LMHeadModel saves "transformer.h.0...", GPT2Model saves "h.0...": accept both.
  const bool has_prefix = has_transformer_prefix(readers, prefix);
  model.params().zero();
  for (const HfTensor& t : hf_tensors(model.config(), model.layout())) {
    const std::string name = prefix + (has_prefix ? t.name : t.name.substr(std::string("transformer.").size()));
    const SafeTensorsReader* from = holder(readers, name);
    if (from == nullptr) from = readers.front().get();
    std::vector<float> buf(t.rows * t.cols);
    from->read_f32(name, t.shape, buf.data());  // errors name the file and the tensor
    import_hf(t, buf.data(), model.params().data());
  }
}

std::vector<std::unique_ptr<SafeTensorsReader>> open_all(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<SafeTensorsReader>> readers;  // maps the files, reads the headers
  for (const auto& p : paths) readers.push_back(std::make_unique<SafeTensorsReader>(p));
  return readers;
}

}  // namespace

void check_config_matches_weights(const GptConfig& cfg, const std::string& config_path,
                                  const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                                  const std::string& prefix) {
  CF_ASSERT(!readers.empty());
  const bool has_prefix = has_transformer_prefix(readers, prefix);
  const std::string files = readers.size() == 1 ? readers[0]->path() : "the weight shards";
  auto find = [&](const std::string& short_name) -> std::pair<const SafeTensorsReader*, const SafeTensorInfo*> {
    const std::string name = prefix + (has_prefix ? "transformer." : "") + short_name;
    const SafeTensorsReader* r = holder(readers, name);
    return {r, r ? &r->get(name) : nullptr};
  };
  // The fields that size the model first, each by the tensor that shows it.
  if (auto [r, wte] = find("wte.weight"); wte != nullptr && wte->shape.size() == 2) {
    CF_CHECK(wte->shape[1] == cfg.n_embd, "{}: n_embd is {} but tensor '{}' in {} has shape {} (n_embd {})",
             config_path, cfg.n_embd, wte->name, r->path(), wte->shape_str(), wte->shape[1]);
    CF_CHECK(wte->shape[0] == cfg.vocab_size, "{}: vocab_size is {} but tensor '{}' in {} has shape {} ({} tokens)",
             config_path, cfg.vocab_size, wte->name, r->path(), wte->shape_str(), wte->shape[0]);
  }
  if (auto [r, wpe] = find("wpe.weight"); wpe != nullptr && wpe->shape.size() == 2)
    CF_CHECK(wpe->shape[0] == cfg.n_ctx, "{}: n_positions is {} but tensor '{}' in {} has shape {} ({} positions)",
             config_path, cfg.n_ctx, wpe->name, r->path(), wpe->shape_str(), wpe->shape[0]);
  int layers = 0;  // h.0 .. h.(layers-1) in the files
  const std::string h = prefix + (has_prefix ? "transformer." : "") + "h.";
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors())
      if (name.rfind(h, 0) == 0) {
        const long i = std::strtol(name.c_str() + h.size(), nullptr, 10);
        if (i >= 0 && i < (1 << 20)) layers = std::max(layers, static_cast<int>(i) + 1);
      }
  CF_CHECK(layers == 0 || layers == cfg.n_layer, "{}: n_layer is {} but {} hold{} {} layers", config_path,
           cfg.n_layer, files, readers.size() == 1 ? "s" : "", layers);
  // Then every tensor the config implies, from the headers alone: after this the model's
  // size is backed by bytes in the files, so allocating it cannot be a config's whim.
  const ParamLayout layout(cfg);
  for (const HfTensor& t : hf_tensors(cfg, layout)) {
    const std::string short_name = t.name.substr(std::string("transformer.").size());
    auto [r, info] = find(short_name);
    const std::string name = prefix + (has_prefix ? t.name : short_name);
    CF_CHECK(info != nullptr, "{}: missing tensor '{}' (shape {}, from {})", files, name, shape_str(t.shape),
             config_path);
    CF_CHECK(info->shape == t.shape, "{}: tensor '{}' has shape {}, expected {} from {} (n_embd {})", r->path(), name,
             info->shape_str(), shape_str(t.shape), config_path, cfg.n_embd);
  }
}

void load_weights(Gpt& model, const std::vector<std::string>& paths, const std::string& prefix) {
  fill_from(model, open_all(paths), prefix);
}

void load_weights(Gpt& model, const std::string& path, const std::string& prefix) {
  load_weights(model, std::vector<std::string>{path}, prefix);
}

GptConfig load_checked_config(const std::string& dir) {
  const GptConfig cfg = load_config(dir);
  check_config_matches_weights(cfg, dir + "/config.json", open_all(weight_files(dir)));
  return cfg;
}

std::unique_ptr<Gpt> load_model(const std::string& dir) {
  const GptConfig cfg = load_config(dir);
  const auto readers = open_all(weight_files(dir));  // one file, or the shards of an HF index
  check_config_matches_weights(cfg, dir + "/config.json", readers);  // before allocating cfg's size
  auto model = std::make_unique<Gpt>(cfg);
  fill_from(*model, readers, "");
  return model;
}

}  // namespace chatforge::model
