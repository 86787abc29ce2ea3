// Implementation of reasoning.h. The splitter holds back only what could still change its
// meaning: a tail that may be the start of a tag, and whitespace that may turn out to be
// the trimmed edge of the block; everything else is emitted at once.
#include "tokenizer/reasoning.h"

#include <algorithm>

namespace chatforge::tok {
namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

// The length of the longest tail of s that is a proper prefix of tag ("ab</th" -> 4).
size_t partial_tag_tail(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

std::string_view rtrim(std::string_view s) {
  while (!s.empty() && is_ascii_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool detect_reasoning(const Tokenizer& tokenizer, const std::string& template_source) {
  if (tokenizer.special_token_id(kThinkOpen) && tokenizer.special_token_id(kThinkClose)) return true;
  return template_source.find(kThinkOpen) != std::string::npos &&
         template_source.find(kThinkClose) != std::string::npos;
}

bool prompt_opens_reasoning(std::string_view prompt_text) {
  const std::string_view s = rtrim(prompt_text);
  return s.size() >= kThinkOpen.size() && s.substr(s.size() - kThinkOpen.size()) == kThinkOpen;
}

ReasoningSplitter::ReasoningSplitter(bool starts_inside)
    : state_(starts_inside ? State::kReasoning : State::kStart) {}

ReasoningText ReasoningSplitter::push(std::string_view piece) {
  pending_.append(piece);
  ReasoningText out;
  step(out, false);
  return out;
}

ReasoningText ReasoningSplitter::finish() {
  ReasoningText out;
  step(out, true);
  return out;
}

void ReasoningSplitter::step(ReasoningText& out, bool final) {
  for (;;) {
    switch (state_) {
      case State::kStart: {
        // "  <think>" opens a block; "  <thi" may still; anything else is the answer
        const size_t first = pending_.find_first_not_of(" \n\t\r");
        const std::string_view rest = first == std::string::npos ? std::string_view() : std::string_view(pending_).substr(first);
        if (rest.size() >= kThinkOpen.size() && rest.substr(0, kThinkOpen.size()) == kThinkOpen) {
          pending_.erase(0, first + kThinkOpen.size());
          state_ = State::kReasoning;
          continue;
        }
        if (!final && kThinkOpen.substr(0, rest.size()) == rest) return;  // undecided
        state_ = State::kContent;
        continue;
      }
      case State::kReasoning: {
        if (!reasoning_started_) {  // the block's leading whitespace is trimmed
          const size_t first = pending_.find_first_not_of(" \n\t\r");
          pending_.erase(0, first == std::string::npos ? pending_.size() : first);
          if (pending_.empty()) return;
        }
        const size_t close = pending_.find(kThinkClose);
        if (close != std::string::npos) {
          const std::string_view inside = rtrim(std::string_view(pending_).substr(0, close));
          out.reasoning.append(inside);
          if (!inside.empty()) reasoning_started_ = true;
          pending_.erase(0, close + kThinkClose.size());
          state_ = State::kAfterClose;
          continue;
        }
        // emit all but a possible tag start and the trailing whitespace before it
        const size_t keep = final ? 0 : partial_tag_tail(pending_, kThinkClose);
        std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - keep);
        const std::string_view shown = rtrim(ready);
        if (final) {
          out.reasoning.append(shown);
          pending_.clear();
          return;
        }
        out.reasoning.append(shown);
        if (!shown.empty()) reasoning_started_ = true;
        pending_.erase(0, shown.size());
        return;
      }
      case State::kAfterClose: {  // whitespace between the block and the answer is trimmed
        const size_t first = pending_.find_first_not_of(" \n\t\r");
        if (first == std::string::npos) {
          pending_.clear();
          return;
        }
        pending_.erase(0, first);
        state_ = State::kContent;
        continue;
      }
      case State::kContent:
        out.content += pending_;
        pending_.clear();
        return;
    }
  }
}

ReasoningText split_reasoning(std::string_view text, bool starts_inside) {
  ReasoningSplitter s(starts_inside);
  ReasoningText a = s.push(text), b = s.finish();
  a.reasoning += b.reasoning;
  a.content += b.content;
  return a;
}

}  // namespace chatforge::tok
