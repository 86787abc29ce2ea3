// LoRA adapters on disk in Hugging Face PEFT's format, so an adapter trained here loads in
// PEFT and one trained with PEFT loads here: DIR/adapter_config.json (peft_type "LORA",
// task_type "CAUSAL_LM", r, lora_alpha, lora_dropout, target_modules, fan_in_fan_out
// (true for GPT-2's Conv1D layers), base_model_name_or_path, ...) and
// DIR/adapter_model.safetensors with PEFT's names
// "base_model.model.<HF module path>.lora_A.weight" (r, in) / ".lora_B.weight" (out, r).
// Each file is written atomically. Reading checks everything against the base model's
// configuration: a bad adapter (rank mismatch, a base of another shape, a missing tensor,
// names of another architecture, PEFT features we do not implement) is a one-line Error
// naming the file and the tensor or field.
#pragma once
#include <memory>
#include <string>

#include "model/gpt.h"
#include "model/lora.h"

namespace chatforge::model {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";

// The PEFT name of one of the adapter's tensors: "base_model.model." + tensor name.
std::string peft_tensor_name(const ParamTensor& t);

// Writes dir/adapter_config.json and dir/adapter_model.safetensors (dir created if needed)
// from the adapter's host parameters. base: base_model_name_or_path.
void save_adapter(const std::string& dir, const Lora& lora, const std::string& base);

// Reads only adapter_config.json into a LoraConfig (rank, alpha, dropout, targets; PEFT's
// use_rslora sets alpha so that alpha / r = lora_alpha / sqrt(r)). *base gets
// base_model_name_or_path when asked.
LoraConfig load_adapter_config(const std::string& dir, std::string* base = nullptr);

// An adapter for a model of `cfg` from dir (PEFT format), on `backend` (null: the CPU).
std::unique_ptr<Lora> load_adapter(const std::string& dir, const GptConfig& cfg,
                                   std::shared_ptr<ops::Backend> backend = nullptr);

// The identity of a base model a LoRA run records and checks on resume: its architecture,
// sizes and a 64-bit hash of every weight ("gpt2 L12 C768 V50257 #0123456789abcdef"). A
// base held in a reduced format (Gpt::stored_base) names it and hashes what is stored
// ("gpt2 L12 C768 V50257 bf16 #..."): the same --init in another format is another base.
std::string lora_base_identity(const Gpt& model);

// Folds an adapter into its base's weights: W[row0:row0+rows] += scale * (alpha / r) * B A for
// every module (the exact LoRA output without dropout, up to float rounding), on the host
// arrays, then pushes them. The model needs the adapter's configuration.
void merge_adapter(Gpt& model, const Lora& lora, float scale = 1.0f);

// "DIR[:SCALE]" (the --lora flag): the directory and the scale (default 1). A trailing
// ":x" that is not a number is part of the directory.
struct LoraSpec {
  std::string dir;
  float scale = 1.0f;
};
LoraSpec parse_lora_spec(const std::string& spec);

// Loads each adapter of `specs` for the model and merges it with its scale (in order).
void apply_lora_specs(Gpt& model, const std::vector<std::string>& specs);

// Reads dir's tensors into an existing adapter of the same configuration (resume).
void read_adapter_weights(const std::string& dir, Lora& lora);

}  // namespace chatforge::model
