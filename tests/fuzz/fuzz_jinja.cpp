// Fuzz target: chat templates (the Jinja lexer, parser and evaluator behind ChatTemplate)
// on any template source, rendered over a conversation, and assistant_spans over it.
// Input: one byte of options (bit 0: add_generation_prompt; bit 1: also assistant_spans;
// bits 2-3: which built-in conversation), then the template source, then optionally a NUL
// and a JSON array of messages that replaces the built-in conversation. Checks: the same
// conversation renders the same text twice; spans lie inside the text, in order.
#include "core/json_util.h"
#include "fuzz_util.h"
#include "tokenizer/chat_template.h"

namespace {

using Json = nlohmann::ordered_json;

Json builtin_conversation(unsigned which) {
  static const char* const kConvs[] = {
      R"([{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}])",
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "你好 {{ x }}"},
          {"role": "assistant", "content": "<think>\nr\n</think>\n\nok"}, {"role": "user", "content": ""}])",
      R"([{"role": "user", "content": "weather?"}, {"role": "assistant", "content": null,
           "tool_calls": [{"name": "get", "arguments": {"city": "Oslo"}}]}, {"role": "tool", "content": "sunny"}])",
      R"([])",
  };
  return Json::parse(kConvs[which % 4]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 16);
  const auto parts = fuzz::split_parts(in, 2);
  Json messages = builtin_conversation(choice >> 2);
  if (parts.size() == 2) {
    try {
      Json m = parse_ordered_json(parts[1], "messages");
      if (m.is_array()) messages = std::move(m);
    } catch (const Error&) {
    }
  }
  fuzz::expect_clean([&] {
    tok::ChatTemplate t(parts[0], "<s>", "</s>");
    std::tm now{};
    now.tm_year = 124;
    now.tm_mday = 1;
    t.set_now(now);
    tok::jinja::RenderLimits limits;
    limits.max_steps = 200000;
    limits.max_output = 1 << 20;
    t.set_limits(limits);
    const bool gen = (choice & 1) != 0;
    if (t.render(messages, gen) != t.render(messages, gen)) fuzz::finding("one conversation rendered two ways");
    if ((choice & 2) == 0) return;
    const tok::SpannedChat s = t.assistant_spans(messages);
    size_t prev = 0;
    for (const auto& sp : s.spans) {
      if (sp.begin < prev || sp.end < sp.begin || sp.end > s.text.size()) fuzz::finding("an assistant span out of place");
      prev = sp.end;
    }
  });
  return 0;
}
