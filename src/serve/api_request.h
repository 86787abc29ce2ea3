// Parsing and validation of OpenAI-style request bodies (chat completions, completions,
// feedback). Every problem becomes an ApiError: an HTTP 4xx status plus the OpenAI error
// object {"error": {"message", "type", "param", "code"}} naming the offending field.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "infer/sampler.h"
#include "tokenizer/chat_format.h"

namespace chatforge::serve {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = "", std::string code = "",
           std::string type = "invalid_request_error")
      : std::runtime_error(message), status(status), param(std::move(param)), code(std::move(code)),
        type(std::move(type)) {}
  int status;
  std::string param, code, type;
  nlohmann::json body() const;
};

struct ModelInfo {
  std::string id;  // the base model's id
  const tok::Tokenizer* tokenizer = nullptr;
  const tok::ChatFormat* format = nullptr;  // renders chat requests (the model's template, ChatML or plain)
  int context = 0;
  int vocab_size = 0;
  // Chat requests without a system message get this one first (empty: none).
  std::string default_system;
  // Chat requests whose conversation does not fit (prompt + room for the answer):
  // kTruncateOldest leaves out the oldest whole turns (context_fit.h), kError answers 400.
  // Completions requests always answer 400.
  infer::ContextPolicy context_policy = infer::ContextPolicy::kTruncateOldest;
  std::vector<std::string> adapters;  // ids of the LoRA adapters over the base (index = the adapter's)
  // Split chat answers into reasoning_content and content (--reasoning-format auto on a
  // model whose tokenizer or template has <think>/</think>; tok/reasoning.h).
  bool reasoning = false;
};

struct CompletionRequest {
  bool chat = false;
  std::string model;              // the id the request named (the base's or an adapter's)
  int adapter = -1;               // that adapter's index; -1: the base
  nlohmann::json messages;        // chat: the validated messages (role, content strings), all of them
  std::string system_prompt;      // chat: the system prompt the prompt was rendered with: the request's
                                  // leading system message, else ModelInfo::default_system ("" none)
  int truncated_messages = 0;     // chat: messages left out of the prompt to fit the context
  std::vector<int32_t> prompt;    // token ids
  infer::SamplingParams sampling;
  int max_tokens = 0;             // resolved: >= 1, prompt + max_tokens <= context
                                  // (absent: min(512, room); with truncate-oldest the room is
                                  // at least min(512, context/4) when dropping turns gets it)
  int n = 1;
  bool stream = false, include_usage = false;
  bool logprobs = false;          // report per-token logprobs
  int top_logprobs = 0;
  std::vector<std::string> stop;
  std::string conversation_id;    // extension: record the answer in the feedback store
  nlohmann::json sampling_json;   // what to store with the answer
  // chat with a reasoning model (ModelInfo::reasoning): the answer's <think> block goes to
  // reasoning_content; reasoning_opened: the prompt ends inside one (generation starts there)
  bool reasoning = false, reasoning_opened = false;
};

// Throws ApiError. chat selects /v1/chat/completions vs /v1/completions.
CompletionRequest parse_completion_request(const std::string& body, bool chat, const ModelInfo& model);

// POST /v1/feedback. "kind" picks what the body says about answers (recorded ones, by the
// message_id a chat completion returned); absent means "rating", so older clients work:
//   rating: {message_id, rating: -1|0|1, comment?}        thumbs up/down (0 clears)
//   pair:   {chosen_id, rejected_id, comment?}            two answers to the same prompt, one picked
//   edit:   {message_id, content, comment?}               the answer corrected by the user
// A field of another kind, or any unknown field, is a 400 naming it (catches typos such as
// "chosen" for "chosen_id").
enum class FeedbackKind { kRating, kPair, kEdit };
struct FeedbackRequest {
  FeedbackKind kind = FeedbackKind::kRating;
  int64_t message_id = 0;                  // rating, edit
  int rating = 0;                          // rating: -1, 0 (cleared) or +1
  int64_t chosen_id = 0, rejected_id = 0;  // pair
  std::string content;                     // edit: the corrected answer (non-empty)
  std::string comment;
};
const char* feedback_kind_name(FeedbackKind k);
inline constexpr size_t kMaxFeedbackComment = 10000;
inline constexpr size_t kMaxEditedAnswer = 100000;
FeedbackRequest parse_feedback_request(const std::string& body);

// The default number of new tokens when max_tokens is absent.
inline constexpr int kDefaultMaxTokens = 512;
inline constexpr int kMaxChoices = 8;

}  // namespace chatforge::serve
