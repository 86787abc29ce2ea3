// Model configuration: an architecture is configuration. Two block families cover the
// models teams fine-tune: GPT-2 (LayerNorm, tanh GELU, learned positions, biases
// everywhere, tied head) and the Llama family (RMSNorm, SwiGLU, rotary positions, grouped-
// query attention), whose members differ by flags: Llama 3 / SmolLM2 / TinyLlama / Mistral
// (no biases, tied or separate head), Qwen2 (q/k/v biases), Qwen3 (per-head q/k RMSNorm,
// head_dim set explicitly). On disk: Hugging Face's config.json keys of each model_type
// (GPT-2's n_layer/n_embd/..., Llama's hidden_size/num_hidden_layers/...); keys we do not
// model are kept and written back.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chatforge::model {

// The accepted range of each size (core/num_range.h notation): one definition for
// validate(), the `model init` / `train` flags and the docs.
namespace config_range {
inline constexpr const char* kNKvHead = "[0, 65536]";      // 0: the architecture's default
inline constexpr const char* kHeadDimFlag = "[0, 1024]";   // 0: n_embd / n_head
inline constexpr const char* kFfnDimFlag = "[0, 2^20]";    // 0: the architecture's default
inline constexpr const char* kRopeTheta = "[0, 1e12]";     // 0: 10000
inline constexpr const char* kNLayer = "[1, 1024]";
inline constexpr const char* kNHead = "[1, 65536]";
inline constexpr const char* kNEmbd = "[1, 65536]";
inline constexpr const char* kVocabSize = "[1, 2^24]";
inline constexpr const char* kNPositions = "[1, 2^20]";
inline constexpr const char* kHeadDim = "[2, 1024]";
inline constexpr const char* kFfnDim = "[1, 2^20]";
}  // namespace config_range

enum class Family { kGpt2, kLlama };

// Hugging Face's rope_scaling, the types these models ship. "" = none (plain rope_theta).
struct RopeScaling {
  std::string type;                  // "", "linear", "dynamic", "llama3", "yarn"
  double factor = 1.0;
  double low_freq_factor = 1.0;      // llama3
  double high_freq_factor = 4.0;     // llama3
  int original_max_positions = 0;    // llama3, yarn, dynamic
  double beta_fast = 32.0, beta_slow = 1.0;  // yarn
  double attention_factor = 0.0;     // yarn; 0: 0.1 ln(factor) + 1
};

struct GptConfig {
  Family family = Family::kGpt2;
  std::string model_type = "gpt2";  // gpt2 | llama | mistral | qwen2 | qwen3 (config.json's)
  int n_layer = 12;
  int n_head = 12;
  int n_embd = 768;
  int vocab_size = 50257;
  int n_ctx = 1024;         // maximum sequence length (GPT-2 n_positions, Llama max_position_embeddings)
  int n_kv_head = 0;        // key/value heads (grouped-query attention); 0 = n_head
  int head_dim = 0;         // 0 = n_embd / n_head
  int ffn_dim = 0;          // MLP width; 0 = 4 * n_embd (GPT-2). Llama: intermediate_size
  double norm_eps = 1e-5;   // layer_norm_epsilon / rms_norm_eps
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool qkv_bias = false;  // Llama family: q/k/v projections with biases (Qwen2; Llama/Qwen3 attention_bias)
  bool o_bias = false;    // Llama family: o_proj with a bias (Llama/Qwen3 attention_bias). GPT-2: every bias
  bool qk_norm = false;         // Qwen3: RMSNorm of every q and k head before the rotation
  bool tie_embeddings = true;   // the output head is the token embedding
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;  // config.json's eos_token_id: one id or a list
  // The source config.json: to_hf_json writes the keys it does not write itself back as they were.
  nlohmann::ordered_json hf_extra = nlohmann::ordered_json::object();

  bool llama() const { return family == Family::kLlama; }
  int kv_heads() const { return n_kv_head > 0 ? n_kv_head : n_head; }
  int head_size() const { return head_dim > 0 ? head_dim : n_embd / n_head; }
  int q_dim() const { return n_head * head_size(); }
  int kv_dim() const { return kv_heads() * head_size(); }
  int qkv_dim() const { return q_dim() + 2 * kv_dim(); }
  int ffn() const { return ffn_dim > 0 ? ffn_dim : 4 * n_embd; }
  // Rows of the fused up projection: GPT-2's c_fc (ffn), Llama's gate_proj and up_proj (2 ffn).
  int ffn_up_rows() const { return llama() ? 2 * ffn() : ffn(); }
  bool has_qkv_bias() const { return !llama() || qkv_bias; }
  bool has_out_bias() const { return !llama() || o_bias; }
  bool has_norm_bias() const { return !llama(); }  // LayerNorm has a bias, RMSNorm none
  bool has_mlp_bias() const { return !llama(); }
  bool learned_positions() const { return !llama(); }
  int eos_token_id() const { return eos_token_ids.empty() ? -1 : eos_token_ids.front(); }
  // The vocabulary rounded up to a multiple of 128 (fast GEMM shapes); the extra rows of
  // the embedding are zero and their logits are never used, so results do not change.
  int padded_vocab_size() const { return (vocab_size + 127) / 128 * 128; }
  // Checks every field; `context` names the source in the error (e.g. a file path).
  void validate(const std::string& context) const;
  size_t num_parameters() const;  // unpadded, as Hugging Face counts them
  // The rotary frequencies 1 / theta^(2i/HS) of each rotated pair (HS/2), with rope_scaling
  // applied as transformers computes them, and the factor on cos/sin (YaRN's attention
  // scaling; 1 otherwise).
  std::vector<float> rope_inv_freq() const;
  float rope_attention_scale() const;

  nlohmann::ordered_json to_hf_json() const;
  static GptConfig from_hf_json(const nlohmann::json& j, const std::string& context);
  // A from-scratch configuration for `--arch gpt2|llama|mistral|qwen2|qwen3` with the given
  // sizes and the family's modern defaults (see ArchOptions).
  static GptConfig for_arch(const std::string& arch, int n_layer, int n_head, int n_embd, int vocab_size, int n_ctx);
};

// What `model init` and `train` let a user choose for a new model besides its sizes. Zero
// means the architecture's default: key/value heads n_head / 4 where that divides (else
// n_head), head size n_embd / n_head, MLP width 4C (GPT-2) or 8C/3 rounded up to 64 (the
// Llama family: the same multiply-adds as GPT-2's 4C GELU), rope_theta 10000.
struct ArchOptions {
  std::string arch = "gpt2";  // gpt2 | llama | mistral | qwen2 | qwen3
  int n_kv_head = 0;
  int head_dim = 0;
  int ffn_dim = 0;
  double rope_theta = 0;
  bool untied_head = false;
};
// The configuration of a new model: the sizes of `sizes` (n_layer, n_head, n_embd,
// vocab_size, n_ctx) with the architecture of `a`, validated; errors name the flags.
GptConfig new_model_config(const GptConfig& sizes, const ArchOptions& a);

}  // namespace chatforge::model
