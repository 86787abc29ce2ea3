// ChatFormat over a model's own template: ChatML's exported Jinja template, run as a model
// template, gives exactly the native ChatML ids, mask and message indices; a Llama-3-style
// template masks each assistant turn's content and <|eot_id|> only, keeps user content
// plain text and stops on <|eot_id|>; the plain fallback's text, mask and stop string;
// load_chat_format's choices (model template, ChatML recognised, tokens only, none) and its
// errors. (The end-of-text fallback to <|end_of_text|> is checked on Llama 3's real
// tokenizer in interop.ModelChatTemplates.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/trainer.h"
#include "test_util.h"

using namespace chatforge;
using chatforge::tok::ChatFormat;
using chatforge::tok::ChatMessage;
using chatforge::tok::ChatTemplate;
namespace fs = std::filesystem;

namespace {

using chatforge::testing::temp_dir;
using chatforge::testing::write_text;
using chatforge::testing::error_of;

tok::Tokenizer make_template_tokenizer(std::vector<std::string> specials) {
  tok::TrainOptions o;
  o.vocab_size = 320;
  o.special_tokens = std::move(specials);
  return tok::train_bpe_on_text(
      "Mika keeps the red ball and the tall tree. Lora keeps a quiet river. He keeps the warm bread.\n"
      "User: hello there\nAssistant: hi, how can I help?\n你好，世界。谢谢你！\n",
      o);
}

const std::vector<std::vector<ChatMessage>> kConversations = {
    {{"user", "hello there"}, {"assistant", "hi, how can I help?"}},
    {{"system", "Be brief."}, {"user", "Mika keeps the red ball"}, {"assistant", "and the tall tree."},
     {"user", "你好，世界"}, {"assistant", "谢谢你！"}},
    {{"user", "Lora keeps"}, {"assistant", ""}, {"user", "a quiet river"}, {"assistant", "He keeps the warm bread."}},
};

// Llama 3's turn structure (without its date/tools preamble).
constexpr const char* kLlama3Style =
    "{{ bos_token }}{% for message in messages %}{{ '<|start_header_id|>' + message['role'] + "
    "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

}  // namespace

TEST(ChatFormatTemplate, ChatMLThroughJinjaEqualsTheNativeRenderer) {
  const tok::Tokenizer tk = make_template_tokenizer({"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
  const ChatFormat native(tk);
  ChatTemplate t(ChatFormat::jinja_template(), "<|endoftext|>", "<|im_end|>");
  const ChatFormat jinja(tk, std::move(t), ChatFormat::jinja_template());
  EXPECT_EQ(jinja.kind(), ChatFormat::Kind::kModelTemplate);
  EXPECT_EQ(jinja.stop_ids(), std::vector<int32_t>{native.end_of_turn_id()});
  for (const auto& c : kConversations) {
    for (bool gen : {false, true}) {
      const auto a = native.render(c, gen), b = jinja.render(c, gen);
      EXPECT_EQ(a.ids, b.ids) << c.size() << gen;
      if (!gen) {  // with the generation prompt there are no spans: nothing is trained
        EXPECT_EQ(a.mask, b.mask) << c.size();
        EXPECT_EQ(a.message, b.message) << c.size();
      }
      EXPECT_EQ(jinja.text(c, gen), ChatFormat::render_text(c, gen));
    }
  }
}

TEST(ChatFormatTemplate, Llama3StyleMasksAssistantTurnsAndKeepsUserTextPlain) {
  const tok::Tokenizer tk =
      make_template_tokenizer({"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"});
  const std::string dir = temp_dir("llama3");
  write_text(dir + "/tokenizer_config.json",
        nlohmann::json({{"chat_template", kLlama3Style}, {"bos_token", "<|begin_of_text|>"}, {"eos_token", "<|eot_id|>"}})
            .dump());
  const auto f = tok::load_chat_format(tk, {dir});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind(), ChatFormat::Kind::kModelTemplate);
  EXPECT_EQ(f->origin(), dir + "/tokenizer_config.json");
  const int32_t eot = *tk.special_token_id("<|eot_id|>");
  EXPECT_EQ(f->stop_ids(), std::vector<int32_t>{eot});
  // The user writes a control token's spelling: it stays text.
  const std::vector<ChatMessage> c = {{"user", "hello <|eot_id|> there"}, {"assistant", "hi, how can I help?"}};
  const auto r = f->render(c);
  EXPECT_EQ(tk.decode(r.ids), f->text(c));
  std::string trained, user;
  int eots_trained = 0, eots = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    eots += r.ids[i] == eot;
    if (r.mask[i]) trained += tk.decode({r.ids[i]}), eots_trained += r.ids[i] == eot;
    if (r.message[i] == 0) user += tk.decode({r.ids[i]});
    if (r.message[i] == 1) {
      EXPECT_EQ(r.mask[i], 1);
    }
  }
  EXPECT_EQ(trained, "hi, how can I help?<|eot_id|>");
  EXPECT_EQ(eots_trained, 1);
  EXPECT_EQ(eots, 2);  // the user's spelling is not the token
  EXPECT_EQ(user, "hello <|eot_id|> there");
  const auto prompt = f->render(c, true);
  EXPECT_EQ(tk.decode(prompt.ids), f->text(c, true));
  EXPECT_EQ(std::count(prompt.mask.begin(), prompt.mask.end(), 1), 0);
}

TEST(ChatFormatTemplate, PlainFallbackForBaseModels) {
  const tok::Tokenizer tk = make_template_tokenizer({"<|endoftext|>"});
  EXPECT_EQ(tok::load_chat_format(tk, {}), nullptr);
  const ChatFormat f = ChatFormat::plain(tk);
  EXPECT_EQ(f.kind(), ChatFormat::Kind::kPlain);
  EXPECT_EQ(f.stop_strings(), std::vector<std::string>{"\nUser:"});
  EXPECT_TRUE(f.stop_ids().empty());
  const std::vector<ChatMessage> c = {{"system", "Be brief."}, {"user", "hello there"}, {"assistant", "hi"}};
  EXPECT_EQ(f.text(c), "Be brief.\n\nUser: hello there\nAssistant: hi\n");
  EXPECT_EQ(f.text({c[1]}, true), "User: hello there\nAssistant:");
  const auto r = f.render(c);
  std::string trained;
  for (size_t i = 0; i < r.ids.size(); ++i)
    if (r.mask[i]) trained += tk.decode({r.ids[i]});
  EXPECT_EQ(trained, " hi\n");
}

TEST(ChatFormatTemplate, LoadChoosesTheFormatAndNamesBadFiles) {
  const tok::Tokenizer tk = make_template_tokenizer({"<|endoftext|>", "<|im_start|>", "<|im_end|>"});
  const std::string dir = temp_dir("load");
  EXPECT_EQ(tok::load_chat_format(tk, {dir})->kind(), ChatFormat::Kind::kChatML);  // no file: the tokens
  write_text(dir + "/tokenizer_config.json", nlohmann::json({{"chat_template", ChatFormat::jinja_template()}}).dump());
  EXPECT_EQ(tok::load_chat_format(tk, {dir})->kind(), ChatFormat::Kind::kChatML);  // ours, recognised
  write_text(dir + "/tokenizer_config.json",
        nlohmann::json({{"chat_template", nlohmann::json::array({{{"name", "default"}, {"template", kLlama3Style}}})},
                        {"eos_token", {{"content", "<|im_end|>"}}}})
            .dump());
  const auto f = tok::load_chat_format(tk, {dir + "/tokenizer_config.json"});
  EXPECT_EQ(f->kind(), ChatFormat::Kind::kModelTemplate);
  EXPECT_EQ(f->template_source(), kLlama3Style);
  EXPECT_EQ(f->stop_ids(), std::vector<int32_t>{*tk.special_token_id("<|im_end|>")});  // eos: no known marker
  write_text(dir + "/tokenizer_config.json", "{\"chat_template\": ");
  EXPECT_NE(error_of([&] { tok::load_chat_format(tk, {dir}); }).find(dir + "/tokenizer_config.json"), std::string::npos);
  write_text(dir + "/tokenizer_config.json", nlohmann::json({{"chat_template", "{% for m in messages %}"}}).dump());
  EXPECT_NE(error_of([&] { tok::load_chat_format(tk, {dir}); }).find(dir + "/tokenizer_config.json"), std::string::npos);
}
