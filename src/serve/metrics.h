// Server counters in Prometheus text format: requests by endpoint and status, prompt and
// completion tokens, request latency (histogram), queue depth and running sequences; how the
// engine's forward passes were shared (render_batch_stats).
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "infer/engine.h"

namespace chatforge::serve {

class Metrics {
 public:
  void record_request(const std::string& endpoint, int status, double seconds);
  void add_tokens(int prompt, int completion);
  // queued / running are sampled by the caller at scrape time
  std::string render(int queued, int running, int parallel, int max_queue) const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, std::array<uint64_t, kBuckets.size() + 1>> latency_;  // last = +Inf
  std::map<std::string, double> latency_sum_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0;
};

// chatforge_engine_steps_total, chatforge_mixed_adapter_steps_total (passes with sequences
// of different LoRA adapters, the base counted as one) and chatforge_max_batch_sequences.
std::string render_batch_stats(const infer::BatchStats& s);

}  // namespace chatforge::serve
