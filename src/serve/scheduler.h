// The one thread that owns the Engine (which is not thread-safe). HTTP handler threads
// enqueue a Job (one per requested choice) into a bounded queue and wait on the job's
// group for streamed text; the scheduler admits up to `parallel` sequences at a time,
// steps them together (batched decoding) and publishes UTF-8-safe, stop-string-filtered
// text, per-token logprobs and the final usage. Cancelling a group frees its slots at once.
// Requests for different LoRA adapters (JobGroup::adapter) are stepped together too.
#pragma once
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "infer/engine.h"
#include "infer/stop_strings.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::serve {

struct TokenInfo {  // one generated token, for `logprobs`
  std::string text;
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;
};

// What one choice (one sequence) has produced so far. Guarded by JobGroup::mu.
struct ChoiceState {
  std::string text;              // everything shown so far
  size_t sent = 0;               // bytes of `text` a streaming reader has already sent
  std::vector<TokenInfo> tokens;  // when logprobs were asked
  size_t tokens_sent = 0;
  bool done = false;
  std::string finish_reason;     // "stop" | "length" (set when done)
  std::string error;             // non-empty: the engine refused it
  int prompt_tokens = 0, completion_tokens = 0;
};

// One HTTP request: n choices sharing a prompt. Handlers wait on cv.
struct JobGroup {
  std::vector<int32_t> prompt;
  infer::SamplingParams sampling;  // choice i uses seed + i
  int max_tokens = 0;
  std::vector<std::string> stops;
  bool want_logprobs = false;
  int adapter = -1;  // the LoRA adapter (index into the scheduler's LoraBank); -1: the base
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ChoiceState> choices;
  double queued_at = 0, started_at = 0;  // seconds (steady clock)
  bool all_done() const {
    for (const auto& c : choices)
      if (!c.done) return false;
    return true;
  }
};

class Scheduler {
 public:
  // parallel: sequences decoded together; max_queue: requests waiting beyond those.
  // weights: the storage format of the weight matrices (infer::Engine). adapters: the LoRA
  // adapters requests may pick (null: none), outliving the scheduler.
  Scheduler(const model::Gpt& model, const tok::Tokenizer& tokenizer, std::vector<int32_t> stop_ids, int parallel,
            int max_queue, ops::WeightFormat weights = ops::WeightFormat::kF32,
            const model::LoraBank* adapters = nullptr);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // false when the queue is full (answer 429). n choices = group->choices.size().
  bool enqueue(const std::shared_ptr<JobGroup>& group);
  int context() const { return context_; }
  int queued() const;          // requests waiting
  int running() const { return running_.load(); }  // sequences decoding
  uint64_t tokens_generated() const { return tokens_generated_.load(); }
  infer::BatchStats batch_stats() const;  // the engine's, as of its last step
  static double now();

 private:
  struct Active {
    std::shared_ptr<JobGroup> group;
    size_t choice = 0;
    int handle = -1;
    std::unique_ptr<tok::StreamDecoder> decoder;
    std::unique_ptr<infer::StopStringMatcher> matcher;
  };
  void loop();
  void admit(std::vector<std::unique_ptr<Active>>& active);
  void publish(Active& a, const std::string& text, const infer::SampledLogprobs* lp, int32_t id);
  void finish(Active& a, infer::GenerationResult r);
  std::string token_text(int32_t id) const;  // decoded bytes; a placeholder past the tokenizer

  const tok::Tokenizer& tok_;
  std::vector<int32_t> stop_ids_;
  int model_vocab_;
  infer::Engine engine_;
  const int parallel_, max_queue_, context_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // (group, next choice index to admit); a group stays queued until all its choices start
  std::deque<std::pair<std::shared_ptr<JobGroup>, size_t>> queue_;
  bool stop_ = false;
  std::atomic<int> running_{0};
  std::atomic<uint64_t> tokens_generated_{0};
  std::atomic<uint64_t> steps_{0}, mixed_steps_{0};
  std::atomic<int> max_sequences_{0};
  std::thread thread_;
};

}  // namespace chatforge::serve
