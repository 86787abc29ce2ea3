// Counterfactual term swaps (whole words, case, CJK, both directions in one pass) and the
// per-pair change report on probes whose effect is known by construction.
#include <gtest/gtest.h>

#include "core/error.h"
#include "eval/counterfactual.h"

using namespace chatforge::eval;

TEST(EvalCounterfactual, SwapsBothWaysInOnePass) {
  const std::vector<TermPair> pairs{{"he", "she"}, {"他", "她"}, {"John", "Mary"}, {"his", "her"}};
  const SwapResult r = swap_terms("He said she was 他的朋友; HE and John's hat, the theme.", pairs);
  EXPECT_EQ(r.text, "She said he was 她的朋友; SHE and Mary's hat, the theme.");
  EXPECT_EQ(r.swaps, 5u);
  EXPECT_EQ(r.pairs_used, (std::vector<size_t>{0, 1, 2}));
  // Whole words only for Latin terms; swapping twice restores the text.
  EXPECT_EQ(swap_terms("shepherd hehe", pairs).text, "shepherd hehe");
  const std::string s = "Her book, his pen. 她说他来了";
  EXPECT_EQ(swap_terms(swap_terms(s, pairs).text, pairs).text, s);
}

TEST(EvalCounterfactual, PerPairChanges) {
  const std::vector<TermPair> pairs{{"he", "she"}, {"他", "她"}};
  std::vector<CounterfactualItem> items = {
      // he/she: the swapped output is the mirror image -> unchanged (F1 1)
      {"he is a doctor", "he treats patients", "she treats patients", -10.0, -12.0},
      // he/she: the output changes completely -> F1 0
      {"she is a nurse", "she helps", "builds bridges", -8.0, -8.5},
      // 他/她: unchanged
      {"他是谁", "他是医生", "她是医生", -5.0, -5.0},
      // no term: not counted
      {"what is 2+2", "4", "5", -1.0, -9.0},
  };
  const auto changes = counterfactual_changes(items, pairs, BootstrapOptions{});
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].pair, "all");
  EXPECT_EQ(changes[0].items, 3u);
  EXPECT_NEAR(changes[0].changed_rate, 1.0 / 3, 1e-12);
  EXPECT_NEAR(changes[0].mean_output_f1, 2.0 / 3, 1e-12);
  // loglik diffs (swapped - original): -2, -0.5, 0 -> mean -2.5/3
  ASSERT_TRUE(changes[0].mean_loglik_diff.has_value());
  EXPECT_NEAR(*changes[0].mean_loglik_diff, -2.5 / 3, 1e-12);
  EXPECT_EQ(changes[1].pair, "he/she");
  EXPECT_EQ(changes[1].items, 2u);
  EXPECT_DOUBLE_EQ(changes[1].changed_rate, 0.5);
  EXPECT_NEAR(*changes[1].mean_loglik_diff, -1.25, 1e-12);
  EXPECT_EQ(changes[2].pair, "他/她");
  EXPECT_DOUBLE_EQ(changes[2].changed_rate, 0.0);
  EXPECT_DOUBLE_EQ(changes[2].mean_output_f1, 1.0);
  EXPECT_THROW(counterfactual_changes({items[3]}, pairs, BootstrapOptions{}), chatforge::Error);
}
