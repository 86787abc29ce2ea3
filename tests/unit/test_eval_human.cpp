// Human-evaluation kit round trip: a kit is written, synthetic raters fill it in from
// known preferences (A better on some items, ties, B better on others), and scoring the
// ratings with the hidden key gives back exactly those win/tie/loss rates.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "core/file_io.h"
#include "eval/human_kit.h"
#include "eval/report_html.h"
#include "test_util.h"

using namespace chatforge::eval;

namespace {
std::string kit_dir(const std::string& name) { return chatforge::testing::temp_dir("eval_human_" + name); }

std::vector<KitItem> make_kit_items(int n) {
  std::vector<KitItem> items;
  for (int i = 0; i < n; ++i) {
    items.push_back({fmt::format("q{}", i), fmt::format("Question {}, with \"quotes\"\nand a newline", i),
                     fmt::format("answer A{}", i), fmt::format("answer B{} <b>bold?</b>", i)});
  }
  return items;
}

// The true preference of a synthetic rater for item i: 0 = A better, 1 = tie, 2 = B better.
int truth(int i, int rater) {
  if (rater == 1 && i % 5 == 0) return 1;  // rater 1 sometimes calls a tie where rater 0 does not
  return i % 4 == 0 ? 1 : (i % 4 == 3 ? 2 : 0);
}
}  // namespace

TEST(EvalHuman, KitIsBlindedShuffledAndComplete) {
  const std::string dir = kit_dir("kit1");
  const auto items = make_kit_items(40);
  const KitKey key = write_human_kit(items, dir, KitOptions{});
  ASSERT_EQ(key.items.size(), 40u);
  std::set<std::string> ids;
  int a_first = 0, moved = 0;
  for (size_t i = 0; i < key.items.size(); ++i) {
    ids.insert(key.items[i].id);
    a_first += key.items[i].a_first;
    moved += key.items[i].id != items[i].id;
  }
  EXPECT_EQ(ids.size(), 40u);           // every item exactly once
  EXPECT_GT(moved, 30);                 // shuffled
  EXPECT_GT(a_first, 8);                // both sides used for A
  EXPECT_LT(a_first, 32);
  const std::string html = chatforge::read_file(dir + "/sheet.html");
  EXPECT_EQ(html.find("model_a"), std::string::npos);  // no key in the sheet
  EXPECT_NE(html.find("answer B7 &lt;b&gt;bold?&lt;/b&gt;"), std::string::npos);  // escaped
  EXPECT_NE(html.find("type=\"radio\""), std::string::npos);
  const CsvTable csv = parse_csv(chatforge::read_file(dir + "/sheet.csv"), "sheet.csv");
  EXPECT_EQ(csv.header, (std::vector<std::string>{"item_id", "prompt", "answer_1", "answer_2", "preference"}));
  ASSERT_EQ(csv.rows.size(), 40u);
  EXPECT_EQ(csv.rows[0][1].find("Question"), 0u);  // quotes and newline survive the CSV round trip
  EXPECT_NE(csv.rows[0][1].find("\"quotes\"\nand"), std::string::npos);
  // Same seed, same kit; the key read back equals the one returned.
  const KitKey again = read_kit_key(dir);
  ASSERT_EQ(again.items.size(), key.items.size());
  for (size_t i = 0; i < key.items.size(); ++i) {
    EXPECT_EQ(again.items[i].id, key.items[i].id);
    EXPECT_EQ(again.items[i].a_first, key.items[i].a_first);
  }
}

TEST(EvalHuman, RoundTripGivesTheSyntheticWinRates) {
  const std::string dir = kit_dir("kit2");
  const int n = 40;
  const KitKey key = write_human_kit(make_kit_items(n), dir, KitOptions{7, "base", "tuned", "t"});
  // Raters answer in "shown" terms (1 / 2 / tie), translating their true preference
  // through the side on which each system landed.
  std::string csv = "rater,item_id,preference\n";
  int a = 0, t = 0, b = 0;
  for (int rater = 0; rater < 2; ++rater) {
    for (const auto& e : key.items) {
      const int i = std::stoi(e.id.substr(1));
      const int pref = truth(i, rater);
      std::string shown = pref == 1 ? "tie" : ((pref == 0) == e.a_first ? "1" : "2");
      csv += fmt::format("r{},{},{}\n", rater, e.id, shown);
      a += pref == 0, t += pref == 1, b += pref == 2;
    }
  }
  chatforge::write_file_atomic(dir + "/ratings.csv", csv);
  const HumanScore s = score_human_ratings(key, {dir + "/ratings.csv"}, BootstrapOptions{});
  EXPECT_EQ(s.name_a, "base");
  EXPECT_EQ(s.ratings, 80u);
  EXPECT_EQ(s.items_rated, 40u);
  EXPECT_EQ(s.a_wins, static_cast<size_t>(a));
  EXPECT_EQ(s.ties, static_cast<size_t>(t));
  EXPECT_EQ(s.b_wins, static_cast<size_t>(b));
  // i % 4: 1,2 -> A (20 items), 0 -> tie (10), 3 -> B (10). Rater 1 also calls a tie on
  // i % 5 == 0: items 5, 10, 25, 30 (A) and 15, 35 (B); 0 and 20 are ties already.
  //   A wins 20 + 16 = 36, B wins 10 + 8 = 18, ties 80 - 54 = 26
  EXPECT_EQ(a, 36);
  EXPECT_EQ(b, 18);
  EXPECT_DOUBLE_EQ(s.a_win.rate, 36.0 / 80);
  EXPECT_DOUBLE_EQ(s.tie.rate, 26.0 / 80);
  EXPECT_DOUBLE_EQ(s.b_win.rate, 18.0 / 80);
  EXPECT_TRUE(s.a_win.ci.contains(s.a_win.rate));
  EXPECT_GT(s.a_win.ci.hi - s.a_win.ci.lo, 0.1);
  // Agreement: the raters differ on 6 of 40 items.
  //   Cohen: po = 34/40 = 0.85; rater 0: A 20, tie 10, B 10; rater 1: A 16, tie 16, B 8
  //   pe = (20*16 + 10*16 + 10*8) / 1600 = 0.35; kappa = 0.5 / 0.65
  ASSERT_TRUE(s.cohen_kappa.has_value());
  EXPECT_NEAR(*s.cohen_kappa, 0.5 / 0.65, 1e-12);
  ASSERT_TRUE(s.fleiss_kappa.has_value());
  ASSERT_TRUE(s.krippendorff_alpha.has_value());
  EXPECT_GT(*s.krippendorff_alpha, 0.7);
}

TEST(EvalHuman, BadRatingsAreErrorsNamingFileAndLine) {
  const std::string dir = kit_dir("kit3");
  const KitKey key = write_human_kit(make_kit_items(3), dir, KitOptions{});
  auto expect_error = [&](const std::string& csv, const std::string& needle) {
    chatforge::write_file_atomic(dir + "/bad.csv", csv);
    try {
      score_human_ratings(key, {dir + "/bad.csv"}, BootstrapOptions{});
      ADD_FAILURE() << "expected an error for: " << csv;
    } catch (const chatforge::Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error("rater,item_id,preference\nr,q0,1\nr,zz,2\n", "bad.csv:3: item_id 'zz' is not in the kit");
  expect_error("rater,item_id,preference\nr,q0,maybe\n", "bad.csv:2: preference 'maybe'");
  expect_error("rater,item_id,preference\nr,q0,1\nr,q0,2\n", "rated item 'q0' twice");
  expect_error("rater,item,preference\nr,q0,1\n", "missing column 'item_id'");
  expect_error("rater,item_id,preference\nr,q0\n", "bad.csv:2: 2 fields, but the header has 3");
  expect_error("rater,item_id,preference\nr,q0,\n", "no ratings found");
}

TEST(EvalReport, HtmlTablesAndSvgBars) {
  HtmlReport rep("Report <1>");
  rep.table({"metric", "value"}, {{"bleu", "12.5"}, {"a&b", "<x>"}});
  rep.bar_chart("by group", {{"he", 40, 35, 45}, {"she", 30, 25, 36}, {"<they>", 35, std::nullopt, std::nullopt}});
  const std::string html = rep.html();
  EXPECT_NE(html.find("<title>Report &lt;1&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<td>a&amp;b</td><td>&lt;x&gt;</td>"), std::string::npos);
  size_t rects = 0, pos = 0;
  while ((pos = html.find("<rect", pos)) != std::string::npos) ++rects, ++pos;
  EXPECT_EQ(rects, 3u);
  size_t whiskers = 0;
  pos = 0;
  while ((pos = html.find("<g stroke=", pos)) != std::string::npos) ++whiskers, ++pos;
  EXPECT_EQ(whiskers, 2u);  // the third bar has no interval
  EXPECT_NE(html.find("&lt;they&gt;"), std::string::npos);
}
