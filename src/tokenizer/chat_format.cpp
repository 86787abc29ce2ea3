// Implementation of chat_format.h: ChatML rendered natively; a model's template (or the
// plain fallback) rendered by ChatTemplate and encoded range by range, so the loss mask
// and the per-token message index follow the assistant spans and located contents.
#include "tokenizer/chat_format.h"

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"

namespace chatforge::tok {

bool is_chat_role(const std::string& r) { return r == "system" || r == "user" || r == "assistant"; }

namespace {

using Json = nlohmann::ordered_json;

void check_roles(const std::vector<ChatMessage>& messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    CF_CHECK(is_chat_role(messages[i].role), "message {}: unknown role '{}' (expected system, user or assistant)", i,
             messages[i].role);
    CF_CHECK(messages[i].role != "system" || i == 0, "message {}: a system message may only come first", i);
  }
}

Json to_json(const std::vector<ChatMessage>& messages) {
  Json js = Json::array();
  for (const auto& m : messages) {
    js.push_back({{"role", m.role}, {"content", m.content}});
    if (m.reasoning_content) js.back()["reasoning_content"] = *m.reasoning_content;
  }
  return js;
}

constexpr const char* kPlainTemplate =
    "{% for message in messages %}{% if message['role'] == 'system' %}{{ message['content'] + '\\n\\n' }}"
    "{% elif message['role'] == 'user' %}{{ 'User: ' + message['content'] + '\\n' }}"
    "{% else %}{{ 'Assistant: ' + message['content'] + '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}";

// A byte range of the rendered text with how its tokens are marked.
struct Range {
  size_t begin, end;
  int32_t message;   // -1: template text
  uint8_t train;     // loss mask
  bool special;      // special-token spellings become control tokens
};

// Marks message i's content inside [from, limit) of `text` when it occurs there; returns
// where the search for the next message starts.
size_t mark_content(const std::string& text, const ChatMessage& m, int32_t i, size_t from, size_t limit, uint8_t train,
                    std::vector<Range>& out) {
  if (m.content.empty()) return from;
  const size_t pos = text.find(m.content, from);
  if (pos == std::string::npos || pos + m.content.size() > limit) return from;
  out.push_back({pos, pos + m.content.size(), i, train, m.role == "assistant"});
  return pos + m.content.size();
}

// The ranges of `text`, in order: each assistant span (trained; its content carries the
// message index), each other message's content where it is found (untrained, plain text).
std::vector<Range> chat_ranges(const std::string& text, const std::vector<ChatMessage>& messages,
                               const std::vector<AssistantSpan>& spans) {
  std::vector<Range> out;
  size_t cursor = 0, next = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto mi = static_cast<int32_t>(i);
    if (next < spans.size() && spans[next].message == i) {
      const AssistantSpan& s = spans[next++];
      if (s.begin < cursor) continue;
      std::vector<Range> inner;
      mark_content(text, messages[i], mi, s.begin, s.end, 1, inner);
      size_t at = s.begin;
      for (const Range& r : inner) {
        if (r.begin > at) out.push_back({at, r.begin, -1, 1, true});
        out.push_back(r);
        at = r.end;
      }
      if (s.end > at) out.push_back({at, s.end, -1, 1, true});
      cursor = s.end;
      continue;
    }
    const size_t limit = next < spans.size() ? spans[next].begin : text.size();
    cursor = mark_content(text, messages[i], mi, cursor, limit, 0, out);
  }
  return out;
}

}  // namespace

ChatFormat::ChatFormat(const Tokenizer& tokenizer) : tok_(&tokenizer), source_(jinja_template()) {
  const auto s = tok_->special_token_id(kImStart), e = tok_->special_token_id(kImEnd);
  CF_CHECK(s.has_value() && e.has_value(),
           "the tokenizer has no chat tokens {} and {}; train it with --special-tokens '{}' '{}' (or add them with "
           "`chatforge tokenizer convert --special-tokens`)",
           kImStart, kImEnd, kImStart, kImEnd);
  im_start_ = *s;
  im_end_ = *e;
  stop_ids_ = {im_end_, im_start_};
}

ChatFormat::ChatFormat(const Tokenizer& tokenizer, ChatTemplate tmpl, std::string source)
    : tok_(&tokenizer), kind_(Kind::kModelTemplate), source_(std::move(source)) {
  if (!tmpl.end_of_turn().empty())
    if (auto id = tok_->special_token_id(tmpl.end_of_turn())) stop_ids_.push_back(*id);
  tmpl_ = std::make_shared<const ChatTemplate>(std::move(tmpl));
}

ChatFormat ChatFormat::plain(const Tokenizer& tokenizer) {
  ChatTemplate t(kPlainTemplate, "", "", "the plain chat template");
  t.set_end_of_turn("");
  ChatFormat f(tokenizer, std::move(t), kPlainTemplate);
  f.kind_ = Kind::kPlain;
  f.stop_strings_ = {"\nUser:"};
  return f;
}

RenderedChat ChatFormat::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  check_roles(messages);
  return kind_ == Kind::kChatML ? render_chatml(messages, add_generation_prompt)
                                : render_template(messages, add_generation_prompt);
}

RenderedChat ChatFormat::render_chatml(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  RenderedChat out;
  auto put = [&](const std::vector<int32_t>& ids, uint8_t m, int32_t message = -1) {
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.mask.insert(out.mask.end(), ids.size(), m);
    out.message.insert(out.message.end(), ids.size(), message);
  };
  const std::vector<int32_t> newline = tok_->encode("\n");
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& msg = messages[i];
    const uint8_t train = msg.role == "assistant" ? 1 : 0;
    put({im_start_}, 0);
    put(tok_->encode(msg.role + "\n"), 0);
    put(tok_->encode(msg.content), train, static_cast<int32_t>(i));
    put({im_end_}, train);  // the assistant learns to end its turn
    put(newline, 0);
  }
  if (add_generation_prompt) {
    put({im_start_}, 0);
    put(tok_->encode("assistant\n"), 0);
  }
  return out;
}

RenderedChat ChatFormat::render_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  const Json js = to_json(messages);
  std::string text;
  std::vector<AssistantSpan> spans;
  if (add_generation_prompt) {
    text = tmpl_->render(js, true);
  } else {
    SpannedChat sc = tmpl_->assistant_spans(js);
    text = std::move(sc.text);
    spans = std::move(sc.spans);
  }
  RenderedChat out;
  auto put = [&](size_t begin, size_t end, uint8_t train, int32_t message, bool special) {
    if (end <= begin) return;
    const std::vector<int32_t> ids = tok_->encode(std::string_view(text).substr(begin, end - begin), special);
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.mask.insert(out.mask.end(), ids.size(), train);
    out.message.insert(out.message.end(), ids.size(), message);
  };
  size_t at = 0;
  for (const Range& r : chat_ranges(text, messages, spans)) {
    put(at, r.begin, 0, -1, true);
    put(r.begin, r.end, r.train, r.message, r.special);
    at = r.end;
  }
  put(at, text.size(), 0, -1, true);
  return out;
}

std::string ChatFormat::text(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  if (kind_ == Kind::kChatML) return render_text(messages, add_generation_prompt);
  check_roles(messages);
  return tmpl_->render(to_json(messages), add_generation_prompt);
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

namespace {

// The string that ends an assistant turn in `source`: the first known end-of-turn token the
// template writes and the tokenizer has, else the template's eos_token.
std::string end_of_turn_of(const std::string& source, const Tokenizer& t, const std::string& eos) {
  for (const char* s : {"<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|end_of_turn|>"})
    if (source.find(s) != std::string::npos && t.special_token_id(s)) return s;
  return eos;
}

}  // namespace

std::unique_ptr<ChatFormat> load_chat_format(const Tokenizer& tokenizer, const std::vector<std::string>& places) {
  for (const std::string& place : places) {
    const std::string path = is_directory(place) ? place + "/tokenizer_config.json" : place;
    if (place.empty() || !file_exists(path)) continue;
    const Json config = parse_ordered_json(read_file(path), path);
    CF_CHECK(config.is_object(), "{}: expected a JSON object", path);
    auto it = config.find("chat_template");
    if (it == config.end() || it->is_null()) continue;
    if (it->is_string() && it->get<std::string>() == ChatFormat::jinja_template())
      return std::make_unique<ChatFormat>(tokenizer);
    ChatTemplate tmpl = ChatTemplate::from_tokenizer_config(config, path);
    const std::string source = ChatTemplate::source_in_tokenizer_config(config, path);
    tmpl.set_end_of_turn(end_of_turn_of(source, tokenizer, tmpl.eos_token()));
    auto f = std::make_unique<ChatFormat>(tokenizer, std::move(tmpl), source);
    f->origin_ = path;
    return f;
  }
  if (tokenizer.special_token_id(kImStart) && tokenizer.special_token_id(kImEnd))
    return std::make_unique<ChatFormat>(tokenizer);
  return nullptr;
}

}  // namespace chatforge::tok
