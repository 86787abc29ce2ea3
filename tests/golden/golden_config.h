// The model configuration a golden fixture (scripts/make_golden.py, make_lora_golden.py)
// records: its Hugging Face config.json (the Llama family) or GPT-2's five sizes.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "core/safetensors.h"
#include "model/config.h"

namespace chatforge::testing {

inline model::GptConfig golden_config(const SafeTensorsReader& r, const std::string& path) {
  auto meta = [&](const char* k) { return std::stoi(r.metadata().at(k)); };
  if (r.metadata().count("hf_config") != 0)
    return model::GptConfig::from_hf_json(nlohmann::json::parse(r.metadata().at("hf_config")), path);
  model::GptConfig cfg;
  cfg.n_layer = meta("n_layer");
  cfg.n_head = meta("n_head");
  cfg.n_embd = meta("n_embd");
  cfg.vocab_size = meta("vocab_size");
  cfg.n_ctx = meta("n_ctx");
  return cfg;
}

}  // namespace chatforge::testing
