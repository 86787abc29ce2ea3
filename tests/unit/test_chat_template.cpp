// ChatTemplate (src/tokenizer/chat_template.h): chatforge's exported ChatML template
// renders exactly what ChatFormat::render_text produces; the context matches what
// transformers passes (bos/eos tokens, tools and documents None, extra variables);
// tokenizer_config.json forms (string or named list, token objects) and their errors; and
// assistant_spans on templates written here in the styles of the real ones (ChatML, a
// trailer after every turn as Llama 3 has, earlier turns shortened as Qwen3 does) plus
// the templates it must refuse. The real Qwen3 and Llama 3 templates are in
// tests/interop/test_jinja_templates.cpp.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/chat_template.h"
#include "test_util.h"

namespace {

using chatforge::testing::error_of;

using chatforge::Error;
using chatforge::tok::AssistantSpan;
using chatforge::tok::ChatFormat;
using chatforge::tok::ChatMessage;
using chatforge::tok::ChatTemplate;
using chatforge::tok::SpannedChat;
using Json = nlohmann::ordered_json;

Json conv(std::initializer_list<std::pair<const char*, const char*>> turns) {
  Json out = Json::array();
  for (const auto& [role, content] : turns) out.push_back({{"role", role}, {"content", content}});
  return out;
}

std::string span_text(const SpannedChat& s, size_t k) {
  return s.text.substr(s.spans.at(k).begin, s.spans.at(k).end - s.spans.at(k).begin);
}

TEST(ChatTemplate, ChatmlMatchesChatFormat) {
  const ChatTemplate t(ChatFormat::jinja_template(), "<|endoftext|>", "<|im_end|>");
  const std::vector<std::vector<ChatMessage>> convs = {
      {{"user", "hi"}},
      {{"system", "be brief"}, {"user", "你好 😀"}, {"assistant", "{{ not jinja }} \\ \"q\""}},
      {{"user", ""}, {"assistant", "  spaces  \n"}, {"user", "<|im_end|> spelled"}},
  };
  for (const auto& c : convs) {
    Json msgs = Json::array();
    for (const auto& m : c) msgs.push_back({{"role", m.role}, {"content", m.content}});
    for (bool gen : {false, true}) EXPECT_EQ(t.render(msgs, gen), ChatFormat::render_text(c, gen));
  }
}

TEST(ChatTemplate, ContextAsTransformersBuildsIt) {
  const ChatTemplate t("{{ bos_token }}|{{ eos_token }}|{{ tools is none }}|{{ documents is none }}|"
                       "{{ add_generation_prompt }}|{{ messages|length }}|{{ enable_thinking is defined }}",
                       "<s>", "</s>");
  EXPECT_EQ(t.render(conv({{"user", "a"}}), true), "<s>|</s>|True|True|True|1|False");
  EXPECT_EQ(t.render(conv({}), false, {{"enable_thinking", false}, {"tools", Json::array({1})}}),
            "<s>|</s>|False|True|False|0|True");
  // A token the tokenizer lacks is undefined, not "".
  const ChatTemplate no_bos("{{ bos_token is defined }}{{ eos_token }}", "", "<|im_end|>");
  EXPECT_EQ(no_bos.render(conv({}), false), "False<|im_end|>");
  // Messages reach the template as they are: null content, extra fields.
  const ChatTemplate raw("{% for m in messages %}{{ m.content is none }}{{ m.tool_calls[0].name }}{% endfor %}", "", "");
  EXPECT_EQ(raw.render(Json::parse(R"([{"role": "assistant", "content": null, "tool_calls": [{"name": "f"}]}])"), false),
            "Truef");
}

TEST(ChatTemplate, FromTokenizerConfig) {
  const Json cfg = Json::parse(R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>",
    "chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "{{ bos_token }}{{ eos_token }}"}]})");
  EXPECT_EQ(ChatTemplate::from_tokenizer_config(cfg, "m/tokenizer_config.json").render(conv({}), false), "<s></s>");
  EXPECT_EQ(error_of([] { ChatTemplate::from_tokenizer_config(Json::parse(R"({"eos_token": "x"})"), "m/tc.json"); }),
            "m/tc.json: no chat_template");
  EXPECT_EQ(error_of([] {
              ChatTemplate::from_tokenizer_config(
                  Json::parse(R"({"chat_template": [{"name": "rag", "template": "x"}]})"), "m/tc.json");
            }),
            "m/tc.json: chat_template has no template named \"default\" (it has: rag)");
  EXPECT_EQ(error_of([] {
              ChatTemplate::from_tokenizer_config(Json::parse(R"({"chat_template": "x", "eos_token": 5})"), "m/tc.json");
            }),
            "m/tc.json: eos_token must be a string or an object with a \"content\" string");
  EXPECT_EQ(error_of([] {
              ChatTemplate::from_tokenizer_config(Json::parse(R"({"chat_template": "{% for %}"})"), "m/tc.json");
            }),
            "m/tc.json: chat_template line 1, column 8: expected a variable name, got end of statement '%}'");
  const ChatTemplate t("{{ messages }}", "", "");
  EXPECT_EQ(error_of([&] { t.render(Json::object(), false); }), "chat_template: messages must be a JSON array, not object");
}

TEST(ChatTemplate, AssistantSpansChatml) {
  const ChatTemplate t(ChatFormat::jinja_template(), "<|endoftext|>", "<|im_end|>");
  const SpannedChat s = t.assistant_spans(
      conv({{"system", "S"}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"}, {"assistant", ""}}));
  EXPECT_EQ(s.text, ChatFormat::render_text({{"system", "S"}, {"user", "Q1"}, {"assistant", "A1"}, {"user", "Q2"},
                                             {"assistant", ""}}));
  ASSERT_EQ(s.spans.size(), 2u);
  EXPECT_EQ(s.spans[0].message, 2u);
  EXPECT_EQ(span_text(s, 0), "A1<|im_end|>");  // ChatFormat's loss mask: content and <|im_end|>, not the newline
  EXPECT_EQ(s.spans[1].message, 4u);
  EXPECT_EQ(span_text(s, 1), "<|im_end|>");
  EXPECT_TRUE(t.assistant_spans(conv({{"user", "only a question"}})).spans.empty());
}

// Like Llama 3's base template: a header after every turn and at the end, always.
const char* kTrailerTemplate =
    "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content | trim }}<eot>{% endfor %}[assistant]";

TEST(ChatTemplate, AssistantSpansWithATrailer) {
  ChatTemplate t(kTrailerTemplate, "<bos>", "<eos>");
  const Json msgs = conv({{"user", "Q1"}, {"assistant", " A1 "}, {"user", "Q2"}, {"assistant", "A2"}});
  EXPECT_EQ(error_of([&] { t.assistant_spans(msgs); }),
            "chat_template: assistant message 1: its text is not where the whole conversation's rendering puts it (if "
            "the template appends text after each turn, set the end-of-turn string, e.g. <|eot_id|> for Llama 3)");
  t.set_end_of_turn("<eot>");
  const SpannedChat s = t.assistant_spans(msgs);
  EXPECT_EQ(s.text, "<bos>[user]Q1<eot>[assistant]A1<eot>[user]Q2<eot>[assistant]A2<eot>[assistant]");
  ASSERT_EQ(s.spans.size(), 2u);
  EXPECT_EQ(span_text(s, 0), "A1<eot>");
  EXPECT_EQ(span_text(s, 1), "A2<eot>");
}

// Like Qwen3: an assistant turn after the last user message shows its reasoning, earlier
// ones lose it.
const char* kReasoningTemplate =
    "{% set ns = namespace(last_user=-1) %}{% for m in messages %}{% if m.role == 'user' %}"
    "{% set ns.last_user = loop.index0 %}{% endif %}{% endfor %}"
    "{% for m in messages %}<{{ m.role }}>{% if m.role == 'assistant' and loop.index0 < ns.last_user %}"
    "{{ m.content.split('</r>')[-1] }}{% else %}{{ m.content }}{% endif %}</t>{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}";

TEST(ChatTemplate, AssistantSpansWhenEarlierTurnsShrink) {
  const ChatTemplate t(kReasoningTemplate, "", "</t>");
  const SpannedChat s = t.assistant_spans(
      conv({{"user", "Q1"}, {"assistant", "<r>think</r>A1"}, {"user", "Q2"}, {"assistant", "<r>more</r>A2"}}));
  EXPECT_EQ(s.text, "<user>Q1</t><assistant>A1</t><user>Q2</t><assistant><r>more</r>A2</t>");
  ASSERT_EQ(s.spans.size(), 2u);
  EXPECT_EQ(span_text(s, 0), "A1</t>");  // the tail of what turn 1 would generate as the last turn
  EXPECT_EQ(span_text(s, 1), "<r>more</r>A2</t>");
}

TEST(ChatTemplate, AssistantSpansRefusesTemplatesWithoutPrefixes) {
  // The count of messages up front: a shorter conversation is not a prefix of a longer one.
  const ChatTemplate counted("{{ messages|length }}:{% for m in messages %}{{ m.content }};{% endfor %}", "", "");
  EXPECT_EQ(error_of([&] { counted.assistant_spans(conv({{"user", "q"}, {"assistant", "a"}})); }),
            "chat_template: assistant message 1: rendering the messages before it with add_generation_prompt does "
            "not give a prefix of rendering them with it, so its span cannot be found");
  EXPECT_EQ(error_of([] {
              ChatTemplate("{{ x }}", "", "").assistant_spans(Json::parse(R"([{"content": "no role"}])"));
            }),
            "chat_template: message 0 must be an object with a \"role\" string");
  // The template's own errors name the template.
  const ChatTemplate strict("{% if messages[0].role != 'user' %}{{ raise_exception('must start with a user turn') }}"
                            "{% endif %}",
                            "", "");
  EXPECT_EQ(error_of([&] { strict.render(conv({{"assistant", "a"}}), false); }),
            "chat_template line 1: the template raised an error: must start with a user turn");
}

TEST(ChatTemplate, FixedClock) {
  ChatTemplate t("{{ strftime_now('%d %B %Y') }}", "", "");
  std::tm tm{};
  tm.tm_year = 124;
  tm.tm_mon = 0;
  tm.tm_mday = 5;
  t.set_now(tm);
  EXPECT_EQ(t.render(conv({}), false), "05 January 2024");
}

}  // namespace
