// data::tokenize_to_shards (`data tokenize`): train/val routing by file name, tokens equal
// to the tokenizer's own encoding in input order, the same bytes for 1 and 2 threads,
// skipped empty documents and malformed lines counted, one-line errors, and a second set
// in the same directory replacing the first whole.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include "core/file_io.h"
#include "data/shard.h"
#include "data/tokenize_shards.h"
#include "shard_docs.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"

using namespace chatforge;
using namespace chatforge::data;
using chatforge::testing::error_of;
using chatforge::testing::read_split_docs;
using chatforge::testing::temp_dir;

namespace {
// A 300-token BPE vocabulary learned from text, saved in dir.
tok::Tokenizer saved_tokenizer(const std::string& dir, const std::string& text) {
  tok::TrainOptions t;
  t.vocab_size = 300;
  t.progress = false;
  tok::Tokenizer tk = tok::train_bpe_on_text(text, t);
  tk.save(dir);
  return tk;
}
}  // namespace

TEST(TokenizeShards, RoutesEncodesInOrderAndIsThreadIndependent) {
  const std::string d = temp_dir("tokenize_shards");
  const tok::Tokenizer tk = saved_tokenizer(d + "/tok", "Hello world. 你好，世界。 The fox jumps.\n");
  std::string train_jsonl, val_jsonl;
  std::vector<std::string> train_texts;
  for (int i = 0; i < 50; ++i) {
    train_texts.push_back("Hello world " + std::to_string(i) + ". 你好，世界。");
    train_jsonl += "{\"text\": \"" + train_texts.back() + "\"}\n";
  }
  train_jsonl += "{\"text\": \"\"}\n{not json}\n";  // one empty document, one malformed line
  val_jsonl = "{\"text\": \"The fox jumps.\"}\n";
  std::filesystem::create_directories(d + "/in");
  write_file_atomic(d + "/in/train.jsonl", train_jsonl);
  write_file_atomic(d + "/in/val.jsonl", val_jsonl);

  TokenizeOptions o;
  o.tokenizer = d + "/tok";
  o.inputs = {d + "/in"};
  o.out = d + "/out1";
  o.threads = 1;
  o.progress = false;
  o.shard_tokens = 200;  // several train shards
  const TokenizeResult r1 = tokenize_to_shards(o);
  o.out = d + "/out2";
  o.threads = 2;
  const TokenizeResult r2 = tokenize_to_shards(o);

  const auto train = read_split_docs(d + "/out1", "train");
  ASSERT_EQ(train.size(), train_texts.size());
  for (size_t i = 0; i < train.size(); ++i) EXPECT_EQ(train[i], tk.encode(train_texts[i])) << i;
  EXPECT_EQ(read_split_docs(d + "/out1", "val"), std::vector<std::vector<int32_t>>{tk.encode("The fox jumps.")});
  EXPECT_EQ(r1.train.docs, 50u);
  EXPECT_GT(r1.train.shards, 1u);
  EXPECT_EQ(r1.val.docs, 1u);
  EXPECT_EQ(r1.empty_docs, 1u);
  EXPECT_EQ(r1.input_issues, 1u);
  EXPECT_NE(r1.first_issue.find("train.jsonl:52: "), std::string::npos) << r1.first_issue;
  EXPECT_EQ(r2.train.tokens, r1.train.tokens);
  for (const auto& p : list_shards(d + "/out1", "train"))
    EXPECT_EQ(read_file(p), read_file(d + "/out2/" + std::filesystem::path(p).filename().string())) << p;
  EXPECT_TRUE(std::filesystem::exists(d + "/out1/tokenizer.json"));
  EXPECT_EQ(format_tokenize_summary(r1).rfind("train: 50 docs, ", 0), 0u);
  EXPECT_TRUE(is_val_file("/x/validation.jsonl.gz"));
  EXPECT_FALSE(is_val_file("/val/train.jsonl"));

  o.inputs = {d + "/nothing_here"};
  EXPECT_NE(error_of([&] { tokenize_to_shards(o); }), "");
  o.inputs = {d + "/in"};
  o.input.strict = true;
  EXPECT_NE(error_of([&] { tokenize_to_shards(o); }).find("train.jsonl:52"), std::string::npos);
  std::filesystem::remove_all(d);
}

// A second shard set written into the same directory replaces the first whole: the shards
// its meta.json does not list go (the loaders read every <split>_NNNNNN.bin there, so the
// first set's extra shards would have joined the second unseen); other files stay.
TEST(TokenizeShards, ASecondSetInTheSameDirectoryLeavesNoShardOfTheFirst) {
  namespace fs = std::filesystem;
  const std::string d = temp_dir("tokenize_again");
  const tok::Tokenizer tk = saved_tokenizer(d + "/tok", "Hello world. 你好，世界。\n");
  std::string many, few;
  for (int i = 0; i < 50; ++i) (i < 3 ? few : many) += "{\"text\": \"Hello world " + std::to_string(i) + ".\"}\n";
  fs::create_directories(d + "/many");
  fs::create_directories(d + "/few");
  write_file_atomic(d + "/many/train.jsonl", few + many);
  write_file_atomic(d + "/many/val.jsonl", "{\"text\": \"你好\"}\n");
  write_file_atomic(d + "/few/train.jsonl", few);
  TokenizeOptions o;
  o.tokenizer = d + "/tok";
  o.inputs = {d + "/many"};
  o.out = d + "/out";
  o.progress = false;
  o.shard_tokens = 100;
  const TokenizeResult first = tokenize_to_shards(o);
  ASSERT_GT(first.train.shards, 2u);
  write_file_atomic(d + "/out/notes.txt", "mine\n");
  write_file_atomic(d + "/out/train_old.bin", "not a shard name: kept\n");
  o.inputs = {d + "/few"};
  const TokenizeResult second = tokenize_to_shards(o);
  EXPECT_EQ(list_shards(d + "/out", "train").size(), second.train.shards);
  EXPECT_TRUE(list_shards(d + "/out", "val").empty());
  const auto docs = read_split_docs(d + "/out", "train");
  ASSERT_EQ(docs.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(docs[i], tk.encode("Hello world " + std::to_string(i) + ".")) << i;
  EXPECT_TRUE(fs::exists(d + "/out/notes.txt") && fs::exists(d + "/out/train_old.bin"));
  fs::remove_all(d);
}
