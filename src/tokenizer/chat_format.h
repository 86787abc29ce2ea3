// The chat format: how a conversation becomes token ids, with the SFT loss mask, by exactly
// one function (render) that training, generation, serving and the exported template share.
// Three kinds:
//
// ChatML (ours; the default for models chatforge trains), rendered natively:
//   <|im_start|>system\n{content}<|im_end|>\n        (optional)
//   <|im_start|>user\n{content}<|im_end|>\n
//   <|im_start|>assistant\n{content}<|im_end|>\n
//   ... more turns ...
//   <|im_start|>assistant\n                            (add_generation_prompt)
//   Loss mask: 1 on an assistant message's content and its <|im_end|> (so the model learns
//   to stop), 0 elsewhere. Content is plain text: a special-token spelling inside a
//   message never becomes a control token.
//
// A model's own template (the Jinja chat_template of its tokenizer_config.json), rendered
// as transformers' apply_chat_template does (ChatTemplate). The loss mask is 1 on the text
// each assistant message generated (ChatTemplate::assistant_spans: its content, what the
// template adds around it inside the turn, and the end-of-turn token), 0 elsewhere. The
// text is encoded with special tokens recognised, as transformers tokenises a rendered
// chat, except inside system and user content, which stays plain text (no injected
// control tokens from users).
//
// Plain (a base model without chat tokens or a template; serve's fallback, as llama-server
// has one): "{system}\n\nUser: {content}\nAssistant: {content}\n...", generation prompt
// "Assistant:", stopped by the stop string "\nUser:".
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::tok {

inline constexpr const char* kImStart = "<|im_start|>";
inline constexpr const char* kImEnd = "<|im_end|>";

struct ChatMessage {
  ChatMessage() = default;
  ChatMessage(std::string r, std::string c, std::optional<std::string> reasoning = std::nullopt)
      : role(std::move(r)), content(std::move(c)), reasoning_content(std::move(reasoning)) {}
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
  // An assistant turn's reasoning (the `<think>` block, reasoning.h), when a client sent it
  // back. A model's template gets it as the message field `reasoning_content`, as
  // transformers passes message fields (Qwen3's renders it for turns after the last user
  // message and drops it before); ChatML and the plain template ignore it.
  std::optional<std::string> reasoning_content;
};

struct RenderedChat {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // same length as ids
  // Per token: index of the message whose content it belongs to, -1 for template tokens
  // (role headers, turn markers). Augmentation uses it to touch only the content of
  // chosen roles.
  std::vector<int32_t> message;
};

class ChatFormat {
 public:
  enum class Kind { kChatML, kModelTemplate, kPlain };

  // ChatML. Errors (naming the tokenizer) when <|im_start|> or <|im_end|> is not a special
  // token; add them with `chatforge tokenizer train --special-tokens '<|im_start|>' '<|im_end|>'`.
  explicit ChatFormat(const Tokenizer& tokenizer);
  // A model's template. Its end-of-turn string (set on `tmpl`) is a stop id when it is one
  // token of `tokenizer`.
  ChatFormat(const Tokenizer& tokenizer, ChatTemplate tmpl, std::string source);
  // The plain-text fallback for base models.
  static ChatFormat plain(const Tokenizer& tokenizer);

  // The one renderer. Roles must be system/user/assistant (errors name the message index);
  // a system message may only come first.
  RenderedChat render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = false) const;
  // The same conversation as text (what the template produces).
  std::string text(const std::vector<ChatMessage>& messages, bool add_generation_prompt = false) const;
  // The Jinja source of this format (exported as tokenizer_config.json's chat_template).
  const std::string& template_source() const { return source_; }
  // ids that end an assistant turn (ChatML: <|im_end|>, and <|im_start|> since a model
  // opening a new turn is done too); strings that do (plain: "\nUser:").
  const std::vector<int32_t>& stop_ids() const { return stop_ids_; }
  const std::vector<std::string>& stop_strings() const { return stop_strings_; }
  Kind kind() const { return kind_; }
  // The tokenizer_config.json a model's template came from (load_chat_format); else "".
  const std::string& origin() const { return origin_; }
  // ChatML's <|im_start|>; -1 for the other kinds.
  int32_t im_start_id() const { return im_start_; }
  // The token that ends an assistant turn (ChatML's <|im_end|>), -1 when it is no one token.
  int32_t end_of_turn_id() const { return stop_ids_.empty() ? -1 : stop_ids_.front(); }
  const Tokenizer& tokenizer() const { return *tok_; }

  // ChatML as text, and the Jinja template that produces exactly that text.
  static std::string render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt = false);
  static std::string jinja_template();

 private:
  friend std::unique_ptr<ChatFormat> load_chat_format(const Tokenizer&, const std::vector<std::string>&);
  const Tokenizer* tok_;
  Kind kind_ = Kind::kChatML;
  std::string source_, origin_;
  std::shared_ptr<const ChatTemplate> tmpl_;  // kModelTemplate and kPlain
  std::vector<int32_t> stop_ids_;
  std::vector<std::string> stop_strings_;
  int32_t im_start_ = -1, im_end_ = -1;

  RenderedChat render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
  RenderedChat render_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;
};

// The chat format for a tokenizer read from a folder: the chat_template of the folder's
// tokenizer_config.json when it has one (ChatML natively when it is chatforge's own), else
// ChatML when the tokenizer has <|im_start|> and <|im_end|>, else null (no chat format:
// the caller errors, or serves with ChatFormat::plain and a warning). `places` are
// searched in order: a folder with a tokenizer_config.json, or such a file itself; a
// malformed file or template is an error naming it.
std::unique_ptr<ChatFormat> load_chat_format(const Tokenizer& tokenizer, const std::vector<std::string>& places);

// Validates a role name; returns false for anything but system/user/assistant.
bool is_chat_role(const std::string& role);

}  // namespace chatforge::tok
