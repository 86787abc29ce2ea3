// The GPT of gpt.h on a CUDA device: the same forward/backward sequence over the CUDA ops
// (ops/cuda/cuda_ops.h), with parameters, gradients and Adam moments as flat device
// arrays in the host model's ParamLayout, so copying them to and from a Gpt arena is one
// memcpy each and checkpoints are written by the host code, identical whatever device
// trained them. fp32 master weights always; with bf16 the GEMMs read bf16-rounded inputs
// and accumulate in fp32. Built only with CHATFORGE_HAS_CUDA; otherwise the constructor
// throws Error ("built without the CUDA backend").
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "ops/ops.h"

namespace chatforge::model {

class Gpt;

class GptCuda {
 public:
  // On the current device (ops::activate_device picks it).
  GptCuda(const GptConfig& cfg, bool bf16);
  ~GptCuda();
  GptCuda(const GptCuda&) = delete;
  GptCuda& operator=(const GptCuda&) = delete;

  const GptConfig& config() const { return cfg_; }
  const ParamLayout& layout() const { return layout_; }
  bool bf16() const { return bf16_; }
  size_t num_params() const { return layout_.total(); }

  // Host <-> device copies of whole arenas of layout().total() floats.
  void upload_params(const float* host);
  void download_params(float* host) const;
  void upload_moments(const float* m, const float* v);  // Adam m, v
  void download_moments(float* m, float* v) const;
  void download_grads(float* host) const;
  void upload_grads(const float* host);

  // As Gpt: logits of inp (B,T) (host ids) into device memory; forward plus masked
  // token losses (returns their sum); backward accumulates parameter gradients (+=).
  void forward(const int32_t* inp, int B, int T);
  double forward_loss(const int32_t* inp, const int32_t* targets, const uint8_t* mask, int B, int T);
  void backward(float dloss);
  void zero_grad();
  // Sum of squares of all gradients (deterministic), for the global norm.
  double grad_sum_squares() const;
  // AdamW on every tensor (decay only where ParamTensor::weight_decay()); hp.weight_decay
  // is the decay of matmul weights. step counts from 1; grad_scale folds in clipping.
  void adamw_update(const ops::AdamWParams& hp, int step, float grad_scale);

  // Logits row (b, t) (first V columns) of the last forward, copied to the host.
  std::vector<float> logits_row(int b, int t) const;
  // Device pointers (for NCCL all-reduce of the gradients, and tests).
  float* device_params();
  float* device_grads();
  int batch() const { return B_; }
  int time() const { return T_; }

  struct State;  // device buffers (defined in gpt_cuda.cpp)

 private:
  void ensure_activations(int B, int T);
  void check_ids(const int32_t* ids, const char* what, const uint8_t* mask, int n) const;

  GptConfig cfg_;
  ParamLayout layout_;
  bool bf16_;
  std::unique_ptr<State> s_;
  int B_ = 0, T_ = 0;
};

}  // namespace chatforge::model
