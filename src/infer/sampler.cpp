// Implementation of sampler.h.
#include "infer/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include "core/error.h"
#include "core/num_range.h"

namespace chatforge::infer {

void SamplingParams::validate(int vocab_size) const {
  auto check = [](const char* name, double v, const char* spec) {
    if (!NumRange(spec).contains(v)) usage_fail("invalid {} {}: must be in {}", name, v, spec);
  };
  check("temperature", temperature, sampling_range::kTemperature);
  check("top-k", top_k, sampling_range::kTopK);
  check("top-p", top_p, sampling_range::kTopP);
  check("min-p", min_p, sampling_range::kMinP);
  check("repetition-penalty", repetition_penalty, sampling_range::kRepetitionPenalty);
  check("frequency-penalty", frequency_penalty, sampling_range::kFrequencyPenalty);
  check("presence-penalty", presence_penalty, sampling_range::kPresencePenalty);
  check("top-logprobs", top_logprobs, sampling_range::kTopLogprobs);
  for (const auto& [id, b] : logit_bias) {
    if (id < 0 || id >= vocab_size) usage_fail("invalid logit-bias token id {}: vocabulary has {} tokens", id, vocab_size);
    if (!std::isfinite(b) && !(std::isinf(b) && b < 0)) usage_fail("invalid logit-bias value {} for token {}", b, id);
  }
}

Sampler::Sampler(const SamplingParams& params, int vocab_size) : p_(params), V_(vocab_size), rng_(params.seed) {
  p_.validate(vocab_size);
}

void Sampler::set_params(const SamplingParams& p) {
  p.validate(V_);
  p_ = p;
  rng_ = Rng(p.seed);
}

int32_t Sampler::sample(float* logits, std::span<const int32_t> prompt, SampledLogprobs* lp) {
  const int V = V_;
  // A NaN or Inf logit means broken weights (the loaders reject NaN/Inf weights, so an
  // overflow): greedy decoding would pick a garbage token silently, sampling would blame
  // --logit-bias. One branch-free pass over V floats, small beside the step that made them.
  bool finite = true;
  for (int i = 0; i < V; ++i) finite &= std::isfinite(logits[i]);
  if (!finite) {
    const int at = static_cast<int>(std::find_if(logits, logits + V, [](float x) { return !std::isfinite(x); }) - logits);
    fail("the model produced a non-finite logit ({}) for token {}: its weights overflow or are corrupt", logits[at], at);
  }
  if (lp != nullptr && (p_.logprobs || p_.top_logprobs > 0)) {
    // log-softmax of the raw logits
    float maxv = *std::max_element(logits, logits + V);
    double sum = 0;
    for (int i = 0; i < V; ++i) sum += std::exp(static_cast<double>(logits[i] - maxv));
    const float lse = maxv + static_cast<float>(std::log(sum));
    lp->top.clear();
    if (p_.top_logprobs > 0) {
      order_.resize(V);
      std::iota(order_.begin(), order_.end(), 0);
      const int k = std::min(p_.top_logprobs, V);
      std::partial_sort(order_.begin(), order_.begin() + k, order_.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
      });
      for (int i = 0; i < k; ++i) lp->top.push_back({order_[i], logits[order_[i]] - lse});
    }
    lp->chosen.logprob = lse;  // completed below once the token is known: logit - lse
    lp->chosen.id = -1;
    probs_.assign(logits, logits + V);  // keep raw logits for the chosen token
  }
  for (const auto& [id, b] : p_.logit_bias) logits[id] += b;
  if (p_.repetition_penalty != 1.0f) {
    std::unordered_set<int32_t> seen(prompt.begin(), prompt.end());
    for (const auto& [id, c] : counts_) seen.insert(id);
    for (int32_t id : seen)
      if (id >= 0 && id < V) logits[id] = logits[id] > 0 ? logits[id] / p_.repetition_penalty : logits[id] * p_.repetition_penalty;
  }
  if (p_.frequency_penalty != 0.0f || p_.presence_penalty != 0.0f)
    for (const auto& [id, c] : counts_)
      if (id >= 0 && id < V) logits[id] -= p_.frequency_penalty * c + p_.presence_penalty;

  int32_t chosen;
  if (p_.temperature == 0.0f) {
    chosen = static_cast<int32_t>(std::max_element(logits, logits + V) - logits);  // first maximum
  } else {
    // candidates sorted by logit (ties by id for determinism), truncated by top-k
    order_.resize(V);
    std::iota(order_.begin(), order_.end(), 0);
    int n = V;
    auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
    if (p_.top_k > 0 && p_.top_k < V) {
      n = p_.top_k;
      std::partial_sort(order_.begin(), order_.begin() + n, order_.end(), by_logit);
    } else if (p_.top_p < 1.0f || p_.min_p > 0.0f) {
      std::sort(order_.begin(), order_.end(), by_logit);
    }  // else: no truncation, candidates stay in id order (no sort needed)
    // softmax over the candidates at temperature T
    std::vector<double>& p = weights_;
    p.resize(n);
    const double inv_t = 1.0 / p_.temperature;
    double maxv = -INFINITY;
    for (int i = 0; i < n; ++i) maxv = std::max(maxv, static_cast<double>(logits[order_[i]]));
    double sum = 0;
    for (int i = 0; i < n; ++i) sum += p[i] = std::exp((logits[order_[i]] - maxv) * inv_t);
    CF_CHECK(sum > 0 && std::isfinite(sum), "sampling: every token has zero probability (check --logit-bias)");
    for (int i = 0; i < n; ++i) p[i] /= sum;
    // top-p: the smallest prefix whose mass reaches top_p (at least one token)
    if (p_.top_p < 1.0f) {
      double cum = 0;
      int keep = 0;
      while (keep < n) {
        cum += p[keep++];
        if (cum >= p_.top_p) break;
      }
      n = keep;
    }
    // min-p: drop tokens below min_p times the most likely one
    if (p_.min_p > 0.0f) {
      int keep = 1;
      while (keep < n && p[keep] >= p_.min_p * p[0]) ++keep;
      n = keep;
    }
    double total = 0;
    for (int i = 0; i < n; ++i) total += p[i];
    double r = rng_.uniform() * total;
    int pick = n - 1;
    for (int i = 0; i < n; ++i) {
      r -= p[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    chosen = order_[pick];
  }
  if (lp != nullptr && (p_.logprobs || p_.top_logprobs > 0)) {
    lp->chosen.id = chosen;
    lp->chosen.logprob = probs_[chosen] - lp->chosen.logprob;
  }
  ++counts_[chosen];
  return chosen;
}

}  // namespace chatforge::infer
