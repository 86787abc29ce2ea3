// Bucketed, overlapped gradient all-reduce over one flat arena: the caller reports
// ranges as they become final (during backward); once the pending ranges hold a bucket's
// worth of floats they are summed asynchronously while backward goes on. finish() sends
// the rest and waits, after which every rank holds the sum of all ranks' gradients.
#pragma once
#include <memory>
#include <vector>

#include "dist/comm.h"

namespace chatforge::dist {

class GradReducer {
 public:
  // base: the arena; bucket_floats: floats per launch (>= 1).
  GradReducer(Comm& comm, float* base, size_t bucket_floats);
  // [offset, offset + n) of base is final on this rank. Adjacent ranges merge.
  void ready(size_t offset, size_t n);
  // Starts whatever is pending and waits for every all-reduce of this step.
  void finish();
  size_t launches() const { return launches_; }

 private:
  void launch();

  Comm& comm_;
  float* base_;
  size_t bucket_floats_;
  std::vector<std::pair<size_t, size_t>> pending_;  // (offset, n)
  size_t pending_floats_ = 0;
  std::vector<std::unique_ptr<Request>> in_flight_;
  size_t launches_ = 0;
};

}  // namespace chatforge::dist
