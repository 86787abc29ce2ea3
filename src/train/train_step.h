// One optimizer step, the library call that the trainer, the tests and the benchmarks all
// use: forward and backward over this rank's micro-batches (gradient accumulation), the
// gradient all-reduce over ranks (bucketed and overlapped with the last backward on host
// memory; NCCL or through the host on a device), the global gradient norm, clipping and
// AdamW (ZeRO-1: each rank updates its slice of the parameters, then all of them are
// gathered). The loss is the mean over every masked-in target token of every rank (the
// preference objectives: over every example).
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dist/comm.h"
#include "model/gpt.h"
#include "train/adamw.h"
#include "train/loader.h"
#include "train/preference_step.h"

namespace chatforge::train {

struct StepOptions {
  bool zero1 = false;        // shard Adam moments and the update across ranks (world > 1)
  double bucket_mb = 4;      // gradient all-reduce bucket size
  bool comm_overlap = true;  // start bucket all-reduces during the last backward (host memory)
};

struct StepStats {
  double loss = 0;              // mean loss over the step's target tokens (all ranks)
  float grad_norm = 0;          // global norm before clipping
  uint64_t target_tokens = 0;   // masked-in targets over all ranks
  bool applied = false;         // false: the loss or norm was not finite; no update, gradients cleared
  double comm_seconds = 0;      // time in communication (data parallel)
  double backward_seconds = 0;  // zero_grad, forward and backward of every micro-batch, all-reduce
  double update_seconds = 0;    // norm, clipping and AdamW (and the ZeRO-1 gather)
};

class TrainStep {
 public:
  // comm: null for one rank. With adapters attached (model.lora()), they are what is
  // trained (gradients, all-reduce, norm, AdamW) and the frozen base is only read. Under zero1 the optimizer is sharded here (its moments
  // shrink to this rank's slice).
  TrainStep(model::Gpt& model, AdamW& opt, dist::Comm* comm = nullptr, const StepOptions& options = {});
  ~TrainStep();

  StepStats run(std::span<const Batch> micro_batches, float lr);
  // Preference stages: each micro-batch's forward and backward is the objective's, and the
  // step's loss is the mean over its examples (not tokens). Null: the language-model loss.
  void set_objective(PreferenceObjective* objective) { objective_ = objective; }

  bool zero1() const { return zero1_; }
  // The full (unsharded) Adam state, what a checkpoint holds whatever the rank count:
  // with ZeRO-1 every rank sends its slice (a collective: every rank calls it).
  AdamW gather_optimizer();
  // The inverse for a resume: this rank keeps its slice of a full state.
  void scatter_optimizer(const AdamW& full);

 private:
  double forward_backward(std::span<const Batch> micro, float dloss);
  void reduce_gradients_on_device();

  model::Gpt& model_;
  model::ParamSet& train_;  // what the step trains: the model, or its LoRA adapters (model.lora())
  AdamW& opt_;
  dist::LocalComm local_;
  dist::Comm& comm_;
  StepOptions options_;
  bool zero1_ = false;
  std::vector<size_t> shard_;  // parameters per rank
  size_t shard_begin_ = 0;
  std::unique_ptr<dist::Comm> nccl_;
  PreferenceObjective* objective_ = nullptr;  // device gradients all-reduced on the devices
};

}  // namespace chatforge::train
