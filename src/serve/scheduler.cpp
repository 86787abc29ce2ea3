// Scheduler: admission from a bounded queue, one engine step at a time over every running
// sequence, text published to the waiting handler threads. See scheduler.h.
#include "serve/scheduler.h"

#include <fmt/format.h>

#include <chrono>

#include "core/error.h"
#include "infer/stop_strings.h"

namespace chatforge::serve {

double Scheduler::now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

Scheduler::Scheduler(const model::Gpt& model, const tok::Tokenizer& tokenizer, std::vector<int32_t> stop_ids,
                     int parallel, int max_queue, ops::WeightFormat weights, const model::LoraBank* adapters)
    : tok_(tokenizer),
      stop_ids_(std::move(stop_ids)),
      model_vocab_(model.config().vocab_size),
      engine_(model, parallel, 0, weights, adapters),
      parallel_(parallel),
      max_queue_(max_queue),
      context_(engine_.context()) {
  thread_ = std::thread([this] { loop(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Scheduler::enqueue(const std::shared_ptr<JobGroup>& group) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (static_cast<int>(queue_.size()) >= max_queue_ + parallel_ - running_.load()) return false;
    group->queued_at = now();
    queue_.emplace_back(group, 0);
  }
  cv_.notify_all();
  return true;
}

infer::BatchStats Scheduler::batch_stats() const {
  infer::BatchStats s;
  s.steps = steps_.load();
  s.mixed_steps = mixed_steps_.load();
  s.max_sequences = max_sequences_.load();
  return s;
}

int Scheduler::queued() const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int>(queue_.size());
}

std::string Scheduler::token_text(int32_t id) const {
  return id >= 0 && id < tok_.vocab_size() ? tok_.decode({id}) : fmt::format("<|id {}|>", id);
}

void Scheduler::publish(Active& a, const std::string& text, const infer::SampledLogprobs* lp, int32_t id) {
  JobGroup& g = *a.group;
  {
    std::lock_guard<std::mutex> lk(g.mu);
    ChoiceState& c = g.choices[a.choice];
    c.text += text;
    if (g.want_logprobs && lp != nullptr) {
      TokenInfo t;
      t.text = token_text(id);
      t.logprob = lp->chosen.logprob;
      for (const auto& alt : lp->top) t.top.emplace_back(token_text(alt.id), alt.logprob);
      c.tokens.push_back(std::move(t));
    }
  }
  g.cv.notify_all();
}

void Scheduler::finish(Active& a, infer::GenerationResult r) {
  std::string tail;
  if (!a.matcher->matched()) tail = a.matcher->push(a.decoder->flush());
  tail += a.matcher->flush();
  JobGroup& g = *a.group;
  {
    std::lock_guard<std::mutex> lk(g.mu);
    ChoiceState& c = g.choices[a.choice];
    c.text += tail;
    c.done = true;
    c.finish_reason = r.finish == infer::FinishReason::kLength ? "length" : "stop";
    c.prompt_tokens = r.prompt_tokens;
    c.completion_tokens = r.completion_tokens;
  }
  tokens_generated_.fetch_add(static_cast<uint64_t>(r.completion_tokens));
  g.cv.notify_all();
}

// Moves queued choices into free engine slots (cancelled groups are dropped unstarted).
void Scheduler::admit(std::vector<std::unique_ptr<Active>>& active) {
  for (;;) {
    std::shared_ptr<JobGroup> g;
    size_t choice = 0;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (queue_.empty() || static_cast<int>(active.size()) >= parallel_) return;
      auto& front = queue_.front();
      g = front.first;
      choice = front.second++;
      if (front.second >= g->choices.size() || g->cancel.load()) queue_.pop_front();
    }
    if (g->cancel.load()) {
      std::lock_guard<std::mutex> lk(g->mu);
      for (auto& c : g->choices)
        if (!c.done) c.done = true, c.finish_reason = "cancelled";
      g->cv.notify_all();
      continue;
    }
    if (choice == 0) g->started_at = now();
    auto a = std::make_unique<Active>();
    a->group = g;
    a->choice = choice;
    a->decoder = std::make_unique<tok::StreamDecoder>(tok_);
    a->matcher = std::make_unique<infer::StopStringMatcher>(g->stops);
    infer::GenerationRequest req;
    req.prompt = g->prompt;
    req.sampling = g->sampling;
    req.sampling.seed = g->sampling.seed + choice;
    // ids the model has but the tokenizer lacks (a padded embedding) can never be sampled
    for (int32_t id = tok_.vocab_size(); id < model_vocab_; ++id) req.sampling.logit_bias[id] = -1e9f;
    req.max_new_tokens = g->max_tokens;
    req.stop_ids = stop_ids_;
    req.cancel = &g->cancel;
    req.adapter = g->adapter;
    Active* ap = a.get();
    req.on_token = [this, ap](int32_t id, const infer::SampledLogprobs* lp) {
      publish(*ap, ap->matcher->push(ap->decoder->push(id)), lp, id);
      return !ap->matcher->matched();
    };
    try {
      a->handle = engine_.submit(std::move(req));
    } catch (const std::exception& e) {
      {
        std::lock_guard<std::mutex> lk(g->mu);
        g->choices[choice].done = true;
        g->choices[choice].error = e.what();
      }
      g->cv.notify_all();
      continue;
    }
    active.push_back(std::move(a));
    running_.store(static_cast<int>(active.size()));
  }
}

void Scheduler::loop() {
  std::vector<std::unique_ptr<Active>> active;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || !active.empty(); });
      if (stop_) break;
    }
    admit(active);
    if (active.empty()) continue;
    try {
      engine_.step();
      const infer::BatchStats& st = engine_.batch_stats();
      steps_.store(st.steps);
      mixed_steps_.store(st.mixed_steps);
      max_sequences_.store(st.max_sequences);
    } catch (const std::exception& e) {
      // An engine failure ends every running sequence with an error, never the server.
      for (auto& a : active) {
        try {
          (void)engine_.take(a->handle);
        } catch (...) {
        }
        std::lock_guard<std::mutex> lk(a->group->mu);
        a->group->choices[a->choice].done = true;
        a->group->choices[a->choice].error = e.what();
        a->group->cv.notify_all();
      }
      active.clear();
      running_.store(0);
      continue;
    }
    for (size_t i = 0; i < active.size();) {
      if (engine_.finished(active[i]->handle)) {
        finish(*active[i], engine_.take(active[i]->handle));
        active.erase(active.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
    running_.store(static_cast<int>(active.size()));
  }
  // shutting down: release every waiter
  for (auto& a : active) {
    std::lock_guard<std::mutex> lk(a->group->mu);
    a->group->choices[a->choice].done = true;
    a->group->choices[a->choice].error = "server shutting down";
    a->group->cv.notify_all();
  }
}

}  // namespace chatforge::serve
