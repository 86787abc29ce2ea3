// Implementation of chat_format.h.
#include "tokenizer/chat_format.h"

#include "core/error.h"

namespace chatforge::tok {

bool is_chat_role(const std::string& r) { return r == "system" || r == "user" || r == "assistant"; }

ChatFormat::ChatFormat(const Tokenizer& tokenizer) : tok_(tokenizer) {
  const auto s = tok_.special_token_id(kImStart), e = tok_.special_token_id(kImEnd);
  CF_CHECK(s.has_value() && e.has_value(),
           "the tokenizer has no chat tokens {} and {}; train it with --special-tokens '{}' '{}' (or add them with "
           "`chatforge tokenizer convert --special-tokens`)",
           kImStart, kImEnd, kImStart, kImEnd);
  im_start_ = *s;
  im_end_ = *e;
}

namespace {
void check_roles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    CF_CHECK(is_chat_role(messages[i].role), "message {}: unknown role '{}' (expected system, user or assistant)", i,
             messages[i].role);
    CF_CHECK(messages[i].role != "system" || i == 0, "message {}: a system message may only come first", i);
  }
}
}  // namespace

RenderedChat ChatFormat::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  check_roles(messages);
  RenderedChat out;
  auto put = [&](const std::vector<int32_t>& ids, uint8_t m, int32_t message = -1) {
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.mask.insert(out.mask.end(), ids.size(), m);
    out.message.insert(out.message.end(), ids.size(), message);
  };
  const std::vector<int32_t> newline = tok_.encode("\n");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& msg = messages[i];
    const uint8_t train = msg.role == "assistant" ? 1 : 0;
    put({im_start_}, 0);
    put(tok_.encode(msg.role + "\n"), 0);
    put(tok_.encode(msg.content), train, static_cast<int32_t>(i));
    put({im_end_}, train);  // the assistant learns to end its turn
    put(newline, 0);
  }
  if (add_generation_prompt) {
    put({im_start_}, 0);
    put(tok_.encode("assistant\n"), 0);
  }
  return out;
}

std::string ChatFormat::render_text(const std::vector<ChatMessage>& messages, bool add_generation_prompt) {
  check_roles(messages);
  std::string s;
  for (const auto& m : messages) s += std::string(kImStart) + m.role + "\n" + m.content + kImEnd + "\n";
  if (add_generation_prompt) s += std::string(kImStart) + "assistant\n";
  return s;
}

std::string ChatFormat::jinja_template() {
  return "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
         "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
         "{% endif %}";
}

}  // namespace chatforge::tok
