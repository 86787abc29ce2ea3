// Reasoning blocks (tokenizer/reasoning.h): the splitter on whole text and on every way of
// cutting it into streamed pieces (tags split across pieces), unclosed blocks, text without
// tags, blocks the prompt opened; detection from special tokens and template source; and
// reasoning_content reaching a model's template as a message field (Qwen3's real template
// when scripts/deps/tokenizer_models.fetch.sh has fetched it).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning.h"
#include "tokenizer/trainer.h"

using namespace chatforge;
using tok::ReasoningText;
using tok::split_reasoning;

namespace {

tok::Tokenizer make_reasoning_tokenizer(std::vector<std::string> specials) {
  tok::TrainOptions o;
  o.vocab_size = 300;
  o.special_tokens = std::move(specials);
  return tok::train_bpe_on_text("Let me think about the answer. The answer is four.\n", o);
}

bool has_tag(const ReasoningText& t) {
  for (const std::string* p : {&t.reasoning, &t.content})
    if (p->find("<think>") != std::string::npos || p->find("</think>") != std::string::npos) return true;
  return false;
}

// Feeds `text` cut at `cuts` (ascending byte offsets); no piece may show a tag unless the
// expected text has one (tags that are the answer's own text).
ReasoningText streamed(const std::string& text, const std::vector<size_t>& cuts, bool inside, bool tags_ok) {
  tok::ReasoningSplitter s(inside);
  ReasoningText all;
  size_t at = 0;
  auto add = [&](const ReasoningText& t) {
    if (!tags_ok) EXPECT_FALSE(has_tag(t)) << t.reasoning << " | " << t.content;
    all.reasoning += t.reasoning;
    all.content += t.content;
  };
  for (size_t c : cuts) {
    add(s.push(std::string_view(text).substr(at, c - at)));
    at = c;
  }
  add(s.push(std::string_view(text).substr(at)));
  add(s.finish());
  return all;
}

// Every one-cut and two-cut split, and byte by byte, give the whole-text result.
void expect_stream_equals_whole(const std::string& text, const ReasoningText& want, bool inside = false) {
  EXPECT_EQ(split_reasoning(text, inside), want) << text;
  std::vector<size_t> bytes;
  for (size_t i = 1; i < text.size(); ++i) bytes.push_back(i);
  const bool tags_ok = has_tag(want);
  EXPECT_EQ(streamed(text, bytes, inside, tags_ok), want) << "byte by byte: " << text;
  for (size_t i = 0; i <= text.size(); ++i)
    for (size_t j = i; j <= text.size(); ++j)
      ASSERT_EQ(streamed(text, {i, j}, inside, tags_ok), want) << text << " cut " << i << "," << j;
}

}  // namespace

TEST(Reasoning, SplitsTheBlockOffTheAnswer) {
  expect_stream_equals_whole("<think>\nThe user asks 2+2.\nThat is 4.\n</think>\n\nThe answer is 4.",
                             {"The user asks 2+2.\nThat is 4.", "The answer is 4."});
  // the answer keeps its inner and trailing whitespace; only what follows </think> is trimmed
  expect_stream_equals_whole("<think>x</think>  Line one.\n\nLine two.\n", {"x", "Line one.\n\nLine two.\n"});
  // leading whitespace before the block
  expect_stream_equals_whole("\n <think>a b</think>c", {"a b", "c"});
}

TEST(Reasoning, EmptyBlockIsNoReasoning) {
  expect_stream_equals_whole("<think>\n\n</think>\n\nHello!", {"", "Hello!"});
}

TEST(Reasoning, UnclosedBlockIsAllReasoning) {
  // stopped by max_tokens (finish "length") inside the block
  expect_stream_equals_whole("<think>\nStill working on it, 2+2", {"Still working on it, 2+2", ""});
  // a closing tag cut off by the stop: its start is reasoning text
  expect_stream_equals_whole("<think>hmm</thi", {"hmm</thi", ""});
  expect_stream_equals_whole("<think>", {"", ""});
}

TEST(Reasoning, TextWithoutTagsIsContentVerbatim) {
  expect_stream_equals_whole("Just an answer.", {"", "Just an answer."});
  expect_stream_equals_whole("  spaced answer \n", {"", "  spaced answer \n"});
  // a block only counts at the start: later tags are the answer's text (e.g. about HTML)
  expect_stream_equals_whole("Use <think> and </think> tags.", {"", "Use <think> and </think> tags."});
  expect_stream_equals_whole("<thinking>no</thinking>", {"", "<thinking>no</thinking>"});
  expect_stream_equals_whole("<thi", {"", "<thi"});
  expect_stream_equals_whole("", {"", ""});
}

TEST(Reasoning, PromptOpenedBlock) {
  // the template wrote "<think>\n" in the generation prompt (DeepSeek-R1, QwQ)
  expect_stream_equals_whole("Okay, 2+2 is 4.\n</think>\n\nIt is 4.", {"Okay, 2+2 is 4.", "It is 4."}, true);
  expect_stream_equals_whole("still thinking", {"still thinking", ""}, true);
  // a "<think>" the model writes inside the block is reasoning text
  expect_stream_equals_whole("<think>x</think>y", {"<think>x", "y"}, true);
}

TEST(Reasoning, StreamingHoldsOnlyWhatCouldBeATag) {
  tok::ReasoningSplitter s;
  EXPECT_EQ(s.push("<thi"), (ReasoningText{"", ""}));  // maybe a tag: held
  EXPECT_EQ(s.push("nk>\nhmm"), (ReasoningText{"hmm", ""}));
  EXPECT_TRUE(s.in_reasoning());
  EXPECT_EQ(s.push(" ok</th"), (ReasoningText{" ok", ""}));  // "</th" held
  EXPECT_EQ(s.push("ink>\n\n"), (ReasoningText{"", ""}));
  EXPECT_FALSE(s.in_reasoning());
  EXPECT_EQ(s.push("Four"), (ReasoningText{"", "Four"}));
  EXPECT_EQ(s.push("."), (ReasoningText{"", "."}));
  EXPECT_EQ(s.finish(), (ReasoningText{"", ""}));
  tok::ReasoningSplitter plain;
  EXPECT_EQ(plain.push("Hi"), (ReasoningText{"", "Hi"}));  // no block: content at once
}

TEST(Reasoning, PromptOpensReasoning) {
  EXPECT_TRUE(tok::prompt_opens_reasoning("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"));
  EXPECT_TRUE(tok::prompt_opens_reasoning("<｜Assistant｜><think>"));
  EXPECT_FALSE(tok::prompt_opens_reasoning("<|im_start|>assistant\n<think>\n\n</think>\n\n"));
  EXPECT_FALSE(tok::prompt_opens_reasoning("<|im_start|>assistant\n"));
  EXPECT_FALSE(tok::prompt_opens_reasoning(""));
}

TEST(Reasoning, DetectsFromTokensOrTemplate) {
  const tok::Tokenizer with = make_reasoning_tokenizer({"<|im_start|>", "<|im_end|>", "<think>", "</think>"});
  const tok::Tokenizer without = make_reasoning_tokenizer({"<|im_start|>", "<|im_end|>"});
  EXPECT_TRUE(tok::detect_reasoning(with, ""));
  EXPECT_FALSE(tok::detect_reasoning(without, "{{ messages[0].content }}"));
  EXPECT_TRUE(tok::detect_reasoning(without, "{{ '<|im_start|>assistant\\n<think>\\n' }}{# ... #}{{ '</think>' }}"));
  EXPECT_FALSE(tok::detect_reasoning(without, "{{ '<think>' }}"));  // only one of the two
}

TEST(Reasoning, ReasoningContentReachesTheTemplate) {
  const tok::Tokenizer tk = make_reasoning_tokenizer({"<|im_start|>", "<|im_end|>"});
  const std::string src =
      "{% for m in messages %}{{ m.role }}:{% if m.reasoning_content is defined %}[{{ m.reasoning_content }}]"
      "{% endif %}{{ m.content }}|{% endfor %}";
  tok::ChatTemplate t(src, "", "");
  t.set_end_of_turn("");
  const tok::ChatFormat f(tk, std::move(t), src);
  std::vector<tok::ChatMessage> m = {{"user", "q", std::nullopt}, {"assistant", "a", "r"}, {"user", "q2", std::nullopt}};
  EXPECT_EQ(f.text(m), "user:q|assistant:[r]a|user:q2|");
  m[1].reasoning_content.reset();  // absent: undefined in the template, as transformers leaves it
  EXPECT_EQ(f.text(m), "user:q|assistant:a|user:q2|");
}

TEST(Reasoning, Qwen3TemplateKeepsOnlyTheLastTurnsReasoning) {
  const std::string dir = std::string(CF_SOURCE_DIR) + "/.cache/tokenizer-models/qwen3";
  if (!std::filesystem::exists(dir + "/tokenizer_config.json")) GTEST_SKIP() << "run scripts/deps/tokenizer_models.fetch.sh";
  const tok::Tokenizer tk = tok::Tokenizer::load(dir);
  const auto f = tok::load_chat_format(tk, {dir});
  ASSERT_TRUE(f);
  EXPECT_TRUE(tok::detect_reasoning(tk, f->template_source()));
  // an earlier turn's reasoning is dropped by the template itself
  const std::vector<tok::ChatMessage> two = {
      {"user", "2+2?", std::nullopt}, {"assistant", "4.", "Add them."}, {"user", "3+3?", std::nullopt}};
  EXPECT_EQ(f->text(two, true),
            "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4.<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n"
            "<|im_start|>assistant\n");
  // after the last user message (a tool-less continuation) it is rendered in its block
  const std::vector<tok::ChatMessage> one = {{"user", "2+2?", std::nullopt}, {"assistant", "4.", "Add them."}};
  EXPECT_EQ(f->text(one), "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n4.<|im_end|>\n");
  EXPECT_FALSE(tok::prompt_opens_reasoning(f->text(two, true)));
}
