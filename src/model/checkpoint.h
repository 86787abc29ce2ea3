// Model checkpoints as a Hugging Face user expects them: DIR/config.json (GPT-2 keys)
// and DIR/model.safetensors (HF tensor names, Conv1D layout, tied head omitted), one file
// or Hugging Face's shards with model.safetensors.index.json. One reader serves our own
// checkpoints, downloaded Hugging Face folders and test fixtures: it walks the parameter
// table (weights.h) and checks every name, shape and dtype, naming the file and tensor at
// fault. Before a model is allocated, config.json is checked against the weights' headers
// (a config's sizes cannot make it allocate gigabytes the files do not hold); NaN/Inf
// values are errors. Each file is written atomically.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"
#include "model/gpt.h"

namespace chatforge::model {

// Writes config.json and model.safetensors (matrices and vectors in `dtype`: F32, F16 or
// BF16) into dir (created if needed).
void save_model(const std::string& dir, const Gpt& model, DType dtype = DType::F32);
// Only the weights file.
void write_weights(const std::string& path, const Gpt& model, DType dtype = DType::F32);

// Reads a checkpoint directory (ours, or a Hugging Face GPT-2 folder with one
// model.safetensors or sharded ones). F32, F16 and BF16 tensors are accepted; the dtype of
// the stored matrices goes to *source_dtype when asked. base_format other than kF32: a
// frozen base held in that format (Gpt's constructor), each matrix rounded as it is read.
std::unique_ptr<Gpt> load_model(const std::string& dir, DType* source_dtype = nullptr,
                                ops::WeightFormat base_format = ops::WeightFormat::kF32);

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

struct ReadOptions {
  std::string prefix;          // names carry this prefix (test fixtures: "param.")
  bool allow_unknown = false;  // tensors that are not parameters are ignored (else an error)
};
// Fills a model's (host) parameters from safetensors files, names as Hugging Face writes
// them with or without the "transformer." prefix; on a device, pushes them. Every
// parameter must be present exactly once, with its shape and a float dtype; a stored
// lm_head.weight must equal the tied embedding; the causal-mask buffers of old GPT-2 saves
// are skipped. Returns the dtype of the stored matrices.
DType read_weights(Gpt& model, const std::vector<std::string>& safetensors_paths, const ReadOptions& options = {});
DType read_weights(Gpt& model, const std::vector<std::unique_ptr<SafeTensorsReader>>& readers,
                   const ReadOptions& options = {});
// One file, extra tensors allowed (fixtures hold inputs and gradients too).
void load_weights(Gpt& model, const std::string& safetensors_path, const std::string& prefix = "");

// The weight files of a checkpoint directory: model.safetensors, or the shards listed in
// model.safetensors.index.json (Hugging Face's sharded layout).
std::vector<std::string> weight_files(const std::string& dir);

}  // namespace chatforge::model
