// The SFT dataset build (data::build_chat_dataset) end to end on a tiny mixture: two tasks
// (one with a system prompt, two epochs), a bad record, the hash split, --pack, token
// noise and a fake paraphraser. Shards are read back with the shard reader and checked
// against the chat template's own rendering and an independent mask rule (assistant
// content + <|im_end|> only); counts are checked in the result, meta.json and the summary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "data/chat_build.h"
#include "data/chat_dataset.h"
#include "data/shard.h"
#include "test_util.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/trainer.h"

using namespace chatforge;
using namespace chatforge::data;
using chatforge::testing::error_of;
using chatforge::testing::temp_dir;
using chatforge::tok::ChatMessage;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using chatforge::testing::write_text;

std::vector<json> read_jsonl_rows(const std::string& path) {
  std::vector<json> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  return rows;
}

std::vector<ChatMessage> messages_of(const json& row) {
  std::vector<ChatMessage> m;
  for (const auto& x : row["messages"]) m.push_back({x["role"].get<std::string>(), x["content"].get<std::string>()});
  return m;
}

// The documents of one split (all its shards), each as (tokens, mask) without the eot.
struct Doc {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};
std::vector<Doc> read_built_docs(const std::string& dir, const std::string& split, uint64_t* rows = nullptr) {
  std::vector<Doc> docs;
  if (rows) *rows = 0;
  for (const auto& path : list_shards(dir, split)) {
    ShardReader r(path);
    EXPECT_TRUE(r.has_mask()) << path;
    if (rows) *rows += r.n_rows();
    Doc cur;
    for (uint64_t i = 0; i < r.n_tokens(); ++i) {
      if (static_cast<int32_t>(r.tokens(i)) == r.eot_id()) {
        EXPECT_EQ(r.mask(i), 0) << "the end-of-text separator is never trained on";
        docs.push_back(std::move(cur));
        cur = {};
      } else {
        cur.ids.push_back(static_cast<int32_t>(r.tokens(i)));
        cur.mask.push_back(r.mask(i));
      }
    }
    EXPECT_TRUE(cur.ids.empty()) << path << " ends inside a document";
  }
  return docs;
}

// A tiny mixture in a fresh directory: task "qa" (40 conversations and one broken line,
// line 8) and task "chat" (20 conversations, system prompt "Be brief.", 2 epochs).
struct ChatBuildFixture {
  std::string dir;
  std::vector<std::vector<ChatMessage>> qa, chat;
  ChatBuildOptions options;

  explicit ChatBuildFixture(const std::string& name) : dir(temp_dir("chat_build_" + name)) {
    tok::TrainOptions t;
    t.vocab_size = 400;
    t.special_tokens = {tok::kImStart, tok::kImEnd};
    t.progress = false;
    std::string text;
    for (int i = 0; i < 30; ++i)
      text += "What is the number " + std::to_string(i) + "? The number is " + std::to_string(i * 7) +
              ". Hello there, how are you today? I am fine, thanks. Be brief.\n";
    tok::train_bpe_on_text(text, t).save(dir + "/tok");
    std::string qa_text, chat_text;
    for (int i = 0; i < 40; ++i) {
      qa.push_back({{"user", "What is the number " + std::to_string(i) + "?"},
                    {"assistant", "The number is " + std::to_string(i * 7) + "."}});
      qa_text += json{{"messages", {{{"role", "user"}, {"content", qa.back()[0].content}},
                                    {{"role", "assistant"}, {"content", qa.back()[1].content}}}}}
                     .dump() +
                 "\n";
      if (i == 6) qa_text += "{\"messages\": [broken\n";  // line 8
    }
    for (int i = 0; i < 20; ++i) {
      chat.push_back({{"user", "Hello there " + std::to_string(i) + ", how are you today?"},
                      {"assistant", "I am fine, thanks " + std::to_string(i) + "."}});
      chat_text += json{{"prompt", chat.back()[0].content}, {"completion", chat.back()[1].content}}.dump() + "\n";
    }
    write_text(dir + "/qa.jsonl", qa_text);
    write_text(dir + "/chat.jsonl", chat_text);
    write_text(dir + "/mix.json", json::array({{{"task", "qa"}, {"path", "qa.jsonl"}, {"epochs", 1}},
                                          {{"task", "chat"}, {"path", "chat.jsonl"}, {"epochs", 2},
                                           {"system", "Be brief."}}})
                                 .dump());
    options.tokenizer = dir + "/tok";
    options.out = dir + "/out";
    options.mixture = dir + "/mix.json";
    options.max_len = 64;
    options.val_fraction = 0.25;
    options.seed = 3;
    options.dump_text = dir + "/dump.jsonl";
    options.progress = false;
    options.threads = 2;
  }
};

// Decoded mask-1 spans of a document, joined: what the model is trained to produce.
std::string trained_text(const tok::Tokenizer& tk, const Doc& d) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < d.ids.size(); ++i)
    if (d.mask[i]) ids.push_back(d.ids[i]);
  return tk.decode(ids);
}

}  // namespace

TEST(ChatBuild, ShardsRoundTripWithAssistantOnlyMaskAndCounts) {
  ChatBuildFixture f("roundtrip");
  const ChatBuildResult r = build_chat_dataset(f.options, {});
  const tok::Tokenizer tk = tok::Tokenizer::load(f.options.out);
  const tok::ChatFormat format(tk);

  // The dump lists every output conversation in write order: train rows, then val.
  const auto dump = read_jsonl_rows(f.options.dump_text);
  const auto train = read_built_docs(f.options.out, "train"), val = read_built_docs(f.options.out, "val");
  ASSERT_EQ(dump.size(), train.size() + val.size());
  ASSERT_GT(train.size(), 50u);
  for (size_t k = 0; k < dump.size(); ++k) {
    const bool is_train = k < train.size();
    ASSERT_EQ(dump[k]["split"], is_train ? "train" : "val") << k;
    const Doc& d = is_train ? train[k] : val[k - train.size()];
    const auto msgs = messages_of(dump[k]);
    const tok::RenderedChat want = format.render(msgs);
    EXPECT_EQ(d.ids, want.ids) << k;
    EXPECT_EQ(d.mask, want.mask) << k;
    // Independently of the renderer: the trained text is each assistant turn + <|im_end|>.
    std::string assistant;
    for (const auto& m : msgs)
      if (m.role == "assistant") assistant += m.content + tok::kImEnd;
    EXPECT_EQ(trained_text(tk, d), assistant) << k;
    // System prompts: the chat task's only.
    const bool chat_task = dump[k]["task"] == "chat";
    EXPECT_EQ(msgs[0].role == "system", chat_task) << k;
    if (chat_task) {
      EXPECT_EQ(msgs[0].content, "Be brief.");
    }
  }

  // The split is the hash rule, conversation by conversation (system prompt ignored).
  std::set<std::string> val_answers;
  for (const auto& row : dump)
    if (row["split"] == "val") val_answers.insert(row["messages"].back()["content"].get<std::string>());
  for (const auto* task : {&f.qa, &f.chat})
    for (const auto& c : *task)
      EXPECT_EQ(val_answers.count(c[1].content) == 1, is_validation_hash(conversation_hash(c), 3, 0.25))
          << c[0].content;

  // Counts: result, meta.json and the shards agree.
  ASSERT_EQ(r.tasks.size(), 2u);
  const ChatTaskCounts& qa = r.counts[0];
  const ChatTaskCounts& chat = r.counts[1];
  EXPECT_EQ(qa.read, 40u);
  EXPECT_EQ(qa.skipped, 1u);
  EXPECT_EQ(chat.read, 20u);
  EXPECT_EQ(qa.train + qa.val, 40u);
  EXPECT_EQ(chat.train + chat.val, 20u);
  EXPECT_GT(qa.val, 0u);
  EXPECT_EQ(qa.train_out, qa.train);
  EXPECT_EQ(chat.train_out, 2 * chat.train);  // two epochs
  EXPECT_EQ(r.splits[0].n_docs, train.size());
  EXPECT_EQ(train.size(), qa.train_out + chat.train_out);
  EXPECT_EQ(val.size(), qa.val + chat.val);
  ASSERT_EQ(r.splits.size(), 4u);  // train, val, val-qa, val-chat
  EXPECT_EQ(r.splits[2].split, "val-qa");
  EXPECT_EQ(read_built_docs(f.options.out, "val-qa").size(), qa.val);
  EXPECT_EQ(read_built_docs(f.options.out, "val-chat").size(), chat.val);
  ASSERT_EQ(r.n_issues, 1u);
  EXPECT_EQ(r.issue_examples[0].line, 8u);
  uint64_t trained = 0;
  for (const auto& d : train)
    for (uint8_t m : d.mask) trained += m;
  EXPECT_EQ(r.trained_tokens, trained);

  const json meta = json::parse(read_file(f.options.out + "/meta.json"));
  EXPECT_EQ(meta["chat"]["tasks"]["qa"]["conversations_read"], 40);
  EXPECT_EQ(meta["chat"]["tasks"]["qa"]["skipped"], 1);
  EXPECT_EQ(meta["chat"]["tasks"]["chat"]["train_rows"], chat.train_out);
  EXPECT_EQ(meta["chat"]["tasks"]["chat"]["system"], "Be brief.");
  EXPECT_EQ(meta["chat"]["skipped"]["count"], 1);
  EXPECT_EQ(meta["chat"]["skipped"]["examples"][0]["line"], 8);
  EXPECT_EQ(meta["chat"]["trained_tokens"], trained);

  const std::string summary = format_chat_build_summary(r);
  EXPECT_EQ(summary.rfind("task qa           read 40, train " + std::to_string(qa.train), 0), 0u) << summary;
  EXPECT_NE(summary.find("skipped 1 records (first: " + f.dir + "/qa.jsonl:8: "), std::string::npos) << summary;

  // Deterministic: the same options give the same bytes; another seed another split.
  ChatBuildOptions again = f.options;
  again.out = f.dir + "/out2";
  again.dump_text.clear();
  build_chat_dataset(again, {});
  EXPECT_EQ(read_file(f.options.out + "/train_000000.bin"), read_file(again.out + "/train_000000.bin"));
  again.seed = 4;
  again.out = f.dir + "/out3";
  build_chat_dataset(again, {});
  EXPECT_NE(read_file(f.options.out + "/val_000000.bin"), read_file(again.out + "/val_000000.bin"));
}

TEST(ChatBuild, ParaphraserRunsOnTrainConversationsAtTheRate) {
  ChatBuildFixture f("paraphrase");
  f.options.paraphrase_rate = 0.5;
  std::vector<std::string> calls;
  const Paraphraser fake = [&](const std::string& text) {
    calls.push_back(text);
    return "Say again: " + text;
  };
  const ChatBuildResult r = build_chat_dataset(f.options, fake);

  std::set<std::string> val_users, train_users;
  for (const auto* task : {&f.qa, &f.chat})
    for (const auto& c : *task)
      (is_validation_hash(conversation_hash(c), 3, 0.25) ? val_users : train_users).insert(c[0].content);
  for (const auto& c : calls) {
    EXPECT_EQ(train_users.count(c), 1u) << "paraphrased a non-train text: " << c;
    EXPECT_EQ(val_users.count(c), 0u) << c;
  }
  EXPECT_EQ(std::set<std::string>(calls.begin(), calls.end()).size(), calls.size()) << "a text paraphrased twice";
  EXPECT_EQ(r.paraphrase_calls, calls.size());
  const uint64_t paraphrased = r.counts[0].paraphrased + r.counts[1].paraphrased;
  EXPECT_EQ(paraphrased, calls.size());  // one user turn per conversation here
  // About half of the train conversations (binomial, n ~ 45: 3.5 sigma).
  EXPECT_GT(paraphrased, train_users.size() / 2 - 12);
  EXPECT_LT(paraphrased, train_users.size() / 2 + 12);

  // The copies are extra train examples; the originals stay.
  uint64_t copies = 0, originals = 0;
  for (const auto& row : read_jsonl_rows(f.options.dump_text)) {
    const std::string user = messages_of(row)[row["task"] == "chat" ? 1 : 0].content;
    if (user.rfind("Say again: ", 0) == 0) {
      EXPECT_EQ(row["split"], "train");
      ++copies;
    } else if (row["split"] == "train") {
      ++originals;
    }
  }
  EXPECT_EQ(r.counts[0].train, r.counts[0].train_out);
  EXPECT_EQ(copies, r.counts[0].paraphrased + 2 * r.counts[1].paraphrased);  // chat: 2 epochs
  EXPECT_EQ(originals + copies, r.counts[0].train_out + r.counts[1].train_out);
  EXPECT_NE(format_chat_build_summary(r).find("paraphrase: " + std::to_string(calls.size()) + " command calls\n"),
            std::string::npos);
  const json meta = json::parse(read_file(f.options.out + "/meta.json"));
  EXPECT_EQ(meta["chat"]["paraphrase_calls"], calls.size());
}

TEST(ChatBuild, PackedRowsWithNoiseKeepTargets) {
  ChatBuildFixture f("pack");
  f.options.pack = true;
  f.options.dump_text.clear();
  ChatBuildOptions noisy = f.options;
  noisy.out = f.dir + "/noisy";
  noisy.noise.substitute_rate = 0.3;
  const ChatBuildResult clean_r = build_chat_dataset(f.options, {});
  const ChatBuildResult noisy_r = build_chat_dataset(noisy, {});

  uint64_t rows = 0;
  const auto clean = read_built_docs(f.options.out, "train", &rows);
  const auto docs = read_built_docs(noisy.out, "train");
  EXPECT_EQ(rows, clean_r.train_pack.rows);
  EXPECT_LT(rows, clean.size());  // several conversations per row
  EXPECT_EQ(clean_r.train_pack.docs, clean.size());
  for (const auto& path : list_shards(f.options.out, "train")) {
    ShardReader sr(path);
    ASSERT_TRUE(sr.packed());
    uint64_t start = 0;
    for (uint64_t row = 0; row < sr.n_rows(); ++row) {
      const uint64_t end_doc = sr.row_end_doc(row);
      const uint64_t end = sr.doc_ends()[end_doc - 1] + 1;
      EXPECT_LE(end - start, 64u) << "row " << row << " longer than max_len";
      start = end;
    }
  }
  // Noise touches user tokens only: same lengths, same targets, changes counted exactly.
  ASSERT_EQ(docs.size(), clean.size());
  uint64_t changed = 0;
  for (size_t i = 0; i < docs.size(); ++i) {
    ASSERT_EQ(docs[i].ids.size(), clean[i].ids.size());
    EXPECT_EQ(docs[i].mask, clean[i].mask);
    for (size_t j = 0; j < docs[i].ids.size(); ++j)
      if (docs[i].ids[j] != clean[i].ids[j]) {
        ++changed;
        EXPECT_EQ(docs[i].mask[j], 0) << "a trained token was noised";
      }
  }
  EXPECT_GT(changed, 0u);
  EXPECT_EQ(noisy_r.noise.substituted, changed);
  const json meta = json::parse(read_file(noisy.out + "/meta.json"));
  EXPECT_EQ(meta["chat"]["noise"]["substituted"], changed);
  EXPECT_EQ(meta["chat"]["pack"]["train"]["rows_after"], noisy_r.train_pack.rows);
  const std::string summary = format_chat_build_summary(noisy_r);
  EXPECT_NE(summary.find("pack train " + std::to_string(clean.size()) + " conversations -> " +
                         std::to_string(rows) + " rows of 64 tokens; padding "),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("noise: " + std::to_string(changed) + " of "), std::string::npos) << summary;
}

TEST(ChatBuild, SummaryText) {
  ChatBuildResult r;
  r.tasks.resize(1);
  r.tasks[0].task = "qa";
  r.counts.resize(1);
  r.counts[0] = ChatTaskCounts{.read = 3, .skipped = 1, .too_long = 1, .truncated = 0, .train = 1, .val = 1,
                               .train_out = 1};
  r.splits = {{"train", {"train_000000.bin"}, 40, 1, 0}, {"val", {"val_000000.bin"}, 30, 1, 0}};
  r.trained_tokens = 12;
  r.packed = true;
  r.max_len = 64;
  r.train_pack = {.docs = 5, .rows = 3, .tokens = 160};
  r.val_pack = {.docs = 0, .rows = 0, .tokens = 0};
  r.n_issues = 1;
  r.issue_examples = {{"a.jsonl", 2, "broken JSON"}};
  r.seconds = 1.234;
  r.out = "out";
  EXPECT_EQ(format_chat_build_summary(r),
            "task qa           read 3, train 1 (rows 1), val 1, dropped too long 1, truncated 0\n"
            "train: 1 conversations, 40 tokens (12 trained) in 1 shards\n"
            "val:   1 conversations, 30 tokens in 1 shards\n"
            "pack train 5 conversations -> 3 rows of 64 tokens; padding 50.0% -> 16.7%\n"
            "pack val   0 conversations -> 0 rows of 64 tokens; padding 0.0% -> 0.0%\n"
            "skipped 1 records (first: a.jsonl:2: broken JSON)\n"
            "time 1.23s; wrote out\n");
}

TEST(ChatBuild, BadOptionsAndInputsAreErrors) {
  ChatBuildFixture f("errors");
  auto usage = [&](const std::function<void(ChatBuildOptions&)>& edit, const Paraphraser& p = {}) {
    ChatBuildOptions o = f.options;
    edit(o);
    try {
      build_chat_dataset(o, p);
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no usage error");
  };
  EXPECT_EQ(usage([](auto& o) { o.max_len = 4; }), "--max-len must be at least 8, got 4");
  EXPECT_EQ(usage([](auto& o) { o.val_fraction = 1; }), "--val-fraction must be in [0, 1), got 1");
  EXPECT_NE(usage([](auto& o) { o.paraphrase_rate = 0.5; }).find("--paraphrase-rate needs"), std::string::npos);
  EXPECT_EQ(usage([](auto& o) { o.paraphrase_rate = 2; }, [](const std::string& s) { return s; }),
            "--paraphrase-rate must be in [0, 1], got 2");
  EXPECT_NE(usage([](auto& o) { o.inputs = {"x.jsonl"}; }).find("not both"), std::string::npos);
  EXPECT_NE(usage([](auto& o) { o.mixture.clear(); }).find("give --input FILES... or --mixture FILE"), std::string::npos);
  EXPECT_NE(usage([](auto& o) { o.truncate = std::string("middle"); }).find("--truncate"), std::string::npos);
  EXPECT_NE(usage([](auto& o) { o.format = std::string("xml"); }).find("--format"), std::string::npos);
  EXPECT_NE(usage([](auto& o) { o.noise.mask_rate = 2; }).find("--mask-rate"), std::string::npos);
  EXPECT_NE(usage([](auto& o) { 
    o.augment_command = std::string("cat");
    o.augment_model = std::string("m");
   }).find("not both"),
            std::string::npos);
  EXPECT_NE(usage([](auto& o) { o.threads = 0; }).find("--threads"), std::string::npos);
  EXPECT_FALSE(fs::exists(f.options.out)) << "a usage error must come before any output";

  ChatBuildOptions strict = f.options;
  strict.strict = true;
  EXPECT_NE(error_of([&] { build_chat_dataset(strict, {}); }).find("qa.jsonl:8"), std::string::npos);

  // A tokenizer without the chat tokens: an error unless add_chat_tokens.
  tok::TrainOptions t;
  t.vocab_size = 300;
  t.progress = false;
  tok::train_bpe_on_text("Hello there, how are you today? The number is 7.\n", t).save(f.dir + "/plain_tok");
  ChatBuildOptions plain = f.options;
  plain.tokenizer = f.dir + "/plain_tok";
  plain.max_len = 256;
  EXPECT_NE(error_of([&] { build_chat_dataset(plain, {}); }).find("--add-chat-tokens"), std::string::npos);
  plain.add_chat_tokens = true;
  const ChatBuildResult r = build_chat_dataset(plain, {});
  EXPECT_EQ(r.counts[0].read, 40u);
  EXPECT_TRUE(tok::Tokenizer::load(plain.out).special_token_id(tok::kImEnd).has_value());
}

TEST(ChatBuild, ChatModelParaphraserPromptsAndStops) {
  ChatBuildFixture f("model_paraphraser");
  auto tk = std::make_shared<const tok::Tokenizer>(tok::Tokenizer::load(f.dir + "/tok"));
  auto chat = std::make_shared<const tok::ChatFormat>(*tk);
  const tok::ChatFormat& format = *chat;
  std::vector<int32_t> seen_prompt, seen_stops;
  int seen_max = 0;
  std::vector<int32_t> answer = tk->encode("The number is 7.");
  const Paraphraser p = chat_model_paraphraser(
      tk, chat,
      [&](const std::vector<int32_t>& prompt, int max_new, const std::vector<int32_t>& stops) {
        seen_prompt = prompt;
        seen_max = max_new;
        seen_stops = stops;
        return answer;
      },
      "Be brief.");
  EXPECT_EQ(p("What is the number 1?"), "The number is 7.");
  const auto want = format.render({{"system", "Be brief."}, {"user", "What is the number 1?"}}, true).ids;
  EXPECT_EQ(seen_prompt, want);
  EXPECT_EQ(seen_max, static_cast<int>(2 * want.size() + 16));
  EXPECT_EQ(seen_stops, (std::vector<int32_t>{format.end_of_turn_id(), format.im_start_id(), tk->eot_id()}));
  answer.clear();  // an empty answer keeps the original
  EXPECT_EQ(p("Hello there"), "Hello there");
}
