// The demo's generated data: deterministic, held-out phrasings never leak into any training
// file, every answer states its own facts, planted bad records are present, and questions
// read naturally (capitalisation inside wrappers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "core/file_io.h"
#include "demo/demo_data.h"
#include "demo/freeform_questions.h"
#include "demo/held_out_guard.h"
#include "demo/reword.h"
#include "eval/qa_metrics.h"
#include "test_util.h"

namespace chatforge::demo {
namespace {

// A path that does not exist yet, in a fresh directory.
std::string demo_out_path(const std::string& name) { return testing::temp_dir("demo_data_" + name) + "/out"; }

DemoDataOptions small() {
  DemoDataOptions o;
  o.prose_docs_per_lang = 200;
  o.single_turn_per_lang = 300;
  o.multi_turn_per_lang = 100;
  o.off_topic_per_lang = 20;
  return o;
}

TEST(DemoData, SameSeedSameBytesOtherSeedOtherBytes) {
  const auto a = demo_out_path("a"), b = demo_out_path("b"), c = demo_out_path("c");
  write_demo_data(a, small());
  write_demo_data(b, small());
  DemoDataOptions other = small();
  other.seed = 7;
  write_demo_data(c, other);
  for (const char* f : {"/raw/docs.jsonl", "/chat/dialogues.jsonl", "/chat/kb_qa.jsonl", "/eval/heldout.jsonl",
                        "/eval/freeform.jsonl"}) {
    EXPECT_EQ(read_file(a + f), read_file(b + f)) << f;
  }
  EXPECT_NE(read_file(a + "/chat/dialogues.jsonl"), read_file(c + "/chat/dialogues.jsonl"));
}

TEST(DemoData, HeldOutPhrasingsNeverAppearInTrainingFiles) {
  const auto d = demo_out_path("leak");
  write_demo_data(d, small());
  const std::string training =
      read_file(d + "/raw/docs.jsonl") + read_file(d + "/chat/dialogues.jsonl") + read_file(d + "/chat/kb_qa.jsonl");
  // Every held-out phrasing, with each product name, is absent from every training file
  // (JSON-escaped as the files store it).
  int checked = 0;
  for (const Intent& it : intents())
    for (Lang l : {Lang::kEn, Lang::kZh})
      for (const auto& core : it.text(l).heldout)
        for (const auto& p : product_names(l)) {
          std::string q = render_question("", core, p, "");
          // Without an ASCII first letter, whose case depends on the wrapper before it.
          if (static_cast<unsigned char>(q[0]) < 0x80) q = q.substr(1);
          const std::string escaped = nlohmann::json(q).dump();
          EXPECT_EQ(training.find(escaped.substr(1, escaped.size() - 2)), std::string::npos) << q;
          ++checked;
        }
  EXPECT_GT(checked, 500);
  // And the held-out phrasings are not copies of training phrasings.
  for (const Intent& it : intents())
    for (Lang l : {Lang::kEn, Lang::kZh}) {
      const auto& t = it.text(l);
      for (const auto& h : t.heldout)
        for (const auto& q : t.questions) EXPECT_NE(h, q) << it.key;
    }
}

// The free-form and fresh questions are in no training file either: with the default
// (full-size) generator, so every phrasing, slot, frame, wrapper and follow-up form had its
// chance to produce one by accident. JSON-escaped as the files store them; an ASCII first
// letter is left out (its case depends on what precedes it).
TEST(DemoData, WrittenQuestionsNeverAppearInTrainingFiles) {
  const auto d = demo_out_path("freeform-leak");
  write_demo_data(d, DemoDataOptions{});
  const std::string training =
      read_file(d + "/raw/docs.jsonl") + read_file(d + "/chat/dialogues.jsonl") + read_file(d + "/chat/kb_qa.jsonl");
  for (const auto& [questions, file, per_intent, follow_per_intent] :
       {std::tuple{&freeform_questions(), "freeform", 8, 1}, std::tuple{&fresh_questions(), "fresh", 2, 0}}) {
    size_t checked = 0;
    for (const FreeformQuestion& f : *questions) {
      std::string q(f.question);
      if (static_cast<unsigned char>(q[0]) < 0x80) q = q.substr(1);
      const std::string escaped = nlohmann::json(q).dump();
      EXPECT_EQ(training.find(escaped.substr(1, escaped.size() - 2)), std::string::npos) << f.question;
      ++checked;
    }
    EXPECT_EQ(checked, intents().size() * 2 * per_intent);
    // And they are all in their evaluation file, with their intent's facts and, for a
    // follow-up, the earlier exchange before the question.
    std::istringstream in(read_file(d + "/eval/" + file + ".jsonl"));
    size_t items = 0, follow_ups = 0;
    for (std::string line; std::getline(in, line); ++items) {
      const auto j = nlohmann::json::parse(line);
      EXPECT_FALSE(j["facts"].empty());
      EXPECT_EQ(j["messages"].front()["role"], "system");
      EXPECT_EQ(j["messages"].back()["role"], "user");
      if (j["follow_up"].get<bool>()) {
        ++follow_ups;
        ASSERT_EQ(j["messages"].size(), 4u);
        EXPECT_EQ(j["messages"][2]["role"], "assistant");
      }
    }
    EXPECT_EQ(items, checked) << file;
    EXPECT_EQ(follow_ups, intents().size() * 2 * follow_per_intent) << file;
  }
}

// Every free-form question names an intent of the knowledge base, and each intent has
// eight per language, one of them a follow-up; the fresh set two, no follow-up.
TEST(DemoData, WrittenQuestionsCoverEveryIntent) {
  for (const auto& [questions, per_intent, follow_per_intent] :
       {std::tuple{&freeform_questions(), 8, 1}, std::tuple{&fresh_questions(), 2, 0}}) {
    for (const Intent& it : intents())
      for (Lang l : {Lang::kEn, Lang::kZh}) {
        int n = 0, follow = 0;
        for (const FreeformQuestion& f : *questions)
          if (f.key == it.key && f.lang == l) {
            ++n;
            follow += !f.prior_key.empty();
          }
        EXPECT_EQ(n, per_intent) << it.key << " " << lang_code(l);
        EXPECT_EQ(follow, follow_per_intent) << it.key << " " << lang_code(l);
      }
    for (const FreeformQuestion& f : *questions) {
      bool known = false, prior_known = f.prior_key.empty();
      for (const Intent& it : intents()) {
        known |= it.key == f.key;
        prior_known |= it.key == f.prior_key;
      }
      EXPECT_TRUE(known && prior_known) << f.question;
    }
  }
}

TEST(DemoData, EveryAnswerStatesItsFactsAndOnlyItsOwn) {
  for (const Intent& it : intents())
    for (Lang l : {Lang::kEn, Lang::kZh}) {
      const auto& t = it.text(l);
      ASSERT_FALSE(t.facts.empty()) << it.key;
      ASSERT_GE(t.heldout.size(), 2u) << it.key;
      ASSERT_GE(t.questions.size(), 4u) << it.key;
      std::vector<std::string> facts(t.facts.begin(), t.facts.end());
      EXPECT_EQ(eval::facts_match(t.answer, facts), 1.0) << it.key << " " << lang_code(l);
      // Another intent's answer does not accidentally satisfy these facts.
      for (const Intent& other : intents()) {
        if (other.key == it.key) continue;
        EXPECT_EQ(eval::facts_match(other.text(l).answer, facts), 0.0) << it.key << " vs " << other.key;
      }
    }
}

TEST(DemoData, EvalFilesAndPlantedBadRecords) {
  const auto d = demo_out_path("files");
  const DemoDataSummary s = write_demo_data(d, small());
  EXPECT_EQ(s.eval_items, intents().size() * 2 /*langs*/ * 2 /*phrasings*/ * 2 /*wrappers*/);
  std::istringstream in(read_file(d + "/eval/heldout.jsonl"));
  std::set<std::string> langs, ids;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    langs.insert(j["lang"].get<std::string>());
    EXPECT_TRUE(ids.insert(j["id"].get<std::string>()).second);
    EXPECT_EQ(j["messages"].back()["role"], "user");
    EXPECT_FALSE(j["facts"].empty());
  }
  EXPECT_EQ(langs, (std::set<std::string>{"en", "zh"}));
  EXPECT_EQ(s.planted_bad_records, 8u);
  EXPECT_GT(s.planted_pii, 0u);
  EXPECT_GT(s.planted_sensitive, 0u);
  EXPECT_GT(s.planted_noise_docs, 0u);
  const std::string dialogues = read_file(d + "/chat/dialogues.jsonl");
  EXPECT_NE(dialogues.find("\"customer\""), std::string::npos);  // the unknown role
}

TEST(DemoData, OneLanguageOnly) {
  const auto d = demo_out_path("zh");
  DemoDataOptions o = small();
  o.langs = {Lang::kZh};
  write_demo_data(d, o);
  EXPECT_EQ(read_file(d + "/eval/heldout.jsonl").find("\"lang\":\"en\""), std::string::npos);
  EXPECT_EQ(read_file(d + "/chat/dialogues.jsonl").find("AeroBrew X2 costs"), std::string::npos);
}

TEST(DemoData, QuestionsReadNaturally) {
  EXPECT_EQ(render_question("Hi, ", "How much does {p} cost?", "the X2", ""), "Hi, how much does the X2 cost?");
  EXPECT_EQ(render_question("", "{p} shows E1.", "the machine", " Thanks!"), "The machine shows E1. Thanks!");
  EXPECT_EQ(render_question("Excuse me, ", "I forgot my password.", "x", ""), "Excuse me, I forgot my password.");
  EXPECT_EQ(render_question("Quick question: ", "is it {p}?", "X2", ""), "Quick question: Is it X2?");
  EXPECT_EQ(render_question("你好，", "{p}多少钱？", "X2", "谢谢！"), "你好，X2多少钱？谢谢！");
  EXPECT_EQ(render_question("我想问一下，", "{p}多少钱？", "AeroBrew X2", ""), "我想问一下，AeroBrew X2多少钱？");
  EXPECT_EQ(render_question("Hi, ", "{p} shows E1.", "AeroBrew X2", ""), "Hi, AeroBrew X2 shows E1.");
  EXPECT_EQ(render_question("Hello! ", "{t}?", "x", ""), "Hello! {t}?");  // frames are filled before
  EXPECT_EQ(render_question("Oh, and ", "What about {p}?", "the X2", ""), "Oh, and what about the X2?");
  EXPECT_EQ(render_question("hey ", "Write me a note on {p}.", "the X2", ""), "hey write me a note on the X2.");
  EXPECT_EQ(render_question("So, ", "Wi-Fi setup fails.", "x", ""), "So, Wi-Fi setup fails.");
  EXPECT_EQ(render_question("Um, ", "I'm new to {p}.", "it", ""), "Um, I'm new to it.");
  EXPECT_EQ(render_question("Hi, ", "Nimbus Home app?", "x", ""), "Hi, Nimbus Home app?");
}

// Rewording (reword.h): whole words and phrases only, each swapped for a member of its own
// group, capitals kept, Chinese and p = 0 untouched, the same seed the same text.
TEST(DemoData, RewordSwapsWholePhrasesWithinTheirGroup) {
  Rng rng(3);
  const std::string q = "How much does the coffee maker cost? Customs costume.";
  EXPECT_EQ(reword(rng, Lang::kEn, q, 0.0), q);
  EXPECT_EQ(reword(rng, Lang::kZh, "咖啡机多少钱？", 1.0), "咖啡机多少钱？");
  const std::vector<std::string> makers = {"coffee maker", "coffee machine", "machine", "brewer", "appliance", "unit",
                                           "device"};
  const std::vector<std::string> costs = {"cost", "price", "charge"};
  std::set<std::string> seen;
  for (int i = 0; i < 300; ++i) {
    const std::string r = reword(rng, Lang::kEn, q, 1.0);
    ASSERT_TRUE(r.starts_with("How much does the ")) << r;
    ASSERT_TRUE(r.ends_with("? Customs costume.")) << r;  // "Customs" and "costume" are not "cost"
    const std::string mid = r.substr(18, r.size() - 18 - std::string("? Customs costume.").size());
    const size_t sp = mid.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << r;
    EXPECT_NE(std::find(makers.begin(), makers.end(), mid.substr(0, sp)), makers.end()) << r;
    EXPECT_NE(std::find(costs.begin(), costs.end(), mid.substr(sp + 1)), costs.end()) << r;
    seen.insert(mid);
  }
  EXPECT_GT(seen.size(), 15u);  // most of the 7 x 3 combinations
  Rng a(9), b(9);
  EXPECT_EQ(reword(a, Lang::kEn, "Cost of a refund?", 1.0), reword(b, Lang::kEn, "Cost of a refund?", 1.0));
  for (int i = 0; i < 50; ++i) {
    const std::string r = reword(rng, Lang::kEn, "Cost of a refund?", 1.0);
    EXPECT_TRUE(std::isupper(static_cast<unsigned char>(r[0]))) << r;
  }
}

// Fillers (reword.h): one phrase before the closing mark, or at the end where there is
// none; Chinese adverbs go in front; nothing else of the question changes.
TEST(DemoData, AddFillerInsertsOnePhraseAndKeepsTheQuestion) {
  Rng rng(5);
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string r = add_filler(rng, Lang::kEn, "How much is the X2?");
    ASSERT_TRUE(r.starts_with("How much is the X2 ")) << r;
    ASSERT_TRUE(r.ends_with("?")) << r;
    ASSERT_EQ(r.find('?'), r.size() - 1) << r;
    seen.insert(r);
    const std::string bare = add_filler(rng, Lang::kEn, "shipping cost");
    ASSERT_TRUE(bare.starts_with("shipping cost ")) << bare;
    const std::string zh = add_filler(rng, Lang::kZh, "X2多少钱？");
    ASSERT_TRUE(zh.find("X2多少钱") != std::string::npos && zh.ends_with("？") && zh.size() > std::string("X2多少钱？").size())
        << zh;
  }
  EXPECT_GT(seen.size(), 8u);
  Rng a(9), b(9);
  EXPECT_EQ(add_filler(a, Lang::kEn, "Is it red?"), add_filler(b, Lang::kEn, "Is it red?"));
}

// Near misses (knowledge_base.h): the everyday remarks before a training question never
// contain a held-out refusal request, and some training questions do start with one.
TEST(DemoData, EverydayRemarksPrecedeSomeTrainingQuestionsAndLeakNoRefusal) {
  for (Lang l : {Lang::kEn, Lang::kZh})
    for (std::string_view remark : everyday_remarks(l))
      for (std::string_view req : off_topic_heldout(l)) EXPECT_EQ(std::string(remark).find(req), std::string::npos);
  const auto d = demo_out_path("remarks");
  write_demo_data(d, small());
  // Compared in lower case: casual questions are lower-cased.
  const auto lower = [](std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
  };
  const std::string dialogues = lower(read_file(d + "/chat/dialogues.jsonl"));
  for (Lang l : {Lang::kEn, Lang::kZh}) {
    int found = 0;
    for (std::string_view remark : everyday_remarks(l))
      found += dialogues.find(lower(remark.substr(0, remark.size() - (l == Lang::kEn ? 1 : 3)))) != std::string::npos;  // less " " or "，"
    EXPECT_GT(found, 5) << lang_code(l);
  }
}

// Slots (knowledge_base.h) are filled in every training file, with values of their own
// list; off-topic requests come from the fixed list and from frames around subjects, and
// none contains a held-out refusal request.
TEST(DemoData, SlotsAreFilledAndOffTopicRequestsVary) {
  const auto d = demo_out_path("slots");
  write_demo_data(d, small());
  const std::string training =
      read_file(d + "/raw/docs.jsonl") + read_file(d + "/chat/dialogues.jsonl") + read_file(d + "/chat/kb_qa.jsonl");
  for (const char* slot : {"{amount}", "{color}", "{place}", "{day}", "{card}", "{n}", "{s}"})
    EXPECT_EQ(training.find(slot), std::string::npos) << slot;
  EXPECT_TRUE(slot_values(Lang::kEn, "nope").empty());
  int places = 0;
  for (std::string_view v : slot_values(Lang::kEn, "place")) places += training.find(v) != std::string::npos;
  EXPECT_GT(places, 2);
  const std::string dialogues = read_file(d + "/chat/dialogues.jsonl");
  int subjects = 0;
  for (Lang l : {Lang::kEn, Lang::kZh}) {
    for (std::string_view subject : off_topic_subjects(l)) subjects += dialogues.find(subject) != std::string::npos;
    for (std::string_view req : off_topic_heldout(l))
      EXPECT_EQ(dialogues.find(std::string(req).substr(1)), std::string::npos) << req;
  }
  EXPECT_GT(subjects, 10);
}

// The guard that keeps evaluation questions out of training (held_out_guard.h) finds a
// forbidden text anywhere in a question, whatever its length, and nothing else.
TEST(DemoData, HeldOutGuardFindsForbiddenTextsInsideQuestions) {
  const HeldOutGuard g({"ow long is the warranty?", "退货", "s it red"});
  EXPECT_TRUE(g.leaks("Hi, how long is the warranty? Thanks"));
  EXPECT_TRUE(g.leaks("我想退货"));
  EXPECT_TRUE(g.leaks("Is it red"));
  EXPECT_FALSE(g.leaks("How long is shipping?"));
  EXPECT_FALSE(g.leaks("Is it blue?"));
  EXPECT_FALSE(g.leaks(""));
  // The real one holds every template held-out phrasing per product name and every
  // free-form and fresh question.
  const HeldOutGuard& real = HeldOutGuard::instance();
  EXPECT_GE(real.size(), freeform_questions().size() + fresh_questions().size() + intents().size() * 2);
  for (const auto* set : {&freeform_questions(), &fresh_questions()})
    for (const FreeformQuestion& f : *set) EXPECT_TRUE(real.leaks(std::string(f.question))) << f.question;
}

}  // namespace
}  // namespace chatforge::demo
