// From validated conversations to training rows: render with the one chat template
// (tok::ChatFormat::render, which builds the loss mask), fit to a token budget by a
// declared truncation policy, and assign train/validation by a hash of the conversation
// (identical conversations always land in the same split, so none leaks into validation).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/chat_format.h"

namespace chatforge::data {

enum class TruncatePolicy {
  kDrop,           // a conversation over the budget is dropped
  kKeepLastTurns,  // drop whole earliest exchanges (system prompt kept) until it fits
};
TruncatePolicy parse_truncate_policy(const std::string& name);  // "drop" | "keep-last-turns"

struct FitResult {
  bool kept = false;          // false: too long even after truncation (or nothing left to train on)
  size_t exchanges_dropped = 0;  // > 0: truncated by keep-last-turns
  std::vector<tok::ChatMessage> messages;  // what was rendered
  tok::RenderedChat chat;
};

// Renders `messages` within `max_tokens` tokens. An exchange is a user message with the
// turns that follow it up to the next user message (turns before the first user message
// form one exchange too). keep-last-turns removes exchanges from the front, keeping a
// leading system message, while at least one assistant turn is left.
// Example: [sys, u1, a1, u2, a2] too long -> [sys, u2, a2] (exchanges_dropped = 1).
FitResult fit_conversation(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& messages,
                           size_t max_tokens, TruncatePolicy policy);

// Stable 64-bit hash (FNV-1a, the same on every platform) of the roles and contents of the
// user and assistant turns. The system prompt is left out, so a conversation lands in the
// same split whatever system prompt a task or --system gives it (no train/val leakage).
uint64_t conversation_hash(const std::vector<tok::ChatMessage>& messages);

// True when a conversation with this hash belongs to validation: the seeded hash, as a
// fraction of 2^64, falls below val_fraction.
bool is_validation_hash(uint64_t hash, uint64_t seed, double val_fraction);

}  // namespace chatforge::data
