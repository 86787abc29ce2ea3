// ROUGE, the Porter stemmer and SQuAD EM/F1 on vectors computed by hand (arithmetic in
// the comments). The script test compares against NLTK and Python implementations.
#include <gtest/gtest.h>

#include "eval/porter_stemmer.h"
#include "eval/qa_metrics.h"
#include "eval/rouge.h"

using namespace chatforge::eval;
using Tokens = std::vector<std::string>;

TEST(MetricsRouge, TokenizerMatchesRougeScoreAndKeepsCjk) {
  const RougeOptions plain{false, false};
  EXPECT_EQ(rouge_tokenize("The cat's 2 hats!", plain), (Tokens{"the", "cat", "s", "2", "hats"}));
  EXPECT_EQ(rouge_tokenize("我爱 NLP", plain), (Tokens{"nlp"}));  // rouge-score drops CJK
  const RougeOptions cjk{false, true};
  EXPECT_EQ(rouge_tokenize("我爱 NLP", cjk), (Tokens{"我", "爱", "nlp"}));
  EXPECT_EQ(rouge_tokenize("日本語とカタカナ、한국어", cjk),
            (Tokens{"日", "本", "語", "と", "カ", "タ", "カ", "ナ", "한", "국", "어"}));
  // Stemming applies only to tokens longer than 3 characters.
  const RougeOptions stem{true, true};
  EXPECT_EQ(rouge_tokenize("running cats ran dogs", stem), (Tokens{"run", "cat", "ran", "dog"}));
}

// target "the cat sat on the mat" (6), prediction "the cat on the mat" (5)
//   ROUGE-1: overlap 5 -> P 5/5, R 5/6, F 10/11
//   ROUGE-2: target bigrams 5, prediction 4, overlap {the cat, on the, the mat} = 3 -> P 3/4, R 3/5, F 2/3
//   ROUGE-L: LCS "the cat on the mat" = 5 -> P 1, R 5/6, F 10/11
TEST(MetricsRouge, RougeNAndL) {
  const Tokens t{"the", "cat", "sat", "on", "the", "mat"}, p{"the", "cat", "on", "the", "mat"};
  RougeScore r1 = rouge_n(t, p, 1);
  EXPECT_DOUBLE_EQ(r1.precision, 1.0);
  EXPECT_DOUBLE_EQ(r1.recall, 5.0 / 6);
  EXPECT_NEAR(r1.fmeasure, 10.0 / 11, 1e-12);
  RougeScore r2 = rouge_n(t, p, 2);
  EXPECT_DOUBLE_EQ(r2.precision, 0.75);
  EXPECT_DOUBLE_EQ(r2.recall, 0.6);
  EXPECT_NEAR(r2.fmeasure, 2.0 / 3, 1e-12);
  RougeScore rl = rouge_l(t, p);
  EXPECT_DOUBLE_EQ(rl.precision, 1.0);
  EXPECT_NEAR(rl.fmeasure, 10.0 / 11, 1e-12);
  // Empty sides score 0 (no division by zero).
  EXPECT_DOUBLE_EQ(rouge_l({}, p).fmeasure, 0.0);
  EXPECT_DOUBLE_EQ(rouge_n(t, {}, 1).fmeasure, 0.0);
}

// Lin (2004)'s summary-level example: reference sentence r = w1 w2 w3 w4 w5, candidate
// sentences c1 = w1 w2 w6 w7 w8 and c2 = w1 w3 w8 w9 w5.
//   LCS(r, c1) = w1 w2, LCS(r, c2) = w1 w3 w5; union = w1 w2 w3 w5 -> 4 hits
//   R = 4/5, P = 4/10 (candidate has 10 tokens), F = 2 * 0.32 / 1.2 = 0.5333...
TEST(MetricsRouge, RougeLsumUnionLcs) {
  const std::vector<Tokens> ref{{"a", "b", "c", "d", "e"}};
  const std::vector<Tokens> cand{{"a", "b", "f", "g", "h"}, {"a", "c", "h", "i", "e"}};
  const RougeScore s = rouge_lsum(ref, cand);
  EXPECT_DOUBLE_EQ(s.recall, 0.8);
  EXPECT_DOUBLE_EQ(s.precision, 0.4);
  EXPECT_NEAR(s.fmeasure, 0.64 / 1.2, 1e-12);
  EXPECT_EQ(lcs_indices(ref[0], cand[1]), (std::vector<size_t>{0, 2, 4}));
  // Through text: sentences are split at newlines.
  const RougeResult r = rouge_score({"a b c d e"}, "a b f g h\na c h i e", RougeOptions{false, false});
  EXPECT_NEAR(r.rougeLsum.fmeasure, 0.64 / 1.2, 1e-12);
}

TEST(MetricsRouge, MultipleReferencesTakeBestF) {
  // ref 1 shares one of two words, ref 2 both: every type takes ref 2.
  const RougeResult r = rouge_score({"x cat", "the cat"}, "the cat", RougeOptions{});
  EXPECT_DOUBLE_EQ(r.rouge1.fmeasure, 1.0);
  EXPECT_DOUBLE_EQ(r.rouge2.fmeasure, 1.0);
  EXPECT_DOUBLE_EQ(r.rougeL.fmeasure, 1.0);
}

TEST(MetricsPorter, ExamplesFromThePaperAndNltk) {
  // Porter (1980)'s examples, step by step.
  EXPECT_EQ(porter_stem("caresses"), "caress");
  EXPECT_EQ(porter_stem("ponies"), "poni");
  EXPECT_EQ(porter_stem("cats"), "cat");
  EXPECT_EQ(porter_stem("agreed"), "agre");
  EXPECT_EQ(porter_stem("plastered"), "plaster");
  EXPECT_EQ(porter_stem("motoring"), "motor");
  EXPECT_EQ(porter_stem("hopping"), "hop");
  EXPECT_EQ(porter_stem("filing"), "file");
  EXPECT_EQ(porter_stem("relational"), "relat");
  EXPECT_EQ(porter_stem("generalization"), "gener");
  EXPECT_EQ(porter_stem("controll"), "control");
  // NLTK's extensions vs the original algorithm.
  EXPECT_EQ(porter_stem("dying"), "die");
  EXPECT_EQ(porter_stem("dying", PorterMode::kOriginal), "dy");
  EXPECT_EQ(porter_stem("ties"), "tie");
  EXPECT_EQ(porter_stem("ties", PorterMode::kOriginal), "ti");
  EXPECT_EQ(porter_stem("enjoy"), "enjoy");
  EXPECT_EQ(porter_stem("happy"), "happi");
  EXPECT_EQ(porter_stem("is"), "is");
  EXPECT_EQ(porter_stem("is", PorterMode::kOriginal), "i");
}

TEST(MetricsQa, SquadNormalisation) {
  EXPECT_EQ(normalize_answer("The  Eiffel-Tower!"), "eiffeltower");
  EXPECT_EQ(normalize_answer("an apple a day"), "apple day");
  EXPECT_EQ(normalize_answer("theatre"), "theatre");  // articles only as whole words
  EXPECT_EQ(normalize_answer("“巴黎”，法国。"), "巴 黎 法 国");
  EXPECT_EQ(normalize_answer("“巴黎”", QaOptions{false}), "“巴黎”");  // SQuAD: ASCII punctuation only
}

// token F1: "the cat sat" -> {cat, sat}; "a cat sat down" -> {cat, sat, down}
//   overlap 2 -> P 1, R 2/3, F1 = 2 * (2/3) / (5/3) = 0.8
// CJK: "巴黎铁塔" {巴 黎 铁 塔} vs "埃菲尔铁塔" {埃 菲 尔 铁 塔}: overlap 2 -> P 1/2, R 2/5,
//   F1 = 2 * 0.2 / 0.9 = 0.444...
TEST(MetricsQa, ExactMatchAndF1) {
  EXPECT_DOUBLE_EQ(token_f1("the cat sat", "a cat sat down"), 0.8);
  EXPECT_DOUBLE_EQ(exact_match("The Cat.", "cat"), 1.0);
  EXPECT_DOUBLE_EQ(exact_match("cats", "cat"), 0.0);
  EXPECT_NEAR(token_f1("巴黎铁塔", "埃菲尔铁塔"), 0.4 / 0.9, 1e-12);
  EXPECT_DOUBLE_EQ(token_f1("巴黎铁塔", "埃菲尔铁塔", QaOptions{false}), 0.0);
  const QaScore s = qa_score("Paris", {"London", "paris!"});
  EXPECT_DOUBLE_EQ(s.exact_match, 1.0);
  EXPECT_DOUBLE_EQ(s.f1, 1.0);
  EXPECT_DOUBLE_EQ(token_f1("", "x"), 0.0);
}

// The small expected values of rouge-score's own rouge_scorer_test.py (google-research,
// Apache-2.0), through our implementation with rouge-score's exact tokenizer.
TEST(MetricsRouge, RougeScorePublishedVectors) {
  const RougeOptions o{false, false};
  RougeResult r = rouge_score({"testing one two"}, "testing", o);
  EXPECT_DOUBLE_EQ(r.rouge1.precision, 1.0);
  EXPECT_DOUBLE_EQ(r.rouge1.recall, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.rouge1.fmeasure, 0.5);
  r = rouge_score({"testing one two"}, "testing one", o);
  EXPECT_DOUBLE_EQ(r.rouge2.precision, 1.0);
  EXPECT_DOUBLE_EQ(r.rouge2.recall, 0.5);
  EXPECT_NEAR(r.rouge2.fmeasure, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.rougeL.recall, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.rougeL.fmeasure, 0.8, 1e-12);
  r = rouge_score({"testing one two"}, "testing two", o);  // non-consecutive LCS
  EXPECT_DOUBLE_EQ(r.rougeL.precision, 1.0);
  EXPECT_NEAR(r.rougeL.fmeasure, 0.8, 1e-12);
  for (const char* pred : {"", "/"}) {  // empty prediction, or only non-word characters
    r = rouge_score({"w1 w2 w3 w4 w5"}, pred, o);
    EXPECT_EQ(r.rouge1.fmeasure + r.rouge2.fmeasure + r.rougeL.fmeasure + r.rougeLsum.fmeasure, 0.0) << pred;
  }
  EXPECT_EQ(rouge_score({""}, "w1", o).rougeLsum.fmeasure, 0.0);
  r = rouge_score({"w1 w2 w3 w4 w5"}, "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5", o);
  EXPECT_DOUBLE_EQ(r.rougeLsum.recall, 0.8);
  EXPECT_DOUBLE_EQ(r.rougeLsum.precision, 0.4);
  // _lcs_table / _backtrack_norec: ref [1 2 3 4 5], can [2 5 3 4] -> indices [1 2 3]
  EXPECT_EQ(lcs_indices({"1", "2", "3", "4", "5"}, {"2", "5", "3", "4"}), (std::vector<size_t>{1, 2, 3}));
  EXPECT_TRUE(lcs_indices({"1", "2", "3", "4", "5"}, {"8", "9"}).empty());
  // _summary_level_lcs([["reference"]], [[]]): the tokenizer may leave no candidate tokens.
  EXPECT_EQ(rouge_lsum({{"reference"}}, {{}}).recall, 0.0);
}
