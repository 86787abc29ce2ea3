// GPT model configuration, with the Hugging Face GPT-2 config.json keys on disk
// (n_layer, n_head, n_embd, vocab_size, n_positions/n_ctx, layer_norm_epsilon ...).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace chatforge::model {

// The accepted range of each size (core/num_range.h notation): one definition for
// validate(), the `model init` / `train` flags and the docs.
namespace config_range {
inline constexpr const char* kNLayer = "[1, 1024]";
inline constexpr const char* kNHead = "[1, 65536]";
inline constexpr const char* kNEmbd = "[1, 65536]";
inline constexpr const char* kVocabSize = "[1, 2^24]";
inline constexpr const char* kNPositions = "[1, 2^20]";
}  // namespace config_range

struct GptConfig {
  int n_layer = 12;
  int n_head = 12;
  int n_embd = 768;
  int vocab_size = 50257;
  int n_ctx = 1024;  // maximum sequence length (HF n_positions)
  int bos_token_id = -1;
  int eos_token_id = -1;

  int head_size() const { return n_embd / n_head; }
  // The vocabulary rounded up to a multiple of 128 (fast GEMM shapes); the extra rows of
  // the embedding are zero and their logits are never used, so results do not change.
  int padded_vocab_size() const { return (vocab_size + 127) / 128 * 128; }
  // Checks every field; `context` names the source in the error (e.g. a file path).
  void validate(const std::string& context) const;
  size_t num_parameters() const;  // unpadded, as Hugging Face counts them

  nlohmann::json to_hf_json() const;
  static GptConfig from_hf_json(const nlohmann::json& j, const std::string& context);
};

}  // namespace chatforge::model
