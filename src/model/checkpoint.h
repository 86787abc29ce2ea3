// Model checkpoints as a Hugging Face user expects them: DIR/config.json (GPT-2 keys)
// and DIR/model.safetensors (HF tensor names, Conv1D layout, tied head omitted). Each
// file is written atomically; reading checks config.json against the weights' headers
// before allocating, then every name, shape, dtype and value (NaN/Inf are errors), and
// names the file and tensor at fault.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "model/gpt.h"

namespace chatforge::model {

// Writes config.json and model.safetensors into dir (created if needed).
void save_model(const std::string& dir, const Gpt& model);

// Reads a checkpoint directory (ours, or a Hugging Face GPT-2 folder with one
// model.safetensors or sharded ones). F32, F16 and BF16 tensors are accepted.
std::unique_ptr<Gpt> load_model(const std::string& dir);

// Reads only config.json of a checkpoint directory (its values range-checked; nothing
// checked against the weights: use load_checked_config before allocating a model of it).
GptConfig load_config(const std::string& dir);

// config.json checked against the weight files' safetensors headers (nothing allocated):
// every tensor it implies is there with its shape. A config whose sizes (vocab_size,
// n_positions, n_layer, n_embd) disagree with the weights is an error naming config.json
// and the field, before gigabytes are allocated for a model the files cannot fill.
GptConfig load_checked_config(const std::string& dir);
void check_config_matches_weights(const GptConfig& cfg, const std::string& config_path,
                                  const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                                  const std::string& prefix = "");

// Fills an existing model's parameters from a safetensors file, or several (the shards of
// a Hugging Face index): names as HF writes them, with or without the "transformer."
// prefix. Used by load_model, tests and converters.
void load_weights(Gpt& model, const std::string& safetensors_path, const std::string& prefix = "");
void load_weights(Gpt& model, const std::vector<std::string>& safetensors_paths, const std::string& prefix = "");

// The weight files of a checkpoint directory: model.safetensors, or the shards listed in
// model.safetensors.index.json (Hugging Face's sharded layout).
std::vector<std::string> weight_files(const std::string& dir);

}  // namespace chatforge::model
