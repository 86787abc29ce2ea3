// Implementation of grad_reducer.h.
#include "dist/grad_reducer.h"

#include <algorithm>

namespace chatforge::dist {

GradReducer::GradReducer(Comm& comm, float* base, size_t bucket_floats)
    : comm_(comm), base_(base), bucket_floats_(std::max<size_t>(1, bucket_floats)) {}

void GradReducer::ready(size_t offset, size_t n) {
  if (n == 0) return;
  // Per-layer tensors are stacked (L, ...) and finish from the last layer down, so a new
  // range usually ends where a pending one starts: merge to send fewer, larger messages.
  bool merged = false;
  for (auto& [o, len] : pending_) {
    if (offset + n == o) {
      o = offset;
      len += n;
      merged = true;
      break;
    }
    if (o + len == offset) {
      len += n;
      merged = true;
      break;
    }
  }
  if (!merged) pending_.emplace_back(offset, n);
  pending_floats_ += n;
  if (pending_floats_ >= bucket_floats_) launch();
  comm_.progress();
}

void GradReducer::launch() {
  for (const auto& [o, len] : pending_) {
    in_flight_.push_back(comm_.all_reduce_sum_async(base_ + o, len));
    ++launches_;
  }
  pending_.clear();
  pending_floats_ = 0;
}

void GradReducer::finish() {
  launch();
  for (auto& r : in_flight_) r->wait();
  in_flight_.clear();
}

}  // namespace chatforge::dist
