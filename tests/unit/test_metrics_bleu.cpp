// BLEU and sacreBLEU's tokenizers on vectors computed by hand from the published
// definitions (the arithmetic is in the comments). tests/scripts/metrics_reference.sh
// checks the same code against NLTK on random corpora.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/bleu.h"

using namespace chatforge::eval;
using Tokens = std::vector<std::string>;

TEST(MetricsBleu, Tokenize13aFollowsMteval) {
  // Punctuation split off, apostrophe kept, decimal point kept, dash after a digit split.
  EXPECT_EQ(tokenize_13a("Hello, world! It's 3.5-4."),
            (Tokens{"Hello", ",", "world", "!", "It's", "3.5", "-", "4", "."}));
  // HTML entities are unescaped first.
  EXPECT_EQ(tokenize_13a("a &amp; b &lt;c&gt; &quot;q&quot;"), (Tokens{"a", "&", "b", "<", "c", ">", "\"", "q", "\""}));
  // Period/comma between digits stay; "U.S.A." splits at every period; dashes between
  // letters stay; <skipped> disappears.
  EXPECT_EQ(tokenize_13a("1,000.50 dollars."), (Tokens{"1,000.50", "dollars", "."}));
  EXPECT_EQ(tokenize_13a("U.S.A. e-mail x-1"), (Tokens{"U", ".", "S", ".", "A", ".", "e-mail", "x-1"}));
  EXPECT_EQ(tokenize_13a("<skipped> ok..."), (Tokens{"ok", ".", ".", "."}));
  EXPECT_EQ(tokenize_13a("(a)[b]{c}/d\\e"),
            (Tokens{"(", "a", ")", "[", "b", "]", "{", "c", "}", "/", "d", "\\", "e"}));
  // Unicode whitespace separates tokens, as Python's str.split() does.
  EXPECT_EQ(tokenize_13a("a\u3000b\u00a0c"), (Tokens{"a", "b", "c"}));
  EXPECT_TRUE(tokenize_13a("").empty());
}

TEST(MetricsBleu, TokenizeZhSplitsChineseCharacters) {
  EXPECT_EQ(tokenize_zh("我爱NLP。"), (Tokens{"我", "爱", "NLP", "。"}));
  EXPECT_EQ(tokenize_zh("你好，world!"), (Tokens{"你", "好", "，", "world", "!"}));
  // sacreBLEU's range '\u20000'..'\u2a6d6' really is U+2001..U+2A6D: an em dash (U+2014)
  // is split off, while the Extension B ideograph U+20000 is not.
  EXPECT_EQ(tokenize_zh("a\u2014b"), (Tokens{"a", "\u2014", "b"}));
  EXPECT_EQ(tokenize_zh("a\U00020000b"), (Tokens{"a\U00020000b"}));
  EXPECT_TRUE(is_sacrebleu_zh_char(0x2001));
  EXPECT_FALSE(is_sacrebleu_zh_char(0x2000));
  EXPECT_TRUE(is_sacrebleu_zh_char(0x2A6D));
  EXPECT_FALSE(is_sacrebleu_zh_char(0x2A6E));
}

TEST(MetricsBleu, TokenizeCharAndNone) {
  EXPECT_EQ(tokenize_char("ab c中"), (Tokens{"a", "b", "c", "中"}));
  EXPECT_EQ(bleu_tokenize(BleuTokenizer::kNone, " a  b,c "), (Tokens{"a", "b,c"}));
  EXPECT_THROW(parse_bleu_tokenizer("moses"), chatforge::UsageError);
}

TEST(MetricsBleu, ClosestReferenceLengthTiesToShorter) {
  EXPECT_EQ(closest_ref_len(5, {3, 7, 6}), 6);
  EXPECT_EQ(closest_ref_len(5, {4, 6}), 4);
  EXPECT_EQ(closest_ref_len(5, {6, 4}), 4);
  EXPECT_EQ(closest_ref_len(2, {9}), 9);
}

// hyp "the cat sat on the mat" vs ref "the cat is on the mat" (6 tokens each, BP = 1):
//   1-grams: the x2, cat, on, mat match -> 5/6
//   2-grams: "the cat", "on the", "the mat" -> 3/5
//   3-grams: "on the mat" -> 1/4
//   4-grams: none -> 0/3
TEST(MetricsBleu, CorpusBleuSmoothingMethods) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  const std::vector<std::string> hyp{"the cat sat on the mat"};
  const std::vector<std::vector<std::string>> refs{{"the cat is on the mat"}};

  // exp: the first zero count gets 1/(2 * total): p4 = 1/6.
  // BLEU = (5/6 * 3/5 * 1/4 * 1/6)^(1/4) = (1/48)^(1/4) = 0.379918...
  BleuScore s = BleuScorer(o).corpus_score(hyp, refs);
  EXPECT_NEAR(s.score, 100 * std::pow(1.0 / 48, 0.25), 1e-9);
  EXPECT_NEAR(s.precisions[0], 100 * 5.0 / 6, 1e-9);
  EXPECT_NEAR(s.precisions[3], 100 * 1.0 / 6, 1e-9);
  EXPECT_EQ(s.stats.correct, (std::vector<int64_t>{5, 3, 1, 0}));
  EXPECT_EQ(s.stats.total, (std::vector<int64_t>{6, 5, 4, 3}));
  EXPECT_DOUBLE_EQ(s.bp, 1.0);

  // floor 0.1: p4 = 0.1/3 -> (5/6 * 3/5 * 1/4 * 1/30)^(1/4) = (1/240)^(1/4)
  o.smooth = BleuSmooth::kFloor;
  EXPECT_NEAR(BleuScorer(o).corpus_score(hyp, refs).score, 100 * std::pow(1.0 / 240, 0.25), 1e-9);

  // add-k 1 on n > 1: 5/6, 4/6, 2/5, 1/4 -> product 1/18
  o.smooth = BleuSmooth::kAddK;
  EXPECT_NEAR(BleuScorer(o).corpus_score(hyp, refs).score, 100 * std::pow(1.0 / 18, 0.25), 1e-9);

  // none: log(0) is -9999999999 -> 0
  o.smooth = BleuSmooth::kNone;
  EXPECT_NEAR(BleuScorer(o).corpus_score(hyp, refs).score, 0.0, 1e-12);
}

// hyp "the cat" (2) vs ref "the cat sat on the mat" (6):
//   p1 = 2/2, p2 = 1/1, no 3-grams -> corpus BLEU stops at n = 3 and scores 0;
//   sentence BLEU (effective order 2) = exp(1 - 6/2) * (1 * 1)^(1/2) = e^-2 = 0.135335
TEST(MetricsBleu, BrevityPenaltyAndEffectiveOrder) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  const BleuScorer scorer(o);
  const BleuScore corpus = scorer.corpus_score({"the cat"}, {{"the cat sat on the mat"}});
  EXPECT_NEAR(corpus.bp, std::exp(-2.0), 1e-12);
  EXPECT_DOUBLE_EQ(corpus.score, 0.0);
  const BleuScore sent = scorer.sentence_score("the cat", {"the cat sat on the mat"});
  EXPECT_NEAR(sent.score, 100 * std::exp(-2.0), 1e-9);
  // No hypothesis words at all: BP 0, score 0.
  EXPECT_DOUBLE_EQ(scorer.corpus_score({""}, {{"a b c d"}}).score, 0.0);
}

// Several references: counts are clipped by the maximum count in any one reference and
// the brevity penalty uses the closest length.
//   hyp "the the the the" vs refs "the cat" / "the the dog": max count of "the" = 2 -> p1 = 2/4
//   ref lengths 2 and 3, hyp 4 -> closest 3 -> BP 1
TEST(MetricsBleu, MultipleReferencesClipAndChooseClosestLength) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  const BleuStats st = BleuScorer(o).segment_stats("the the the the", {"the cat", "the the dog"});
  EXPECT_EQ(st.correct[0], 2);
  EXPECT_EQ(st.total[0], 4);
  EXPECT_EQ(st.correct[1], 1);  // "the the" occurs once in ref 2
  EXPECT_EQ(st.ref_len, 3);
  // An empty reference string means "no reference here" (it is skipped), as in sacreBLEU.
  const BleuStats st2 = BleuScorer(o).segment_stats("a b", {"", "a b"});
  EXPECT_EQ(st2.ref_len, 2);
  EXPECT_THROW(BleuScorer(o).segment_stats("a b", {"", ""}), chatforge::Error);
}

TEST(MetricsBleu, CorpusStatisticsAddUp) {
  // Corpus BLEU is computed from summed statistics, not by averaging segment scores.
  BleuOptions o;
  const BleuScorer scorer(o);
  std::vector<BleuStats> per;
  const std::vector<std::string> hyps{"The cat sat on the mat.", "A dog ran in the park today."};
  const std::vector<std::vector<std::string>> refs{{"The cat is on the mat.", "A dog runs in the park."}};
  const BleuScore all = scorer.corpus_score(hyps, refs, &per);
  ASSERT_EQ(per.size(), 2u);
  BleuStats sum = per[0];
  sum += per[1];
  EXPECT_DOUBLE_EQ(scorer.score(sum).score, all.score);
  EXPECT_EQ(sum.hyp_len, 7 + 8);  // "." is a token
}

TEST(MetricsBleu, LowercaseOption) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  EXPECT_LT(BleuScorer(o).corpus_score({"THE CAT SAT ON"}, {{"the cat sat on"}}).score, 1e-9);
  o.lowercase = true;
  EXPECT_NEAR(BleuScorer(o).corpus_score({"THE CAT SAT ON"}, {{"the cat sat on"}}).score, 100.0, 1e-9);
}

TEST(MetricsBleu, SignatureAndFormatLikeSacrebleu) {
  BleuOptions o;
  EXPECT_EQ(BleuScorer(o).signature(1), "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.4.3");
  o.lowercase = true;
  o.tokenizer = BleuTokenizer::kZh;
  o.smooth = BleuSmooth::kFloor;
  EXPECT_EQ(BleuScorer(o).signature(-1), "nrefs:var|case:lc|eff:no|tok:zh|smooth:floor[0.10]|version:2.4.3");
  BleuOptions n;
  n.tokenizer = BleuTokenizer::kNone;
  const BleuScore s = BleuScorer(n).corpus_score({"the cat sat on the mat"}, {{"the cat is on the mat"}});
  EXPECT_EQ(s.format(2), "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)");
}

TEST(MetricsBleu, MismatchedStreamsAreErrors) {
  const BleuScorer scorer{BleuOptions{}};
  EXPECT_THROW(scorer.corpus_score({"a", "b"}, {{"a"}}), chatforge::Error);
  try {
    scorer.corpus_score({"a", "b"}, {{"a", ""}});
    FAIL() << "expected an error";
  } catch (const chatforge::Error& e) {
    EXPECT_NE(std::string(e.what()).find("segment 2"), std::string::npos) << e.what();
  }
}
