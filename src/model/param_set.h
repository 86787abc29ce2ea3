// A set of trainable tensors in one flat array: what the optimizer (train/adamw.h), the
// training step (gradient zeroing, all-reduce, norm) and run checkpoints walk. The model
// (model/gpt.h) is one; a LoRA adapter (model/lora.h) over a frozen model is another.
// Weights and gradients are parallel host arenas in tensors() order, with backend copies
// on a device (push/pull move them; on the CPU the host arrays are what the ops use).
#pragma once
#include <vector>

#include "core/arena.h"
#include "model/weights.h"
#include "ops/backend.h"

namespace chatforge::model {

class ParamSet {
 public:
  virtual ~ParamSet() = default;
  virtual ops::Backend& backend() const = 0;
  virtual Arena& params() = 0;
  virtual const Arena& params() const = 0;
  virtual Arena& grads() = 0;
  virtual const Arena& grads() const = 0;
  // What the ops read and write (the host arrays on the CPU).
  virtual float* device_params() const = 0;
  virtual float* device_grads() const = 0;
  // Every tensor, with its offset in the arrays and whether weight decay applies.
  virtual const std::vector<ParamTensor>& tensors() const = 0;
  virtual void push_params() = 0;
  virtual void pull_params() = 0;
  virtual void push_grads() = 0;
  virtual void pull_grads() = 0;
  virtual void zero_grad() = 0;
};

}  // namespace chatforge::model
