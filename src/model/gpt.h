// The transformer, written once over the backend interface (ops/backend.h), in two block
// variants chosen by the configuration: GPT-2 exactly as Hugging Face GPT2LMHeadModel
// computes it (pre-LN blocks, tanh GELU, learned positions, tied embeddings, biases
// everywhere) and the Llama family exactly as LlamaForCausalLM / MistralForCausalLM /
// Qwen2ForCausalLM / Qwen3ForCausalLM (RMSNorm, rotary positions, grouped-query attention,
// SwiGLU, optional q/k/v biases and per-head q/k norms, tied or separate head). The same
// code trains on the CPU and on a CUDA device: every op is a call on the model's backend. Parameters and gradients are two parallel flat arrays in
// ParamLayout order (weights.h); activations live in one allocation sized for the (B, T)
// of the last call. Cached decoding over new tokens only is model/gpt_cached.h.
//
// Memory: params() and grads() are HOST arrays, the canonical copies for init, load, save
// and export. On the CPU backend they are the very memory the ops use. On a device the
// ops use device copies: push_params() uploads the host parameters, pull_params() and
// pull_grads() bring them back (trainers call them around checkpoints).
//
// A frozen base may be held in a reduced format (LoRA's --base-dtype: bf16, or int8 with a
// scale per row; QLoRA's idea): the block projections, the token embedding and an untied
// head are then stored matrices (ops::WeightMatrix, StoredBase) that forward and backward
// read directly, and params() holds only what stays fp32 (norms, biases, positions).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/arena.h"
#include "core/error.h"
#include "model/config.h"
#include "model/param_set.h"
#include "model/weights.h"
#include "ops/backend.h"

namespace chatforge::model {

// Everything the forward pass keeps for backward (backend memory). Under recompute
// (set_recompute) the per-layer tensors other than residual3 hold one layer.
// Dimension letters: C channels, NH query heads, NKV key/value heads, HS head size, Q = NH
// HS, QKV = (NH + 2 NKV) HS, F the MLP width, U the rows of the MLP's first matmul (GPT-2
// F = 4C; Llama 2F: gate | up). "norm" is LayerNorm (GPT-2) or RMSNorm (Llama: no mean).
struct Activations {
  float* encoded;    // (B, T, C)  embeddings: the residual stream entering layer 0
  float* ln1;        // (L, B, T, C)  norm of the stream
  float* ln1_mean;   // (L, B, T)     (LayerNorm only)
  float* ln1_rstd;   // (L, B, T)
  float* qkv;        // (L, B, T, QKV) q | k | v, rotated (Llama) and normed (Qwen3): what attention reads
  float* qkv_pre;    // (L, B, T, QKV) before the per-head q/k norms (Qwen3 only)
  float* qk_rstd;    // (L, B, T, NH + NKV) the q then k per-head norms' rstd (Qwen3 only)
  float* atty;       // (L, B, T, Q)  attention output before the projection
  float* att_lse;    // (L, B, NH, T) log-sum-exp of each attention row (backward recomputes the rest)
  float* residual2;  // (L, B, T, C)  stream after the attention half of the block
  float* ln2;        // (L, B, T, C)
  float* ln2_mean;   // (L, B, T)     (LayerNorm only)
  float* ln2_rstd;   // (L, B, T)
  float* fch;        // (L, B, T, U)  MLP hidden before the activation
  float* fch_gelu;   // (L, B, T, F)  after it (GELU, or SwiGLU of gate | up)
  float* residual3;  // (L, B, T, C)  stream leaving the block
  float* lnf;        // (B, T, C)
  float* lnf_mean;   // (B, T)
  float* lnf_rstd;   // (B, T)
  float* logits;     // (B, T, Vp)   becomes dlogits in backward (chunked loss: (rows, Vp), one chunk)
  float* losses;     // (B, T)
  float* lse;        // (B, T) log-sum-exp per row
};

// How the tokens of each row are laid out when a row holds several documents (packed
// SFT rows). doc (B,T): document id of every token; attention never crosses documents.
// pos (B,T): position of every token within its document (restarts at 0). Both null: one
// document per row, positions 0..T-1 (plain causal LM). Host arrays; forward copies them
// to the backend, so backward and the caller's buffers are independent.
struct RowLayout {
  const int32_t* doc = nullptr;
  const int32_t* pos = nullptr;
};

class Lora;  // model/lora.h

// What backward redoes instead of forward keeping it (Gpt::set_recompute).
enum class Recompute {
  kNone,  // keep every layer's insides (a frozen base's lean slots aside)
  kMlp,   // one layer's MLP hidden, redone with the MLP's first matmul
  kAll,   // everything but each layer's input: one more forward pass
};
// "none", "mlp", "all" (the --recompute values); parse throws UsageError on anything else.
const char* recompute_name(Recompute r);
Recompute parse_recompute(const std::string& name);
enum class LoraSite : int;

// The frozen base's matrices in a reduced format (Gpt's base_format). Dimension letters as
// above; U = GPT-2 4C, Llama 2F. Host memory (the CPU backend reads them).
struct StoredBase {
  ops::WeightFormat format = ops::WeightFormat::kF32;
  std::vector<ops::WeightMatrix> qkv, attproj, fc, fcproj;  // per layer: (QKV, C) (C, Q) (U, C) (C, F)
  ops::WeightMatrix embedding;                              // wte (Vp, C)
  ops::WeightMatrix head;                                   // lm_head (Vp, C), or wte's when tied
  Arena storage;                                            // every matrix and int8 scale above
};

class Gpt : public ParamSet {
 public:
  // On `backend` (null: the CPU backend). Parameters start at zero; init_weights or a
  // loader fills them (then, on a device, push_params()).
  // base_format other than kF32: the base is frozen from the start (freeze_base) and its
  // matrices are held in that format (see the top); only the CPU backend reads them (else an
  // Error naming the backend). No fp32 copy of those matrices ever exists, so loading or
  // initialising such a model never needs the fp32 model's memory.
  explicit Gpt(const GptConfig& cfg, std::shared_ptr<ops::Backend> backend = nullptr,
               ops::WeightFormat base_format = ops::WeightFormat::kF32);

  const GptConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  ops::Backend& backend() const override { return *backend_; }
  const std::shared_ptr<ops::Backend>& shared_backend() const { return backend_; }
  // Another host-memory backend computes from now on (the CPU's fp32 or bf16 one: the
  // buffers stay where they are). to_backend's path between two CPU backends.
  void rebind_host_backend(std::shared_ptr<ops::Backend> backend) {
    CF_CHECK(backend->host_memory() && backend_->host_memory(), "rebind_host_backend: not two host-memory backends");
    backend_ = std::move(backend);
  }

  // Host copies (see the top). GptParams views of them: weights(), gradients(). The
  // gradient arrays are allocated when first asked for (inference never needs them) and
  // never under freeze_base (then grads() is empty). With a reduced base the fp32 arena of
  // the layout does not exist: params(), weights() and device_params() are an Error there
  // (base_views() and write_rows() are what work for both).
  Arena& params() override { check_fp32_base(); return params_; }
  const Arena& params() const override { check_fp32_base(); return params_; }
  Arena& grads() override { ensure_grads(); return grads_; }
  const Arena& grads() const override { ensure_grads(); return grads_; }
  GptParams weights() { check_fp32_base(); return layout_.views(params_.data()); }
  GptParams gradients() { return layout_.views(grads().data()); }
  // What the ops read and write: the host arrays on the CPU, device copies elsewhere.
  float* device_params() const override {
    check_fp32_base();
    return dparams_.data() ? dparams_.data() : const_cast<float*>(params_.data());
  }
  // The fp32 host arena as it is: every parameter, or with a reduced base only the
  // tensors kept in fp32 (packed in layout order). Hashing and accounting only.
  const Arena& host_arena() const { return params_; }
  // Host bytes of the model's weights: the fp32 arena plus a reduced base's stored matrices.
  size_t base_bytes() const { return params_.bytes() + (stored_ ? stored_->storage.bytes() : 0); }
  // The reduced base (null when the base is fp32) and its format.
  const StoredBase* stored_base() const { return stored_.get(); }
  ops::WeightFormat base_format() const { return stored_ ? stored_->format : ops::WeightFormat::kF32; }
  // Every parameter as the ops read it (device_params() views); with a reduced base the
  // stored matrices are null here (stored_base() holds them) and the rest point into the
  // fp32 tensors kept.
  GptParams base_views() const;
  // Writes rows [row0, row0 + n) of layer `layer`'s slice of tensor t (layer 0 for tensors
  // that are not per layer) from fp32 src (n, cols), rows and cols as ParamSlice counts them
  // (a vector is C rows of 1 column): into the fp32 host arena, or rounded into the stored
  // matrix. Initialisation and loading go through it, so a reduced model fills without an
  // fp32 copy of its matrices. Host memory only (push_params() afterwards on a device).
  void write_rows(const ParamTensor& t, int layer, int64_t row0, int64_t n, const float* src);
  float* device_grads() const override {
    ensure_grads();
    return dgrads_.data() ? dgrads_.data() : const_cast<float*>(grads_.data());
  }
  const std::vector<ParamTensor>& tensors() const override { return layout_.tensors(); }
  void push_params() override;  // host -> backend (nothing to do on the CPU)
  void pull_params() override;  // backend -> host
  void push_grads() override;
  void pull_grads() override;

  // Frozen base (LoRA): backward computes activation gradients only (no weight, bias,
  // norm or embedding gradients, no gradient memory), the adapters' gradients through the
  // attached Lora. Releases gradient memory already allocated.
  void freeze_base();
  bool base_frozen() const { return frozen_; }
  // Attaches LoRA adapters (not owned; null detaches): forward adds each adapter's
  // scale * (dropout(x) A^T) B^T to its target projection, backward fills its gradients.
  void set_lora(Lora* lora) { lora_ = lora; }
  Lora* lora() const { return lora_; }

  // GPT-2 initialisation (for every architecture): N(0, 0.02) weights and embeddings,
  // residual projections (attention and MLP output) N(0, 0.02/sqrt(2L)), zero biases, unit
  // norm weights.
  // Pushes to the backend.
  void init_weights(uint64_t seed);

  // Chunked loss (LoRA: a frozen base): forward_loss runs the output head and the
  // cross-entropy over blocks of rows, so the (B, T, Vp) logits never exist (~16 MB at a
  // time instead; 100 MB at GPT-2 124M, B 4, T 128). While attached adapters are training
  // (Lora::set_training) it also keeps d(token loss)/d(final norm output) of every row,
  // computed from each block's logits at hand: backward then needs neither the logits nor
  // a second pass over the head. backward after a chunked forward_loss needs that (an
  // Error otherwise); activations().logits and logits_row() hold no full logits then.
  // forward() always computes all logits. Needs a frozen base (no head gradient here).
  void set_chunked_loss(bool on);
  bool chunked_loss() const { return chunked_loss_; }

  // Logits for inp (B,T) (host ids) into activations().logits (B,T,Vp).
  void forward(const int32_t* inp, int B, int T, const RowLayout& rows = {});
  // forward plus per-token losses; returns the sum of the masked token losses. mask may
  // be null (every target counts); masked targets may hold any id.
  double forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T,
                      const RowLayout& rows = {});
  // Accumulates parameter gradients (+=) of dloss * (sum of masked token losses); must
  // follow forward_loss (its inputs, targets, mask and row layout are kept). Destroys the logits.
  void backward(float dloss);
  // The same with a weight per token: parameter gradients += sum over masked targets i of
  // dloss[i] * loss_i (dloss: B*T host floats; the preference losses give each sequence
  // of a row its own weight). Runs of equal weights share one cross-entropy call.
  void backward(const std::vector<float>& dloss);
  // The per-token losses of the last forward_loss (B*T, host; 0 where the mask is 0):
  // summed over a sequence's masked targets they are -log p(sequence).
  std::vector<float> token_losses() const;
  void zero_grad() override;
  // Optional hook for data-parallel training: called by backward() right after layer l's
  // parameter gradients are complete (l = L-1 down to 0), so their all-reduce can start
  // while the remaining layers run. wte/wpe/lnf gradients are complete only when
  // backward() returns (the tied head adds to wte first, the embedding last). Unset: no effect.
  std::function<void(int layer)> on_layer_grads_done;

  // Lean activations, always on under a frozen base (LoRA): the outputs that are cheap to
  // redo (the two norms', the attention output and the MLP activation: 7C of GPT-2's 16C
  // floats per token per layer, 2C + Q + F of Llama's) keep one working slot, and backward
  // redoes each layer's from the kept inputs just before that layer's backward (no weight
  // matmul is repeated; the values are bit-identical). Without adapters nothing reads them: no weight gradients.
  // The norms' statistics stay per layer: every norm's backward reads them.
  // Activation recomputation (Recompute, above): kAll keeps only each layer's input (the
  // residual stream) and one layer's insides, and backward reruns each layer's forward just
  // before its backward: kept activations go from 16C + NH + 4 floats per token per layer
  // to C (plus one layer's), for one more forward pass of compute. kMlp keeps one layer's
  // MLP hidden (U + F: GPT-2 8C of its 16C, Llama 3F) and redoes it from the kept norm
  // output with the MLP's first matmul (GPT-2: 8C^2 more of a step's 72C^2 FLOPs per token
  // per layer). Gradients are bit-identical either way. Takes effect at the next forward.
  void set_recompute(Recompute r) { recompute_ = r; }
  void set_recompute(bool all) { recompute_ = all ? Recompute::kAll : Recompute::kNone; }
  Recompute recompute() const { return recompute_; }

  // The rotary inverse frequencies (HS/2 floats, backend memory) and YaRN's scale on cos/sin
  // (Llama family; null and 1 for GPT-2): what rope_forward takes.
  const float* rope_inv_freq() const { return rope_freq_.data(); }
  float rope_scale() const { return rope_scale_; }

  // Backend pointers (host pointers on the CPU).
  const Activations& activations() const { return acts_; }
  // Logits row (b, t) of the last forward, first V columns, on the host.
  std::vector<float> logits_row(int b, int t) const;
  int batch() const { return B_; }
  int time() const { return T_; }
  size_t activation_bytes() const {
    return acts_buf_.bytes() + scratch_buf_.bytes() + logits_buf_.bytes() + head_grad_buf_.bytes();
  }

  // Floating-point operations of one training step (forward + backward) per token,
  // counting multiply-adds as 2 (the usual 6N + attention rule).
  double flops_per_token(int T) const;

 private:
  // Layer l's slices of the activation allocation (its working slot under recompute).
  struct LayerActs {
    const float* residual;  // input: the stream entering layer l
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *qkv_pre, *qk_rstd, *atty, *att_lse, *residual2, *ln2, *ln2_mean,
        *ln2_rstd, *fch, *fch_gelu;
    float* residual3;  // output
  };
  // Gradient buffers of backward, reused across layers (backend memory).
  struct BackwardScratch {
    float* dresidual;  // (B, T, C)  gradient of the residual stream
    float* dln;        // (B, T, max(C, Q))
    float* dqkv;       // (B, T, QKV)
    float* dfch;       // (B, T, U)
    float* dact;       // (B, T, F)  gradient of the SwiGLU output (Llama)
  };
  // backward from the final norm's output: head_grad fills scratch_.dln (B*T, C) with
  // d(loss)/d(lnf) (and the head's gradient when it trains).
  void backward_from_head(const std::function<void()>& head_grad);
  // head_grad for backward(dloss) / backward(per-token dloss) (dloss null: the scalar one).
  void head_backward(float dloss, const std::vector<float>* dlosses);
  void ensure_activations(int B, int T);
  void ensure_logits(size_t rows);  // the logits buffer holds `rows` rows of Vp
  double chunked_forward_loss();    // the head and cross-entropy over blocks of rows
  // The base's parts wherever they are stored (fp32 pointer or stored matrix), for the
  // block projections (site, layer), the embedding and the head. See gpt_base.cpp.
  void proj_forward(LoraSite site, int l, float* out, const float* inp, const float* bias);
  void proj_backward(LoraSite site, int l, float* dinp, float* dw, float* db, const float* dout, const float* inp);
  void embed_forward();
  void head_forward(float* logits, const float* lnf, int rows);
  void head_input_grad(float* dlnf, const float* dlogits, int rows);
  void check_fp32_base() const {
    CF_CHECK(!stored_, "the model's frozen base is held in {}: its fp32 parameters do not exist",
             ops::weight_format_name(stored_->format));
  }
  void init_stored_base(ops::WeightFormat format);
  void ensure_scratch();
  void upload_inputs(const int32_t* inp, const int32_t* targets, const uint8_t* mask, const RowLayout& rows);
  void run_forward(bool head);  // the uploaded inputs -> lnf, and with head the logits
  // How many layers' worth of each kind of activation the allocation holds (L, or 1: a
  // working slot every layer reuses), from the recompute policy and lean activations in effect.
  struct ActSlots {
    size_t insides, cheap, mlp_pre, mlp_post;
  };
  ActSlots act_slots() const;
  LayerActs layer_acts(int l);
  void layer_forward(int l);   // needs ensure_activations(B_, T_) and the inputs uploaded
  void layer_backward(int l);  // the stream gradient of layer l's output in scratch_.dresidual
  // Lean activations (a frozen base without recompute): redoes layer l's norm outputs and MLP
  // activation that its adapters read, into their one working slot.
  void recompute_cheap(int l);
  // The MLP's first projection and activation of layer l into its slots (forward, and
  // backward under Recompute::kMlp): fch = up(ln2) (+ adapters), fch_gelu = act(fch).
  void mlp_up_forward(int l, const LayerActs& a);
  void gpt2_layer_forward(int l);
  void gpt2_layer_backward(int l);
  void llama_layer_forward(int l);
  void llama_layer_backward(int l);
  // The final/any norm of the family: LayerNorm (GPT-2) or RMSNorm (Llama; mean unused, bias null).
  void norm_forward(float* out, float* mean, float* rstd, const float* inp, const float* w, const float* b);
  void norm_backward(float* dinp, float* dw, float* db, const float* dout, const float* inp, const float* w,
                     const float* mean, const float* rstd);
  const float* head_weight(const GptParams& p) const { return p.lm_head != nullptr ? p.lm_head : p.wte; }
  void ensure_grads() const;
  // The gradient views backward writes: the model's, or all null when the base is frozen.
  GptParams grad_views() const;
  // Where a norm's weight gradient goes: `g` + off, or a sink when the base is frozen.
  float* norm_grad(float* g, size_t off) const { return g != nullptr ? g + off : norm_sink_.data(); }
  float* norm_bias_grad(float* g, size_t off) const {
    return g != nullptr ? g + off : norm_sink_.data() + norm_sink_.bytes() / sizeof(float) / 2;
  }
  static float* at(float* p, size_t off) { return p != nullptr ? p + off : nullptr; }
  // The attached adapters of layer l at a projection: out (B*T, ld) += their delta of x;
  // in backward dx += their share of the input gradient of dout (N, ld) and their gradients.
  void lora_add(int l, LoraSite site, float* out, int ld, const float* x);
  void lora_grad(int l, LoraSite site, float* dx, const float* dout, int ld, const float* x);

  GptConfig cfg_;
  ParamLayout layout_;
  std::shared_ptr<ops::Backend> backend_;
  Arena params_;
  mutable Arena grads_;             // lazily allocated (ensure_grads)
  ops::Buffer dparams_;             // device copy (empty on host backends)
  mutable ops::Buffer dgrads_;
  mutable ops::Buffer norm_sink_;   // (max(C, HS)) discarded norm gradients of a frozen base
  bool frozen_ = false;
  Lora* lora_ = nullptr;
  // Reduced base: the stored matrices, and where each fp32 tensor kept sits in params_
  // (layout tensor index -> offset; kNotKept for a stored one), views of them.
  std::unique_ptr<StoredBase> stored_;
  std::vector<size_t> kept_offset_;
  GptParams kept_views_{};
  // Chunked loss: the logits of one block of rows, and d(token loss)/d(lnf) (B*T, C).
  bool chunked_loss_ = false, head_grad_ready_ = false;
  size_t logits_rows_ = 0;  // rows the logits buffer holds
  ops::Buffer logits_buf_, head_grad_buf_;
  ops::Buffer acts_buf_, scratch_buf_, io_buf_;
  ops::Buffer rope_freq_;  // (HS/2) the rotary inverse frequencies (Llama), backend memory
  float rope_scale_ = 1.0f;
  Activations acts_{};
  BackwardScratch scratch_{};
  // Backend copies of the last forward's inputs: ids (B,T), targets (B,T), mask (B,T) or
  // null, doc and pos (B,T) or null (Llama: pos always, 0..T-1 per row when not given).
  int32_t *inp_ = nullptr, *targets_ = nullptr, *doc_ = nullptr, *pos_ = nullptr;
  uint8_t* mask_ = nullptr;
  bool has_targets_ = false, has_mask_ = false, has_doc_ = false, has_pos_ = false;
  int B_ = 0, T_ = 0;
  Recompute recompute_ = Recompute::kNone, acts_recompute_ = Recompute::kNone;
  bool acts_lean_ = false;
};

// The same model on another backend: the host parameters are copied over (and pushed);
// on the model's own backend it is returned as it is.
std::unique_ptr<Gpt> to_backend(std::unique_ptr<Gpt> model, std::shared_ptr<ops::Backend> backend);

}  // namespace chatforge::model
