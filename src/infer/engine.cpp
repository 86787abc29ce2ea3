// Implementation of engine.h.
#include "infer/engine.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/timer.h"

namespace chatforge::infer {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kNone: break;
  }
  return "";
}

Engine::Engine(const model::Gpt& model, int max_batch, int max_context, ops::WeightFormat weights,
               const model::LoraBank* adapters)
    : model_(model),
      weights_(model, weights),
      cache_(model.config(), max_batch,
             max_context > 0 ? std::min(max_context, model.config().n_ctx) : model.config().n_ctx, model.backend()),
      seqs_(max_batch),
      adapters_(adapters),
      slot_ids_(max_batch),
      slot_adapter_(max_batch, -1) {}

int Engine::submit(GenerationRequest req) {
  const int V = model_.config().vocab_size, ctx = context();
  req.sampling.validate(req.sample_vocab_size > 0 ? std::min(req.sample_vocab_size, V) : V);
  CF_CHECK(req.max_new_tokens >= 0, "max new tokens must be >= 0 (got {})", req.max_new_tokens);
  CF_CHECK(!req.prompt.empty(), "the prompt is empty: at least one token is needed");
  const int n_adapters = adapters_ ? adapters_->size() : 0;
  CF_CHECK(req.adapter >= -1 && req.adapter < n_adapters, "LoRA adapter {} is not loaded ({} are)", req.adapter,
           n_adapters);
  for (int32_t id : req.prompt) CF_CHECK(id >= 0 && id < V, "prompt token id {} is outside the vocabulary (size {})", id, V);
  int truncated = 0;
  if (static_cast<int>(req.prompt.size()) >= ctx) {
    CF_CHECK(req.context_policy == ContextPolicy::kTruncateOldest,
             "the prompt has {} tokens but the context holds {} (including at least one new token)", req.prompt.size(), ctx);
    const int reserve = std::max(1, std::min(req.max_new_tokens > 0 ? req.max_new_tokens : ctx / 2, ctx / 2));
    truncated = static_cast<int>(req.prompt.size()) - (ctx - reserve);
    req.prompt.erase(req.prompt.begin(), req.prompt.begin() + truncated);
  }
  // the free slot whose cached ids share the longest prefix with the prompt; at least one
  // prompt token is always computed (its logits start the generation)
  int slot = -1, best = -1;
  for (int i = 0; i < max_batch(); ++i) {
    if (seqs_[i].used) continue;
    const auto& ids = slot_ids_[i];
    // keys/values computed with another adapter are not this sequence's
    const size_t limit = slot_adapter_[i] == req.adapter ? std::min(ids.size(), req.prompt.size() - 1) : 0;
    int common = 0;
    while (static_cast<size_t>(common) < limit && ids[common] == req.prompt[common]) ++common;
    if (req.prompt_logprobs) common = 0;  // every prompt row's logits are needed
    if (common > best) {
      best = common;
      slot = i;
    }
  }
  CF_CHECK(slot >= 0, "the engine is busy: all {} sequence slots are in use", max_batch());
  Sequence& s = seqs_[slot];
  s = Sequence{};
  s.used = true;
  CF_CHECK(req.sample_vocab_size >= 0 && req.sample_vocab_size <= V,
           "sample vocabulary size {} is outside 0..{} (the model's vocabulary)", req.sample_vocab_size, V);
  s.sampler = std::make_unique<Sampler>(req.sampling, req.sample_vocab_size > 0 ? req.sample_vocab_size : V);
  s.result.prompt_tokens = static_cast<int>(req.prompt.size());
  s.result.truncated_tokens = truncated;
  s.result.cached_prompt_tokens = best;
  s.reused = best;
  s.req = std::move(req);
  cache_.set_length(slot, best);
  slot_ids_[slot].resize(best);
  slot_adapter_[slot] = s.req.adapter;
  return slot;
}

void Engine::finish(Sequence& s, FinishReason r) { s.result.finish = r; }

void Engine::forget(int slot) {
  seqs_[slot] = Sequence{};
  slot_ids_[slot].clear();
  cache_.clear(slot);
}

bool Engine::finished(int h) const {
  CF_CHECK(h >= 0 && h < max_batch() && seqs_[h].used, "no such generation handle {}", h);
  return seqs_[h].result.finish != FinishReason::kNone;
}

int Engine::running() const {
  int n = 0;
  for (const Sequence& s : seqs_) n += s.used && s.result.finish == FinishReason::kNone;
  return n;
}

GenerationResult Engine::take(int h) {
  CF_CHECK(finished(h), "generation {} has not finished", h);
  Sequence& s = seqs_[h];
  GenerationResult r = std::move(s.result);
  s = Sequence{};  // the cache keeps its keys/values for prefix reuse
  return r;
}

bool Engine::step() {
  std::vector<model::InferSequence> batch;
  std::vector<int> slots;
  for (int i = 0; i < max_batch(); ++i) {
    Sequence& s = seqs_[i];
    if (!s.used || s.result.finish != FinishReason::kNone) continue;
    if (s.req.cancel != nullptr && s.req.cancel->load(std::memory_order_relaxed)) {
      finish(s, FinishReason::kCancelled);
      continue;
    }
    if (!s.prefilled) {
      batch.push_back({i, s.req.prompt.data() + s.reused, static_cast<int>(s.req.prompt.size()) - s.reused,
                       s.req.adapter});
    } else {
      batch.push_back({i, &s.next_input, 1, s.req.adapter});
    }
    slots.push_back(i);
  }
  if (batch.empty()) return false;
  const int Vp = model_.config().padded_vocab_size();
  logits_.resize(batch.size() * static_cast<size_t>(Vp));
  // all-row logits only in a step where some prefill asks for its prompt's logprobs
  size_t rows = 0;
  bool want_rows = false;
  for (const auto& b : batch) {
    rows += b.n_tokens;
    const Sequence& s = seqs_[b.slot];
    want_rows = want_rows || (!s.prefilled && s.req.prompt_logprobs);
  }
  if (want_rows) row_logits_.resize(rows * Vp);
  Timer timer;
  model::infer_forward(model_, weights_, cache_, batch, logits_.data(), scratch_, want_rows ? row_logits_.data() : nullptr,
                       model::CachedSchedule::kAuto, adapters_);
  ++stats_.steps;
  stats_.max_sequences = std::max(stats_.max_sequences, static_cast<int>(batch.size()));
  for (const auto& b : batch)
    if (b.adapter != batch.front().adapter) {
      ++stats_.mixed_steps;
      break;
    }
  if (want_rows) {
    size_t row = 0;
    for (const auto& b : batch) {
      Sequence& s = seqs_[b.slot];
      if (!s.prefilled && s.req.prompt_logprobs) {
        const int V = s.req.sample_vocab_size > 0 ? s.req.sample_vocab_size : model_.config().vocab_size;
        for (int t = 0; t + 1 < b.n_tokens; ++t) {
          const float* l = row_logits_.data() + (row + t) * Vp;
          const float maxv = *std::max_element(l, l + V);
          double sum = 0;
          for (int j = 0; j < V; ++j) sum += std::exp(static_cast<double>(l[j] - maxv));
          s.result.prompt_logprobs.push_back(l[b.tokens[t + 1]] - maxv - static_cast<float>(std::log(sum)));
        }
      }
      row += b.n_tokens;
    }
  }
  const double seconds = timer.seconds();
  for (const auto& b : batch) slot_ids_[b.slot].insert(slot_ids_[b.slot].end(), b.tokens, b.tokens + b.n_tokens);
  for (size_t b = 0; b < slots.size(); ++b) {
    Sequence& s = seqs_[slots[b]];
    (s.prefilled ? s.result.decode_seconds : s.result.prefill_seconds) += seconds;
    s.prefilled = true;
    const bool want_lp = s.req.sampling.logprobs || s.req.sampling.top_logprobs > 0;
    SampledLogprobs lp;
    Timer sample_timer;
    const int32_t id = s.sampler->sample(logits_.data() + b * Vp, s.req.prompt, want_lp ? &lp : nullptr);
    s.result.decode_seconds += sample_timer.seconds();
    ++s.result.completion_tokens;
    if (std::find(s.req.stop_ids.begin(), s.req.stop_ids.end(), id) != s.req.stop_ids.end()) {
      s.result.stop_id = id;
      finish(s, FinishReason::kStop);
      continue;
    }
    s.result.tokens.push_back(id);
    if (want_lp) s.result.logprobs.push_back(lp);
    s.next_input = id;
    if (s.req.on_token && !s.req.on_token(id, want_lp ? &lp : nullptr)) {
      finish(s, FinishReason::kStop);
      continue;
    }
    if (s.req.max_new_tokens > 0 && s.result.completion_tokens >= s.req.max_new_tokens)
      finish(s, FinishReason::kLength);
    else if (cache_.length(slots[b]) >= context())  // no position left for the next input
      finish(s, FinishReason::kLength);
  }
  return running() > 0;
}

GenerationResult Engine::generate(GenerationRequest request) {
  const int h = submit(std::move(request));
  try {
    while (step()) {
    }
  } catch (...) {
    forget(h);
    throw;
  }
  return take(h);
}

std::vector<GenerationResult> Engine::generate_batch(std::vector<GenerationRequest> requests) {
  CF_CHECK(static_cast<int>(requests.size()) <= max_batch() - running(),
           "{} requests do not fit the {} free sequence slots", requests.size(), max_batch() - running());
  std::vector<int> handles;
  try {
    for (auto& r : requests) handles.push_back(submit(std::move(r)));
    while (step()) {
    }
  } catch (...) {
    for (int h : handles) forget(h);
    throw;
  }
  std::vector<GenerationResult> out;
  for (int h : handles) out.push_back(take(h));
  return out;
}

}  // namespace chatforge::infer
