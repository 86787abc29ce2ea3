// facts_match: every key fact, normalised like SQuAD answers (CJK-aware), inside the
// normalised prediction.
#include <gtest/gtest.h>

#include "eval/qa_metrics.h"

namespace chatforge::eval {
namespace {

TEST(FactsMatch, AllFactsMustAppear) {
  EXPECT_EQ(facts_match("Sure! The AeroBrew X2 costs $129.", {"$129"}), 1.0);
  EXPECT_EQ(facts_match("It costs $139.", {"$129"}), 0.0);
  EXPECT_EQ(facts_match("Black, white and RED.", {"black", "white", "red"}), 1.0);
  EXPECT_EQ(facts_match("Black and white.", {"black", "white", "red"}), 0.0);
  EXPECT_EQ(facts_match("anything", {}), 0.0);
  EXPECT_EQ(facts_match("It costs $1299.", {"$129"}), 0.0);  // whole numbers and words only
  EXPECT_EQ(facts_match("It costs $129 and $1299.", {"$129"}), 1.0);
  EXPECT_EQ(facts_match("Reddish.", {"red"}), 0.0);
  EXPECT_EQ(facts_match("售价是18990元", {"8990元"}), 0.0);
}

TEST(FactsMatch, NormalisesPunctuationArticlesAndCjk) {
  EXPECT_EQ(facts_match("It has a 2-year warranty!", {"2-year warranty"}), 1.0);
  EXPECT_EQ(facts_match("Visit help.nimbus-home.example today", {"help.nimbus-home.example"}), 1.0);
  EXPECT_EQ(facts_match("亲，AeroBrew X2的售价是899元。", {"899元"}), 1.0);
  EXPECT_EQ(facts_match("在登录页点击“忘记密码”。", {"忘记密码"}), 1.0);
  EXPECT_EQ(facts_match("售价是999元。", {"899元"}), 0.0);
}

}  // namespace
}  // namespace chatforge::eval
