// The chat template: one ChatML-style format, rendered by exactly one function that
// returns the token ids and the SFT loss mask together, so training, generation and the
// exported Jinja template can never disagree.
//
//   <|im_start|>system\n{content}<|im_end|>\n        (optional)
//   <|im_start|>user\n{content}<|im_end|>\n
//   <|im_start|>assistant\n{content}<|im_end|>\n
//   ... more turns ...
//   <|im_start|>assistant\n                            (add_generation_prompt)
//
// Loss mask: 1 on every token of an assistant message's content and on its <|im_end|>
// (so the model learns to stop), 0 on everything else (role headers, system and user
// text, the newline after <|im_end|>). Content is encoded as plain text: a special-token
// spelling inside a message never becomes a control token.
#pragma once
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace chatforge::tok {

inline constexpr const char* kImStart = "<|im_start|>";
inline constexpr const char* kImEnd = "<|im_end|>";

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
};

struct RenderedChat {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // same length as ids
  // Per token: index of the message whose content it belongs to, -1 for template tokens
  // (<|im_start|>, role header, <|im_end|>, newline). Augmentation uses it to touch only
  // the content of chosen roles.
  std::vector<int32_t> message;
};

class ChatFormat {
 public:
  // Errors (naming the tokenizer) when <|im_start|> or <|im_end|> is not a special token;
  // add them with `chatforge tokenizer train --special-tokens '<|im_start|>' '<|im_end|>'`.
  explicit ChatFormat(const Tokenizer& tokenizer);

  // The one renderer. Roles must be system/user/assistant (errors name the message index);
  // a system message may only come first.
  RenderedChat render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = false) const;
  // The same conversation as text (what the Jinja template produces).
  static std::string render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt = false);
  // A Hugging Face chat_template (Jinja) that produces exactly render_text().
  static std::string jinja_template();

  int32_t im_start_id() const { return im_start_; }
  int32_t end_of_turn_id() const { return im_end_; }
  const Tokenizer& tokenizer() const { return tok_; }

 private:
  const Tokenizer& tok_;
  int32_t im_start_, im_end_;
};

// Validates a role name; returns false for anything but system/user/assistant.
bool is_chat_role(const std::string& role);

}  // namespace chatforge::tok
