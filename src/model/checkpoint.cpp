// Implementation of checkpoint.h.
#include "model/checkpoint.h"

#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
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
  CF_CHECK(file_exists(path), "{} is missing (is {} a chatforge or Hugging Face model folder?)", path, dir);
  nlohmann::json j;
  try {
    j = parse_json(read_file(path), path);
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

// Tensors Hugging Face checkpoints may carry that are not parameters: GPT-2's causal-mask
// buffers and Llama's rotary inverse frequencies, in old saves.
bool is_known_buffer(const std::string& name) {
  auto ends_with = [&](const char* suffix) {
    const size_t n = std::strlen(suffix);
    return name.size() >= n && name.compare(name.size() - n, n, suffix) == 0;
  };
  return ends_with(".attn.bias") || ends_with(".attn.masked_bias") || ends_with(".rotary_emb.inv_freq");
}

bool is_float_dtype(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16; }

std::vector<std::unique_ptr<SafeTensorsReader>> open_all(const std::vector<std::string>& paths) {
  std::vector<std::unique_ptr<SafeTensorsReader>> readers;  // maps the files, reads the headers
  for (const auto& p : paths) readers.push_back(std::make_unique<SafeTensorsReader>(p));
  return readers;
}

// The first reader holding `name`, or null.
const SafeTensorsReader* holder(const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                                const std::string& name) {
  for (const auto& r : readers)
    if (r->has(name)) return r.get();
  return nullptr;
}

// HF GPT2LMHeadModel saves "transformer.h.0...", GPT2Model saves "h.0..." (LlamaForCausalLM
// "model.layers.0...", LlamaModel "layers.0..."): both are read.
bool has_root_prefix(const std::vector<std::unique_ptr<SafeTensorsReader>>& readers, const std::string& prefix,
                     const std::string& root) {
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors())
      if (name.rfind(prefix + root, 0) == 0) return true;
  return false;
}

// A parameter's name in files saved with or without the root prefix (the untied head
// "lm_head.weight" sits outside the root either way).
std::string stored_name(const std::string& hf_name, const std::string& root, bool has_root) {
  if (has_root || hf_name.rfind(root, 0) != 0) return hf_name;
  return hf_name.substr(root.size());
}

std::string checkpoint_shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace

void check_config_matches_weights(const GptConfig& cfg, const std::string& config_path,
                                  const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                                  const std::string& prefix) {
  CF_ASSERT(!readers.empty());
  const HfNames names = hf_names(cfg);
  const bool has_prefix = has_root_prefix(readers, prefix, names.root);
  const std::string files = readers.size() == 1 ? readers[0]->path() : "the weight shards";
  auto find_stored = [&](const std::string& name) -> std::pair<const SafeTensorsReader*, const SafeTensorInfo*> {
    const SafeTensorsReader* r = holder(readers, name);
    return {r, r ? &r->get(name) : nullptr};
  };
  auto find = [&](const std::string& short_name) {
    return find_stored(prefix + (has_prefix ? names.root : "") + short_name);
  };
  // The fields that size the model first, each by the tensor that shows it.
  const char* n_embd_key = cfg.llama() ? "hidden_size" : "n_embd";
  if (auto [r, wte] = find(names.embed); wte != nullptr && wte->shape.size() == 2) {
    CF_CHECK(wte->shape[1] == cfg.n_embd, "{}: {} is {} but tensor '{}' in {} has shape {} ({} {})", config_path,
             n_embd_key, cfg.n_embd, wte->name, r->path(), wte->shape_str(), n_embd_key, wte->shape[1]);
    CF_CHECK(wte->shape[0] == cfg.vocab_size, "{}: vocab_size is {} but tensor '{}' in {} has shape {} ({} tokens)",
             config_path, cfg.vocab_size, wte->name, r->path(), wte->shape_str(), wte->shape[0]);
  }
  if (auto [r, wpe] = find("wpe.weight"); wpe != nullptr && wpe->shape.size() == 2)
    CF_CHECK(wpe->shape[0] == cfg.n_ctx, "{}: n_positions is {} but tensor '{}' in {} has shape {} ({} positions)",
             config_path, cfg.n_ctx, wpe->name, r->path(), wpe->shape_str(), wpe->shape[0]);
  int layers = 0;  // h.0 .. h.(layers-1) in the files
  const std::string h = prefix + (has_prefix ? names.root : "") + names.layers;
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors())
      if (name.rfind(h, 0) == 0) {
        const long i = std::strtol(name.c_str() + h.size(), nullptr, 10);
        if (i >= 0 && i < (1 << 20)) layers = std::max(layers, static_cast<int>(i) + 1);
      }
  CF_CHECK(layers == 0 || layers == cfg.n_layer, "{}: {} is {} but {} hold{} {} layers", config_path,
           cfg.llama() ? "num_hidden_layers" : "n_layer", cfg.n_layer, files, readers.size() == 1 ? "s" : "", layers);
  // Then every tensor the config implies, from the headers alone: after this the model's
  // size is backed by bytes in the files, so allocating it cannot be a config's whim.
  const ParamLayout layout(cfg);
  for (const ParamSlice& t : param_slices(cfg, layout)) {
    const std::string name = prefix + stored_name(t.hf_name, names.root, has_prefix);
    auto [r, info] = find_stored(name);
    CF_CHECK(info != nullptr, "{}: missing tensor '{}' (shape {}, from {})", files, name, checkpoint_shape_str(t.hf_shape),
             config_path);
    CF_CHECK(info->shape == t.hf_shape, "{}: tensor '{}' has shape {}, expected {} from {} ({} {})", r->path(), name,
             info->shape_str(), checkpoint_shape_str(t.hf_shape), config_path, n_embd_key, cfg.n_embd);
  }
}

DType read_weights(Gpt& model, const std::vector<std::string>& paths, const ReadOptions& opt) {
  return read_weights(model, open_all(paths), opt);
}

DType read_weights(Gpt& model, const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                   const ReadOptions& opt) {
  CF_ASSERT(!readers.empty());
  // Every tensor of every file, with the reader that holds it.
  std::map<std::string, const SafeTensorsReader*> where;
  for (const auto& r : readers)
    for (const auto& [name, info] : r->tensors()) {
      auto [it, fresh] = where.emplace(name, r.get());
      CF_CHECK(fresh, "tensor '{}' is stored twice ({} and {})", name, it->second->path(), r->path());
    }
  const std::string files_desc = readers.size() == 1 ? readers[0]->path() : "the sharded safetensors files";
  const GptConfig& cfg = model.config();
  const HfNames names = hf_names(cfg);
  const bool has_prefix = has_root_prefix(readers, opt.prefix, names.root);

  const bool reduced = model.stored_base() != nullptr;  // matrices rounded as they are read
  if (!reduced) model.params().zero();
  std::vector<float> ours;  // a reduced base's slice in our layout
  std::set<std::string> used;
  DType matrix_dtype = DType::F32;
  bool dtype_seen = false;
  for (const ParamSlice& t : param_slices(model.config(), model.layout())) {
    const std::string name = opt.prefix + stored_name(t.hf_name, names.root, has_prefix);
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
    if (reduced) {
      ParamSlice local = t;
      local.offset = 0;
      ours.resize(buf.size());
      import_hf(local, buf.data(), ours.data());
      const int layer = std::max(t.layer, 0);
      const size_t per = t.tensor->numel() / (t.tensor->per_layer ? t.tensor->shape[0] : 1);
      const int64_t row0 = static_cast<int64_t>(t.offset - t.tensor->offset - layer * per) / t.cols;
      model.write_rows(*t.tensor, layer, row0, t.rows, ours.data());
    } else {
      import_hf(t, buf.data(), model.params().data());
    }
    used.insert(name);
  }
  for (const auto& [name, r] : where) {
    if (used.count(name) || opt.allow_unknown || is_known_buffer(name)) continue;
    if (name == opt.prefix + "lm_head.weight") {
      // A tied head (GPT-2's always) is the token embedding: a stored copy must equal it.
      std::vector<float> head(static_cast<size_t>(cfg.vocab_size) * cfg.n_embd), wte_read;
      r->read_f32(name, {cfg.vocab_size, cfg.n_embd}, head.data());
      const float* wte = nullptr;
      if (reduced) {  // the embedding as the file holds it (the model's is rounded)
        const std::string wte_name = opt.prefix + stored_name(model.layout().find("wte").hf_name, names.root, has_prefix);
        wte_read.resize(head.size());
        where.at(wte_name)->read_f32(wte_name, {cfg.vocab_size, cfg.n_embd}, wte_read.data());
        wte = wte_read.data();
      } else {
        wte = model.params().data() + model.layout().find("wte").offset;
      }
      for (size_t i = 0; i < head.size(); ++i)
        CF_CHECK(head[i] == wte[i], "{}: tensor 'lm_head.weight' differs from the token embedding ({})", r->path(),
                 cfg.llama() ? "the config ties them: set tie_word_embeddings to false"
                             : "an untied output head is not supported by GPT-2");
      continue;
    }
    fail("{}: unexpected tensor '{}' (not a parameter of this {} model)", r->path(), name, cfg.model_type);
  }
  model.push_params();
  return matrix_dtype;
}

void load_weights(Gpt& model, const std::string& path, const std::string& prefix) {
  read_weights(model, {path}, ReadOptions{prefix, true});
}

GptConfig load_checked_config(const std::string& dir) {
  const GptConfig cfg = load_config(dir);
  check_config_matches_weights(cfg, dir + "/config.json", open_all(weight_files(dir)));
  return cfg;
}

std::unique_ptr<Gpt> load_model(const std::string& dir, DType* source_dtype, ops::WeightFormat base_format) {
  const GptConfig cfg = load_config(dir);
  const auto readers = open_all(weight_files(dir));  // one file, or the shards of an HF index
  check_config_matches_weights(cfg, dir + "/config.json", readers);  // before allocating cfg's size
  auto model = std::make_unique<Gpt>(cfg, nullptr, base_format);
  const DType d = read_weights(*model, readers);
  if (source_dtype != nullptr) *source_dtype = d;
  return model;
}

}  // namespace chatforge::model
