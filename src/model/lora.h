// LoRA adapters (Hu et al. 2021, as Hugging Face PEFT computes them) over a frozen model:
// each target projection y = x W^T (+ b) gains scale * (dropout(x) A^T) B^T with
// A (r, in), B (out, r), scale = alpha / r; A starts kaiming-uniform (PEFT's default: U(-1/sqrt(in),
// 1/sqrt(in))), B at zero, so a new adapter leaves the model unchanged. Targets are PEFT
// module names matched against the Hugging Face module paths of the parameter table
// (weights.h): GPT-2 c_attn, c_proj (attention and MLP), c_fc; the Llama family q_proj,
// k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj. q/k/v and gate/up are row blocks
// of our fused tensors: an adapter touches only its block's output rows.
// The adapter is a ParamSet (its A and B in one flat array), so the optimizer, training
// step and checkpoints walk it as they walk a model; the model calls forward/backward at
// each target (Gpt::set_lora). Every op runs on the model's backend.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/param_set.h"

namespace chatforge::model {

// The four projections of a block an adapter can sit on.
enum class LoraSite : int { kQkv = 0, kAttnOut = 1, kMlpUp = 2, kMlpDown = 3 };
inline constexpr int kLoraSites = 4;

struct LoraConfig {
  int rank = 16;          // r
  float alpha = 32;       // scale = alpha / r (PEFT's lora_alpha)
  float dropout = 0.05f;  // on the adapter's input, training only
  // PEFT target_modules: a name matches a module whose path equals it or ends with "." + it
  // ("c_proj" matches attn.c_proj and mlp.c_proj). Empty: every linear projection of the blocks.
  std::vector<std::string> targets;
  float scale() const { return alpha / static_cast<float>(rank); }
};

// A projection an adapter may target, per layer: "{}" in hf_path is the layer index.
struct LoraTarget {
  std::string name;       // PEFT's module name: "c_attn", "q_proj" ...
  std::string hf_path;    // "transformer.h.{}.attn.c_attn" | "model.layers.{}.self_attn.q_proj"
  LoraSite site;
  int64_t in = 0;         // columns of x
  int64_t row0 = 0;       // first output row of the site's (fused) projection it adds to
  int64_t rows = 0;       // its output rows
  bool fan_in_fan_out = false;  // the HF weight is Conv1D (in, out) (GPT-2): PEFT's flag
};
// Every projection of one layer of the architecture, in block order.
std::vector<LoraTarget> lora_targets(const GptConfig& cfg);
// The default target list of an architecture (all of lora_targets' names, deduplicated).
std::vector<std::string> default_lora_targets(const GptConfig& cfg);
// Splits "a,b,c" (spaces ignored); an empty string gives an empty list.
std::vector<std::string> split_targets(const std::string& list);

// One adapter: a target in a layer. A (r, in) at a_off, B (rows, r) at b_off in the arrays.
struct LoraModule {
  LoraTarget target;
  int layer = 0;
  std::string path;  // the HF module path with the layer: "transformer.h.3.attn.c_attn"
  size_t a_off = 0, b_off = 0;
};

class Lora : public ParamSet {
 public:
  // Adapters for cfg's model on `backend` (null: the CPU). Every target name must match a
  // module of the architecture (else an Error naming it and the names there are).
  Lora(const GptConfig& cfg, const LoraConfig& lc, std::shared_ptr<ops::Backend> backend = nullptr);
  const LoraConfig& config() const { return lc_; }
  const GptConfig& model_config() const { return cfg_; }
  const std::vector<LoraModule>& modules() const { return modules_; }
  // The targets the modules cover, as PEFT lists them (the names given, in order).
  const std::vector<std::string>& target_names() const { return lc_.targets; }

  // A ~ U(-1/sqrt(in), 1/sqrt(in)) (torch's kaiming_uniform_(a=sqrt(5)), PEFT's init), B = 0.
  void init_weights(uint64_t seed);

  // Dropout is applied while training (and never when the rate is 0); its masks are a pure
  // function of (seed, draw, module, element). The counter numbers the micro-batches of all
  // ranks: with set_dropout_lanes(rank, world) a training forward draws counter + rank + 1
  // and advances the counter by world, so rank r's i-th micro-batch of a step draws what
  // micro-batch i * world + r of one rank accumulating world times as many draws (the rows
  // the loader gives it), and every rank ends the step on the same counter. A resumed run
  // draws the same masks (save and restore dropout_counter(), any world).
  void set_training(bool on) { training_ = on; }
  bool training() const { return training_; }
  uint64_t dropout_counter() const { return counter_; }
  void set_dropout_counter(uint64_t c) { counter_ = c; }
  void set_dropout_seed(uint64_t s) { drop_seed_ = s; }
  void set_dropout_lanes(int rank, int world);

  // Called by the model. begin_forward: a new forward pass of N rows (advances the dropout
  // counter while training). forward: out (N, ld) += the adapters of (layer, site), x (N, in).
  // backward: given dout (N, ld) of the site's output, dB += and dA += (parameters), dx (N,
  // in) += the adapters' share of the input gradient (dx holds the base's already).
  bool has(int layer, LoraSite site) const { return !site_modules_[index(layer, site)].empty(); }
  void begin_forward(int N);
  void forward(int layer, LoraSite site, float* out, int ld, const float* x, int N);
  void backward(int layer, LoraSite site, float* dx, const float* dout, int ld, const float* x, int N);

  // ParamSet
  ops::Backend& backend() const override { return *backend_; }
  Arena& params() override { return params_; }
  const Arena& params() const override { return params_; }
  Arena& grads() override { return grads_; }
  const Arena& grads() const override { return grads_; }
  float* device_params() const override {
    return dparams_.data() ? dparams_.data() : const_cast<float*>(params_.data());
  }
  float* device_grads() const override { return dgrads_.data() ? dgrads_.data() : const_cast<float*>(grads_.data()); }
  const std::vector<ParamTensor>& tensors() const override { return tensors_; }
  void push_params() override;
  void pull_params() override;
  void push_grads() override;
  void pull_grads() override;
  void zero_grad() override;

 private:
  size_t index(int layer, LoraSite site) const { return static_cast<size_t>(layer) * kLoraSites + static_cast<int>(site); }
  bool dropping() const { return training_ && lc_.dropout > 0.0f; }
  // dst (N, in) = x * keep / (1 - p), keep drawn for module mi (on any backend).
  void apply_dropout(float* dst, const float* x, int N, int64_t in, size_t mi) const;

  GptConfig cfg_;
  LoraConfig lc_;
  std::shared_ptr<ops::Backend> backend_;
  std::vector<LoraModule> modules_;
  std::vector<std::vector<size_t>> site_modules_;  // (L * kLoraSites) -> module indices
  std::vector<ParamTensor> tensors_;
  Arena params_, grads_;
  ops::Buffer dparams_, dgrads_;
  // Forward keeps us = scale * dropout(x) A^T (N, r) per module; the rest is scratch.
  ops::Buffer us_buf_, work_buf_;
  float *us_ = nullptr, *xd_ = nullptr, *dxd_ = nullptr, *delta_ = nullptr, *part_ = nullptr, *dus_ = nullptr;
  int N_ = 0;
  int64_t max_in_ = 0, max_rows_ = 0;
  bool training_ = false;
  uint64_t counter_ = 0, drop_seed_ = 0x10A;
  uint64_t draw_ = 0;              // the draw of the current forward's masks
  int lane_ = 0, lanes_ = 1;       // this rank, the ranks (set_dropout_lanes)
};

}  // namespace chatforge::model
