// JSONL evaluation items: prompts from prompt/messages, references from the usual fields
// (string or list, or the final assistant turn), groups, and errors naming file:line and
// the item.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file_io.h"
#include "eval/eval_items.h"
#include "test_util.h"

using namespace chatforge::eval;

namespace {
std::string write_tmp(const std::string& name, const std::string& text) {
  static const std::string dir = chatforge::testing::temp_dir("eval_items");
  chatforge::write_file_atomic(dir + "/" + name, text);
  return dir + "/" + name;
}
std::string items_error(const std::string& path, const EvalItemFields& f) {
  try {
    load_eval_items(path, f);
  } catch (const chatforge::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(EvalItems, LoadsPromptsReferencesAndGroups) {
  const std::string p = write_tmp("ok.jsonl",
                                  R"({"id": 7, "prompt": "2+2?", "answers": ["4", "four", ""], "lang": "en"})"
                                  "\n\n"
                                  R"({"messages": [{"role": "user", "content": "你好"}, {"role": "assistant", "content": "你好！"}], "lang": "zh"})"
                                  "\n");
  const auto items = load_eval_items(p, EvalItemFields{"", "lang", true});
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].id, "7");
  EXPECT_EQ(items[0].prompt, "2+2?");
  EXPECT_EQ(items[0].references, (std::vector<std::string>{"4", "four"}));
  EXPECT_EQ(items[0].group, "en");
  EXPECT_EQ(items[1].id, "3");  // line number (blank line 2 skipped)
  EXPECT_EQ(items[1].prompt, "你好");
  EXPECT_EQ(items[1].references, (std::vector<std::string>{"你好！"}));
  EXPECT_EQ(items[1].group, "zh");
}

TEST(EvalItems, BadItemsNameFileLineAndItem) {
  const std::string p = write_tmp("bad.jsonl", "{\"id\": \"a\", \"prompt\": \"x\", \"reference\": \"\"}\n");
  EXPECT_NE(items_error(p, {}).find("bad.jsonl:1: item 'a': references missing"), std::string::npos) << items_error(p, {});
  const std::string g = write_tmp("group.jsonl", "{\"id\": \"b\", \"prompt\": \"x\", \"reference\": \"y\", \"grp\": \"\"}\n");
  EXPECT_NE(items_error(g, EvalItemFields{"", "grp", false}).find("group.jsonl:1: item 'b': group field 'grp' is empty"),
            std::string::npos);
  EXPECT_NE(items_error(g, EvalItemFields{"", "sex", false}).find("group field 'sex' missing"), std::string::npos);
  const std::string d = write_tmp("dup.jsonl", "{\"id\": 1, \"reference\": \"y\"}\n{\"id\": 1, \"reference\": \"z\"}\n");
  EXPECT_NE(items_error(d, {}).find("dup.jsonl:2: duplicate item id '1'"), std::string::npos);
  const std::string j = write_tmp("json.jsonl", "{\"id\": 1, \"reference\": \"y\"\n");
  EXPECT_NE(items_error(j, {}).find("json.jsonl:1: invalid JSON"), std::string::npos);
}
