// Implementation of chat_dataset.h.
#include "data/chat_dataset.h"

#include "core/error.h"

namespace chatforge::data {

TruncatePolicy parse_truncate_policy(const std::string& name) {
  if (name == "drop") return TruncatePolicy::kDrop;
  if (name == "keep-last-turns") return TruncatePolicy::kKeepLastTurns;
  usage_fail("--truncate must be drop or keep-last-turns, got '{}'", name);
}

FitResult fit_conversation(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& messages,
                           size_t max_tokens, TruncatePolicy policy) {
  FitResult r;
  r.chat = format.render(messages);
  if (r.chat.ids.size() <= max_tokens) {
    r.kept = true;
    r.messages = messages;
    return r;
  }
  if (policy == TruncatePolicy::kDrop) return r;
  const size_t body = !messages.empty() && messages[0].role == "system" ? 1 : 0;
  // Exchange starts: the first body message, then every user message after it.
  std::vector<size_t> starts;
  for (size_t i = body; i < messages.size(); ++i)
    if (i == body || messages[i].role == "user") starts.push_back(i);
  for (size_t k = 1; k < starts.size(); ++k) {
    std::vector<tok::ChatMessage> cand(messages.begin(), messages.begin() + static_cast<long>(body));
    cand.insert(cand.end(), messages.begin() + static_cast<long>(starts[k]), messages.end());
    bool has_assistant = false;
    for (const auto& m : cand) has_assistant = has_assistant || m.role == "assistant";
    if (!has_assistant) break;
    tok::RenderedChat chat = format.render(cand);
    if (chat.ids.size() <= max_tokens) {
      r.kept = true;
      r.exchanges_dropped = k;
      r.messages = std::move(cand);
      r.chat = std::move(chat);
      return r;
    }
  }
  r.chat = {};
  return r;
}

uint64_t conversation_hash(const std::vector<tok::ChatMessage>& messages) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
    h = (h ^ 0xffu) * 0x100000001b3ULL;  // separator no text byte sequence can fake (0xff is never UTF-8)
  };
  for (const auto& m : messages) {
    if (m.role == "system") continue;
    mix(m.role);
    mix(m.content);
  }
  return h;
}

bool is_validation_hash(uint64_t hash, uint64_t seed, double val_fraction) {
  if (val_fraction <= 0) return false;
  uint64_t z = hash + seed * 0x9e3779b97f4a7c15ULL + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 < val_fraction;
}

}  // namespace chatforge::data
