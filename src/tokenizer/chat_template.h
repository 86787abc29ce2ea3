// A model's own chat template (the Jinja `chat_template` of its tokenizer_config.json),
// rendered exactly as Hugging Face transformers' apply_chat_template(tokenize=False)
// renders it: the template sees `messages`, `add_generation_prompt`, `bos_token`,
// `eos_token`, `tools` and `documents` (None unless given) and any extra variables
// (enable_thinking, tools, ...). Messages are passed as they are (content may be a string
// or null; extra fields such as tool_calls or reasoning_content reach the template).
//
// assistant_spans() finds, for the assistant-only loss mask, the bytes of the rendered
// conversation each assistant message generated. It needs no markers in the template: for
// assistant message i it renders messages[0..i) with the generation prompt (P) and
// messages[0..i] without (T); T must start with P, and T's remainder, cut after the last
// end-of-turn string (eos_token unless set), is what the model writes (G). In the whole
// conversation's rendering, turns are counted by the end-of-turn string: message i's
// region runs from the end of the turn before it (as many end-of-turn strings as P has)
// to the end of its own; the span is the longest tail of G that region ends with, after
// the role header the region shares with P's generation prompt. So a template that
// renders earlier turns differently once later ones follow (Qwen3 drops the <think> part
// of turns before the last user message, and adds an empty one to the generation prompt
// with enable_thinking=false) still gets the text the conversation shows for that turn.
// Without an end-of-turn string in G, the rendering must continue P with (a tail of) G.
// A template for which this fails is an error naming the message, never a wrong mask.
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/jinja.h"

namespace chatforge::tok {

struct AssistantSpan {
  size_t message;  // index into messages
  size_t begin;    // byte offsets into SpannedChat::text: [begin, end)
  size_t end;
};

struct SpannedChat {
  std::string text;  // render(messages, add_generation_prompt=false)
  std::vector<AssistantSpan> spans;  // one per assistant message, in order
};

class ChatTemplate {
 public:
  using Json = nlohmann::ordered_json;

  // bos_token / eos_token: the spellings the template sees; an empty one is left
  // undefined, as transformers leaves a token the tokenizer does not have. `name` starts
  // every error message.
  ChatTemplate(std::string_view source, std::string bos_token, std::string eos_token,
               std::string name = "chat_template");

  // From a tokenizer_config.json's contents: chat_template (a string, or a list of
  // {name, template} of which "default" is used), bos_token and eos_token (strings or
  // {"content": ...} objects). `where` names the file in errors.
  static ChatTemplate from_tokenizer_config(const Json& config, const std::string& where);
  // The template source from_tokenizer_config uses (the string, or the list's "default").
  static std::string source_in_tokenizer_config(const Json& config, const std::string& where);

  // messages: a JSON array. extra: an object whose keys become template variables too.
  std::string render(const Json& messages, bool add_generation_prompt, const Json& extra = Json::object()) const;

  SpannedChat assistant_spans(const Json& messages, const Json& extra = Json::object()) const;

  // What strftime_now() formats (tests pin a date); unset = the local time.
  void set_now(std::optional<std::tm> now) { options_.now = now; }
  // Bounds on one rendering's work and size (jinja/eval.h; the defaults suit real templates).
  void set_limits(const jinja::RenderLimits& limits) { options_.limits = limits; }
  // The string that ends an assistant turn for assistant_spans (default: eos_token; Llama 3
  // chat models end turns with "<|eot_id|>"). Empty: keep everything up to T's end.
  void set_end_of_turn(std::string s) { end_of_turn_ = std::move(s); }
  const std::string& end_of_turn() const { return end_of_turn_; }
  const std::string& bos_token() const { return bos_; }
  const std::string& eos_token() const { return eos_; }

 private:
  jinja::Template tmpl_;
  std::string bos_, eos_, end_of_turn_;
  jinja::RenderOptions options_;

  std::string render_prefix(const Json& messages, size_t count, bool add_generation_prompt, const Json& extra) const;
  AssistantSpan find_span(const Json& messages, size_t i, const std::string& text, const Json& extra) const;
  AssistantSpan locate_by_turns(size_t i, const std::string& p, const std::string& g, const std::string& text) const;
};

}  // namespace chatforge::tok
