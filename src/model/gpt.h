// GPT-2, exactly as Hugging Face GPT2LMHeadModel computes it (pre-LN blocks, tanh GELU,
// tied embeddings, biases everywhere), written once against ops/ops.h. Parameters and
// gradients are two parallel arenas (see weights.h); activations live in a third arena
// sized for the (B, T) of the last call and reused while it does not change.
#pragma once
#include <functional>
#include <cstdint>
#include <vector>

#include "core/arena.h"
#include "model/config.h"
#include "model/weights.h"

namespace chatforge::model {

// Everything the forward pass keeps for backward (one allocation per (B, T)). Under
// recompute (set_recompute) the per-layer tensors other than residual3 hold one layer.
struct Activations {
  float* encoded;    // (B, T, C)  embeddings: the residual stream entering layer 0
  float* ln1;        // (L, B, T, C)
  float* ln1_mean;   // (L, B, T)
  float* ln1_rstd;   // (L, B, T)
  float* qkv;        // (L, B, T, 3C)
  float* atty;       // (L, B, T, C)  attention output before the projection
  float* att_lse;    // (L, B, NH, T) log-sum-exp of each attention row (backward recomputes the rest)
  float* residual2;  // (L, B, T, C)  stream after the attention half of the block
  float* ln2;        // (L, B, T, C)
  float* ln2_mean;   // (L, B, T)
  float* ln2_rstd;   // (L, B, T)
  float* fch;        // (L, B, T, 4C) MLP hidden before GELU
  float* fch_gelu;   // (L, B, T, 4C) after GELU
  float* residual3;  // (L, B, T, C)  stream leaving the block
  float* lnf;        // (B, T, C)
  float* lnf_mean;   // (B, T)
  float* lnf_rstd;   // (B, T)
  float* logits;     // (B, T, Vp)   becomes dlogits in backward
  float* losses;     // (B, T)
  float* lse;        // (B, T) log-sum-exp per row
};

// Scratch for backward, reused across layers.
struct BackwardScratch {
  float* dresidual;  // (B, T, C)  gradient of the residual stream
  float* dln;        // (B, T, C)
  float* dqkv;       // (B, T, 3C)
  float* dfch;       // (B, T, 4C)
};

// How the tokens of each row are laid out when a row holds several documents (packed
// SFT rows). doc (B,T): document id of every token; attention never crosses documents.
// pos (B,T): position of every token within its document (restarts at 0). Both null: one
// document per row, positions 0..T-1 (plain causal LM). Copied by forward, so backward and
// the caller's buffers are independent.
struct RowLayout {
  const int32_t* doc = nullptr;
  const int32_t* pos = nullptr;
};

class Gpt {
 public:
  explicit Gpt(const GptConfig& cfg);

  const GptConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  Arena& params() { return params_; }
  const Arena& params() const { return params_; }
  Arena& grads() { return grads_; }
  GptParams weights() { return layout_.views(params_.data()); }
  GptParams gradients() { return layout_.views(grads_.data()); }

  // GPT-2 initialisation: N(0, 0.02) weights and embeddings, residual projections
  // (attn.c_proj, mlp.c_proj) N(0, 0.02/sqrt(2L)), zero biases, unit LayerNorm weights.
  void init_weights(uint64_t seed);

  // Logits for inp (B,T) into activations().logits (B,T,Vp).
  void forward(const int32_t* inp, int B, int T, const RowLayout& rows = {});
  // forward plus per-token losses; returns the sum of the masked token losses.
  double forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T,
                      const RowLayout& rows = {});
  // Accumulates parameter gradients (+=) of dloss * (sum of masked token losses); must
  // follow forward_loss with the same inputs (its row layout is remembered). Destroys the logits.
  void backward(const int32_t* inp, const int32_t* targets, const uint8_t* mask, float dloss);
  void zero_grad();
  // Optional hook for data-parallel training: called by backward() right after layer l's
  // parameter gradients are complete (l = L-1 down to 0), so their all-reduce can start
  // while the remaining layers run. wte/wpe/lnf gradients are complete only when
  // backward() returns (the tied head adds to wte first, the embedding last). Unset: no effect.
  std::function<void(int layer)> on_layer_grads_done;

  // Activation recomputation: forward keeps only each layer's input (the residual stream)
  // and one layer's insides; backward reruns each layer's forward just before its
  // backward. Kept activations go from 16C + NH + 4 floats per token per layer to C (plus
  // one layer's 16C + NH + 4), for one more forward pass of compute. Gradients are
  // bit-identical. Takes effect at the next forward.
  void set_recompute(bool on) { recompute_ = on; }
  bool recompute() const { return recompute_; }

  const Activations& activations() const { return acts_; }
  int batch() const { return B_; }
  int time() const { return T_; }
  size_t activation_bytes() const { return acts_arena_.bytes() + scratch_arena_.bytes(); }

  // Floating-point operations of one training step (forward + backward) per token,
  // counting multiply-adds as 2 (the usual 6N + attention rule).
  double flops_per_token(int T) const;

 private:
  void ensure_activations(int B, int T);
  void ensure_scratch();
  // Layer l's slices of the activation arena (its working slot under recompute).
  struct LayerActs {
    const float* residual;  // input: the stream entering layer l
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *att_lse, *residual2, *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu;
    float* residual3;  // output
  };
  LayerActs layer_acts(int l);
  void layer_forward(int l, const int32_t* doc);  // needs ensure_activations(B_, T_)

  GptConfig cfg_;
  ParamLayout layout_;
  Arena params_, grads_;
  Arena acts_arena_, scratch_arena_;
  Activations acts_{};
  BackwardScratch scratch_{};
  int B_ = 0, T_ = 0;
  bool recompute_ = false, acts_recompute_ = false;
  std::vector<int32_t> row_doc_, row_pos_;  // (B,T) copies of the last forward's RowLayout; empty = none
};

}  // namespace chatforge::model
