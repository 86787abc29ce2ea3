// Reasoning ("thinking") blocks: models such as Qwen3, QwQ and the DeepSeek-R1 distills write
// `<think>...</think>` before their answer. detect_reasoning() says whether a chat format
// uses such tags; ReasoningSplitter separates generated text into the reasoning (between the
// tags) and the answer (the rest, whitespace after `</think>` trimmed), whole or piece by
// piece as it streams, never emitting the tags, with a tag split across pieces handled.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::tok {

inline constexpr std::string_view kThinkOpen = "<think>";
inline constexpr std::string_view kThinkClose = "</think>";

// True when the tokenizer has <think> and </think> as special/added tokens, or the chat
// template's source writes both (Qwen3, QwQ, DeepSeek-R1 distills).
bool detect_reasoning(const Tokenizer& tokenizer, const std::string& template_source);

// True when a rendered prompt ends inside an open block (the template opened `<think>` in
// the generation prompt, as DeepSeek-R1's and QwQ's do): generation starts as reasoning.
// Only the prompt's end counts: "...<|im_start|>assistant\n<think>\n" -> true,
// "...<think>\n\n</think>\n\n" (Qwen3 with enable_thinking=false) -> false.
bool prompt_opens_reasoning(std::string_view prompt_text);

struct ReasoningText {
  std::string reasoning;  // inside the block, surrounding whitespace trimmed
  std::string content;    // the answer
  bool operator==(const ReasoningText&) const = default;
};

// Splits text as it streams. A block counts only at the start of the generation (leading
// whitespace ignored), or from the first byte when `starts_inside` (the prompt opened it).
// Text without a block is content, verbatim. An unclosed block is all reasoning.
//   push("<thi") -> {} ; push("nk>\nhmm</th") -> {"hmm", ""} ; push("ink>\n\nOK") -> {"", "OK"}
class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_inside = false);
  ReasoningText push(std::string_view piece);  // what can be shown now
  ReasoningText finish();                      // the rest, at the end of generation
  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kStart, kReasoning, kAfterClose, kContent };
  State state_;
  std::string pending_;         // held back: a possible tag prefix or whitespace
  bool reasoning_started_ = false;  // a non-space reasoning byte was emitted
  void step(ReasoningText& out, bool final);
};

// The whole text at once (same result as pushing it in any pieces, then finish()).
ReasoningText split_reasoning(std::string_view text, bool starts_inside = false);

}  // namespace chatforge::tok
