// Metrics: counters behind one mutex (scrapes and updates are rare next to decoding).
#include "serve/metrics.h"

#include <fmt/format.h>

namespace chatforge::serve {

void Metrics::record_request(const std::string& endpoint, int status, double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  ++requests_[{endpoint, status}];
  auto& h = latency_[endpoint];
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  ++h[b];
  latency_sum_[endpoint] += seconds;
}

void Metrics::add_tokens(int prompt, int completion) {
  std::lock_guard<std::mutex> lk(mu_);
  prompt_tokens_ += static_cast<uint64_t>(prompt);
  completion_tokens_ += static_cast<uint64_t>(completion);
}

std::string Metrics::render(int queued, int running, int parallel, int max_queue) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string s;
  s += "# HELP chatforge_requests_total HTTP requests by endpoint and status.\n# TYPE chatforge_requests_total counter\n";
  for (const auto& [k, v] : requests_)
    s += fmt::format("chatforge_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n", k.first, k.second, v);
  s += "# HELP chatforge_prompt_tokens_total Prompt tokens processed.\n# TYPE chatforge_prompt_tokens_total counter\n";
  s += fmt::format("chatforge_prompt_tokens_total {}\n", prompt_tokens_);
  s += "# HELP chatforge_completion_tokens_total Tokens generated.\n# TYPE chatforge_completion_tokens_total counter\n";
  s += fmt::format("chatforge_completion_tokens_total {}\n", completion_tokens_);
  s += "# HELP chatforge_request_seconds Request latency (to the last byte).\n# TYPE chatforge_request_seconds histogram\n";
  for (const auto& [ep, h] : latency_) {
    uint64_t cum = 0;
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cum += h[b];
      s += fmt::format("chatforge_request_seconds_bucket{{endpoint=\"{}\",le=\"{}\"}} {}\n", ep, kBuckets[b], cum);
    }
    cum += h[kBuckets.size()];
    s += fmt::format("chatforge_request_seconds_bucket{{endpoint=\"{}\",le=\"+Inf\"}} {}\n", ep, cum);
    s += fmt::format("chatforge_request_seconds_sum{{endpoint=\"{}\"}} {}\n", ep, latency_sum_.at(ep));
    s += fmt::format("chatforge_request_seconds_count{{endpoint=\"{}\"}} {}\n", ep, cum);
  }
  s += "# HELP chatforge_queue_depth Requests waiting for a slot.\n# TYPE chatforge_queue_depth gauge\n";
  s += fmt::format("chatforge_queue_depth {}\n", queued);
  s += "# HELP chatforge_running_sequences Sequences decoding now.\n# TYPE chatforge_running_sequences gauge\n";
  s += fmt::format("chatforge_running_sequences {}\n", running);
  s += "# HELP chatforge_parallel_slots Configured --parallel.\n# TYPE chatforge_parallel_slots gauge\n";
  s += fmt::format("chatforge_parallel_slots {}\n", parallel);
  s += "# HELP chatforge_max_queue Configured --max-queue.\n# TYPE chatforge_max_queue gauge\n";
  s += fmt::format("chatforge_max_queue {}\n", max_queue);
  return s;
}

std::string render_batch_stats(const infer::BatchStats& s) {
  return fmt::format(
      "# HELP chatforge_engine_steps_total Forward passes of the engine (prefills and decode steps).\n"
      "# TYPE chatforge_engine_steps_total counter\nchatforge_engine_steps_total {}\n"
      "# HELP chatforge_mixed_adapter_steps_total Forward passes that held sequences of different LoRA adapters "
      "(the base counted as one).\n"
      "# TYPE chatforge_mixed_adapter_steps_total counter\nchatforge_mixed_adapter_steps_total {}\n"
      "# HELP chatforge_max_batch_sequences Most sequences in one forward pass so far.\n"
      "# TYPE chatforge_max_batch_sequences gauge\nchatforge_max_batch_sequences {}\n",
      s.steps, s.mixed_steps, s.max_sequences);
}

}  // namespace chatforge::serve
