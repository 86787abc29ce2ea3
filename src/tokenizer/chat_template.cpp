// ChatTemplate (chat_template.h): the context transformers builds for a chat template,
// and the assistant spans derived from renderings of conversation prefixes.
#include "tokenizer/chat_template.h"

#include <fmt/format.h>

namespace chatforge::tok {
namespace {

using Json = nlohmann::ordered_json;

// A special token in tokenizer_config.json: "<s>", {"content": "<s>", ...} or null.
std::string token_spelling(const Json& config, const char* key, const std::string& where) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
  fail("{}: {} must be a string or an object with a \"content\" string", where, key);
}

}  // namespace

std::string ChatTemplate::source_in_tokenizer_config(const Json& config, const std::string& where) {
  auto it = config.find("chat_template");
  CF_CHECK(it != config.end() && !it->is_null(), "{}: no chat_template", where);
  if (it->is_string()) return it->get<std::string>();
  CF_CHECK(it->is_array(), "{}: chat_template must be a string or a list of {{name, template}} objects", where);
  std::string names;
  for (const Json& t : *it) {
    CF_CHECK(t.is_object() && t.value("name", Json()).is_string() && t.value("template", Json()).is_string(),
             "{}: each chat_template entry must be an object with \"name\" and \"template\" strings", where);
    if (t["name"] == "default") return t["template"].get<std::string>();
    names += (names.empty() ? "" : ", ") + t["name"].get<std::string>();
  }
  fail("{}: chat_template has no template named \"default\" (it has: {})", where, names);
}

ChatTemplate::ChatTemplate(std::string_view source, std::string bos_token, std::string eos_token, std::string name)
    : tmpl_(source, std::move(name)), bos_(std::move(bos_token)), eos_(std::move(eos_token)), end_of_turn_(eos_) {}

ChatTemplate ChatTemplate::from_tokenizer_config(const Json& config, const std::string& where) {
  CF_CHECK(config.is_object(), "{}: expected a JSON object", where);
  return ChatTemplate(source_in_tokenizer_config(config, where), token_spelling(config, "bos_token", where),
                      token_spelling(config, "eos_token", where), where + ": chat_template");
}

std::string ChatTemplate::render_prefix(const Json& messages, size_t count, bool add_generation_prompt,
                                        const Json& extra) const {
  CF_CHECK(messages.is_array(), "{}: messages must be a JSON array, not {}", tmpl_.name(), messages.type_name());
  CF_CHECK(extra.is_object(), "{}: extra template variables must be a JSON object, not {}", tmpl_.name(),
           extra.type_name());
  Json ctx = Json::object();
  Json& msgs = ctx["messages"] = Json::array();
  for (size_t k = 0; k < count && k < messages.size(); ++k) msgs.push_back(messages[k]);
  // transformers passes tools and documents explicitly (None when not given) and the
  // tokenizer's special tokens that are set.
  ctx["tools"] = nullptr;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = add_generation_prompt;
  if (!bos_.empty()) ctx["bos_token"] = bos_;
  if (!eos_.empty()) ctx["eos_token"] = eos_;
  for (auto it = extra.begin(); it != extra.end(); ++it) ctx[it.key()] = *it;
  return tmpl_.render(std::move(ctx), options_);
}

std::string ChatTemplate::render(const Json& messages, bool add_generation_prompt, const Json& extra) const {
  return render_prefix(messages, messages.is_array() ? messages.size() : 0, add_generation_prompt, extra);
}

namespace {

// Byte offset just after the n-th occurrence of `needle` in `hay` (0 for n == 0), or npos.
size_t after_nth(const std::string& hay, const std::string& needle, size_t n) {
  size_t pos = 0;
  for (size_t k = 0; k < n; ++k) {
    const size_t hit = hay.find(needle, pos);
    if (hit == std::string::npos) return std::string::npos;
    pos = hit + needle.size();
  }
  return pos;
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++n;
  return n;
}

size_t common_prefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

size_t common_suffix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[a.size() - 1 - n] == b[b.size() - 1 - n]) ++n;
  return n;
}

}  // namespace

// Where the generated text g of assistant message i (after prompt p) lies in the whole
// rendering `text`, when g ends with the end-of-turn string: turns are counted by that
// string, so the turn's region in `text` runs from the end of the turn before it to the
// end of its own; it ends with g, or with a tail of g after the role header (what the
// region shares with p's generation prompt).
AssistantSpan ChatTemplate::locate_by_turns(size_t i, const std::string& p, const std::string& g,
                                            const std::string& text) const {
  const size_t before = count_of(p, end_of_turn_);
  const size_t region = after_nth(text, end_of_turn_, before);
  const size_t end = after_nth(text, end_of_turn_, before + count_of(g, end_of_turn_));
  CF_CHECK(region != std::string::npos && end != std::string::npos,
           "{}: assistant message {}: the whole conversation's rendering has fewer turns ending in {} than the "
           "messages up to it",
           tmpl_.name(), i, end_of_turn_);
  const size_t last_eot = p.rfind(end_of_turn_);
  const std::string_view prompt = std::string_view(p).substr(last_eot == std::string::npos ? 0 : last_eot + end_of_turn_.size());
  const std::string_view turn = std::string_view(text).substr(region, end - region);
  // All of g when the region ends with it; otherwise (a turn shown shorter) its tail, but
  // not into the role header ("<|im_start|>assistant\n" ends with the "\n" that g's
  // "</think>\n\n" ends with too).
  size_t len = common_suffix(turn, g);
  if (len < g.size()) len = std::min(len, turn.size() - common_prefix(turn, prompt));
  CF_CHECK(len > 0, "{}: assistant message {}: its text is not in the whole conversation's rendering", tmpl_.name(), i);
  return {i, end - len, end};
}

AssistantSpan ChatTemplate::find_span(const Json& messages, size_t i, const std::string& text, const Json& extra) const {
  const std::string p = render_prefix(messages, i, true, extra);
  const std::string t = render_prefix(messages, i + 1, false, extra);
  CF_CHECK(t.compare(0, p.size(), p) == 0,
           "{}: assistant message {}: rendering the messages before it with add_generation_prompt does not give a "
           "prefix of rendering them with it, so its span cannot be found",
           tmpl_.name(), i);
  std::string g = t.substr(p.size());
  const size_t eot = end_of_turn_.empty() ? std::string::npos : g.rfind(end_of_turn_);
  if (eot != std::string::npos) {
    g.resize(eot + end_of_turn_.size());
    return locate_by_turns(i, p, g, text);
  }
  // No end-of-turn string: the rendering must continue p with g, or with a tail of it.
  CF_CHECK(text.compare(0, p.size(), p) == 0,
           "{}: assistant message {}: the whole conversation's rendering does not start with the rendering of the "
           "messages before it (with add_generation_prompt)",
           tmpl_.name(), i);
  size_t len = std::min(g.size(), text.size() - p.size());
  while (len > 0 && text.compare(p.size(), len, g, g.size() - len, len) != 0) --len;
  CF_CHECK(len > 0,
           "{}: assistant message {}: its text is not where the whole conversation's rendering puts it (if the "
           "template appends text after each turn, set the end-of-turn string, e.g. <|eot_id|> for Llama 3)",
           tmpl_.name(), i);
  return {i, p.size(), p.size() + len};
}

SpannedChat ChatTemplate::assistant_spans(const Json& messages, const Json& extra) const {
  SpannedChat out;
  out.text = render(messages, false, extra);
  for (size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    CF_CHECK(m.is_object() && m.contains("role") && m["role"].is_string(),
             "{}: message {} must be an object with a \"role\" string", tmpl_.name(), i);
    if (m["role"] != "assistant") continue;
    AssistantSpan s = find_span(messages, i, out.text, extra);
    CF_CHECK(out.spans.empty() || s.begin >= out.spans.back().end,
             "{}: assistant message {} starts before the previous assistant message ends", tmpl_.name(), i);
    out.spans.push_back(s);
  }
  return out;
}

}  // namespace chatforge::tok
