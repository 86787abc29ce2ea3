// Implementation of train_step.h.
#include "train/train_step.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "core/error.h"
#include "core/timer.h"
#include "dist/grad_reducer.h"
#include "dist/nccl_comm.h"
#include "model/lora.h"

namespace chatforge::train {

TrainStep::TrainStep(model::Gpt& model, AdamW& opt, dist::Comm* comm, const StepOptions& options)
    : model_(model),
      train_(model.lora() != nullptr ? static_cast<model::ParamSet&>(*model.lora()) : model),
      opt_(opt), comm_(comm != nullptr ? *comm : local_), options_(options) {
  const int world = comm_.world();
  shard_ = dist::shard_counts(train_.params().size(), world);
  for (int r = 0; r < comm_.rank(); ++r) shard_begin_ += shard_[r];
  zero1_ = options.zero1 && world > 1;
  if (zero1_) opt_.shard(shard_begin_, shard_begin_ + shard_[comm_.rank()]);
  if (!model_.backend().host_memory() && world > 1 && dist::nccl_built()) nccl_ = dist::make_nccl_comm(comm_);
}

TrainStep::~TrainStep() = default;

// Forward and backward of every micro-batch; returns this rank's summed token losses.
// Data parallel: each rank's gradients are summed over ranks (dloss already divides by
// the global count, so the sum is the gradient of the global mean loss). In the last
// micro-batch a layer's bucket starts as soon as its gradients are final.
double TrainStep::forward_backward(std::span<const Batch> micro, float dloss) {
  const bool host = model_.backend().host_memory(), many = comm_.world() > 1;
  const bool overlap = options_.comm_overlap && host;
  std::optional<dist::GradReducer> reducer;
  if (many && host)
    reducer.emplace(comm_, train_.grads().data(),
                    static_cast<size_t>(std::max(1.0, options_.bucket_mb * (1 << 20) / 4)));
  const auto& tensors = train_.tensors();
  const int L = model_.config().n_layer;
  double loss_sum = 0;
  for (size_t i = 0; i < micro.size(); ++i) {
    const Batch& b = micro[i];
    if (objective_ == nullptr)
      loss_sum += model_.forward_loss(b.inputs.data(), b.targets.data(), b.mask.data(), b.B, b.T,
                                      {b.doc_ids(), b.positions()});
    if (reducer && overlap && i + 1 == micro.size())
      model_.on_layer_grads_done = [&](int l) {
        for (const auto& t : tensors)  // layer l's slice of each stacked (L, ...) tensor
          if (t.per_layer) {
            const size_t per = t.numel() / L;
            reducer->ready(t.offset + l * per, per);
          }
      };
    if (objective_ != nullptr) loss_sum += objective_->forward_backward(model_, b, dloss);
    else model_.backward(dloss);
    model_.on_layer_grads_done = nullptr;
  }
  if (reducer) {
    for (const auto& t : tensors)  // the rest: embeddings, final norm (and all without overlap)
      if (!t.per_layer || !overlap) reducer->ready(t.offset, t.numel());
    reducer->finish();
  }
  if (many && !host) reduce_gradients_on_device();
  return loss_sum;
}

void TrainStep::reduce_gradients_on_device() {
  if (nccl_) {
    nccl_->all_reduce_sum(train_.device_grads(), train_.grads().size());
    return;
  }
  train_.pull_grads();
  comm_.all_reduce_sum(train_.grads().data(), train_.grads().size());
  train_.push_grads();
}

StepStats TrainStep::run(std::span<const Batch> micro, float lr) {
  StepStats st;
  comm_.reset_comm_seconds();
  // The loss is normalised by the number of target tokens in the whole step (all
  // micro-batches, all ranks: SFT masks differ per rank), known before the first backward.
  uint64_t count = 0;
  for (const Batch& b : micro) count += objective_ != nullptr ? objective_->count(b) : b.mask_count();
  if (comm_.world() > 1) {
    double c = static_cast<double>(count);
    comm_.all_reduce_sum(&c, 1);
    count = static_cast<uint64_t>(c);
  }
  st.target_tokens = count;
  const float dloss = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
  Timer timer;
  train_.zero_grad();
  double loss_sum = forward_backward(micro, dloss);
  if (comm_.world() > 1) comm_.all_reduce_sum(&loss_sum, 1);
  model_.backend().synchronize();
  st.backward_seconds = timer.seconds();
  // ZeRO-1: the norm of the reduced gradient from each rank's slice (squared sums added)
  if (zero1_) {
    double sq = model_.backend().sum_squares(train_.device_grads() + shard_begin_, shard_[comm_.rank()]);
    comm_.all_reduce_sum(&sq, 1);
    st.grad_norm = static_cast<float>(std::sqrt(sq));
  } else {
    st.grad_norm = grad_norm(train_);
  }
  st.loss = count > 0 ? loss_sum / static_cast<double>(count) : 0.0;
  if (!std::isfinite(st.loss) || !std::isfinite(st.grad_norm)) {
    train_.zero_grad();  // the weights stay as they were
    st.comm_seconds = comm_.comm_seconds();
    return st;
  }
  opt_.update(train_, lr, st.grad_norm);
  if (zero1_) {  // every rank's updated slice to all (through the host on a device)
    train_.pull_params();
    comm_.all_gather(train_.params().data(), shard_);
    train_.push_params();
  }
  model_.backend().synchronize();
  st.update_seconds = timer.seconds() - st.backward_seconds;
  st.applied = true;
  st.comm_seconds = comm_.comm_seconds();
  return st;
}

AdamW TrainStep::gather_optimizer() {
  opt_.pull_moments();
  AdamW full(train_, opt_.config());
  full.set_step(opt_.step());
  if (!zero1_) {
    std::copy(opt_.m().data(), opt_.m().data() + opt_.m().size(), full.m().data());
    std::copy(opt_.v().data(), opt_.v().data() + opt_.v().size(), full.v().data());
    return full;
  }
  std::copy(opt_.m().data(), opt_.m().data() + opt_.m().size(), full.m().data() + shard_begin_);
  std::copy(opt_.v().data(), opt_.v().data() + opt_.v().size(), full.v().data() + shard_begin_);
  comm_.all_gather(full.m().data(), shard_);
  comm_.all_gather(full.v().data(), shard_);
  return full;
}

void TrainStep::scatter_optimizer(const AdamW& full) {
  const size_t begin = zero1_ ? shard_begin_ : 0;
  std::copy(full.m().data() + begin, full.m().data() + begin + opt_.m().size(), opt_.m().data());
  std::copy(full.v().data() + begin, full.v().data() + begin + opt_.v().size(), opt_.v().data());
  opt_.set_step(full.step());
  opt_.push_moments();
}

}  // namespace chatforge::train
