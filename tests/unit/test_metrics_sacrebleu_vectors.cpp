// The expected values published in sacreBLEU's own test suite (test/test_bleu.py and
// test/test_sentence_bleu.py of mjpost/sacrebleu, Apache-2.0), reproduced through our
// implementation: corpus BLEU with its README example, tokenizers, smoothing, effective
// order, n-gram orders 1..6, degenerate statistics and its sentence-BLEU cases.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "eval/bleu.h"

using namespace chatforge::eval;

namespace {
// sacreBLEU's README example: three hypotheses, two reference streams.
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

// sacrebleu.raw_corpus_bleu(hyps, refs, v): floor smoothing with value v, no tokenisation,
// effective order on.
double raw_corpus_bleu(const std::vector<std::string>& hyps, const std::vector<std::vector<std::string>>& refs,
                       std::optional<double> floor) {
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  o.smooth = BleuSmooth::kFloor;
  o.smooth_value = floor;
  o.effective_order = true;
  return BleuScorer(o).corpus_score(hyps, refs).score / 100;
}
}  // namespace

TEST(MetricsSacrebleuVectors, CorpusBleu) {
  const double eps = 1e-6;  // sacreBLEU's expected values are given to 6-7 decimals
  EXPECT_NEAR(BleuScorer(BleuOptions{}).corpus_score(kHyps, kRefs).score, 48.530827, eps);
  BleuOptions none;
  none.tokenizer = BleuTokenizer::kNone;
  EXPECT_NEAR(BleuScorer(none).corpus_score(kHyps, kRefs).score, 49.1919566, eps);
  BleuOptions no_smooth;
  no_smooth.smooth = BleuSmooth::kNone;
  EXPECT_NEAR(BleuScorer(no_smooth).corpus_score(kHyps, kRefs).score, 48.530827, eps);
  // Empty hypotheses are kept (and score 0).
  EXPECT_DOUBLE_EQ(BleuScorer(BleuOptions{}).corpus_score({"", "", ""}, kRefs).score, 0.0);
}

TEST(MetricsSacrebleuVectors, MaxNgramOrder) {
  const char* expected[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuOptions o;
    o.max_order = order;
    EXPECT_EQ(fmt::format("{:.2f}", BleuScorer(o).corpus_score(kHyps, kRefs).score), expected[order - 1])
        << "order " << order;
  }
}

TEST(MetricsSacrebleuVectors, RawBleuEffectiveOrderAndOffsets) {
  const double eps = 1e-8;
  EXPECT_NEAR(raw_corpus_bleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, 0.01), 0.0, eps);
  EXPECT_NEAR(raw_corpus_bleu({"this is a test"}, {{"this is a test"}}, 0.01), 1.0, eps);
  EXPECT_NEAR(raw_corpus_bleu({"this is a fest"}, {{"this is a test"}}, 0.01), 0.223606797749979, eps);
  EXPECT_NEAR(raw_corpus_bleu({"test"}, {{"a test"}}, 0.01), 0.3678794411714425, eps);
  EXPECT_NEAR(raw_corpus_bleu({"a test"}, {{"a test"}}, 0.01), 1.0, eps);
  EXPECT_NEAR(raw_corpus_bleu({"a little test"}, {{"a test"}}, 0.01), 0.03218297948685433, eps);
  // Offsets: 0 gives 0, the default floor (0.1) gives 0.1555722182; statistics as published.
  const std::vector<std::string> h = {"am I am a character sequence"};
  const std::vector<std::vector<std::string>> r = {{"I am a symbol string sequence a a"}};
  EXPECT_NEAR(raw_corpus_bleu(h, r, 0.0), 0.0, eps);
  EXPECT_NEAR(raw_corpus_bleu(h, r, std::nullopt), 0.1555722182, eps);
  BleuOptions o;
  o.tokenizer = BleuTokenizer::kNone;
  const BleuScore s = BleuScorer(o).corpus_score(h, r);
  EXPECT_EQ(s.stats.correct, (std::vector<int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(s.stats.total, (std::vector<int64_t>{6, 5, 4, 3}));
}

TEST(MetricsSacrebleuVectors, ScoringAndDegenerateStatistics) {
  auto stats = [](std::vector<int64_t> c, std::vector<int64_t> t, int64_t sys, int64_t ref) {
    BleuStats s;
    s.correct = std::move(c);
    s.total = std::move(t);
    s.hyp_len = sys;
    s.ref_len = ref;
    return s;
  };
  EXPECT_NEAR(compute_bleu(stats({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11), BleuSmooth::kNone, std::nullopt, false).score / 100,
              0.8375922397, 1e-8);
  struct Degenerate {
    BleuStats st;
    double offset;
  };
  const Degenerate cases[] = {{stats({0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1), 0.0},
                              {stats({0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10), 0.0},
                              {stats({0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0), 0.0},
                              {stats({6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6), 0.0},
                              {stats({0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0), 0.1},
                              {stats({0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5), 0.01}};
  for (const auto& c : cases) EXPECT_EQ(compute_bleu(c.st, BleuSmooth::kFloor, c.offset, false).score, 0.0);
}

TEST(MetricsSacrebleuVectors, SentenceBleu) {
  // sacreBLEU issue #98's Romanian pair (note ţ vs ț and "Producția" vs "producţia").
  const std::string ref = "producţia de zahăr brut se exprimă în zahăr alb;";
  const std::string sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
  struct Case {
    const char* smooth;
    std::optional<double> value;
    bool lowercase;
    const char* tok;
    double expected;
  };
  const Case cases[] = {{"exp", {}, false, "13a", 8.493},       {"none", {}, false, "13a", 0.0},
                        {"floor", {}, false, "13a", 4.51688},   {"floor", 0.1, false, "13a", 4.51688},
                        {"floor", 0.5, false, "13a", 10.10},    {"add-k", {}, false, "13a", 14.882},
                        {"add-k", 1, false, "13a", 14.882},     {"add-k", 2, false, "13a", 21.389},
                        {"exp", {}, false, "none", 7.347},      {"exp", {}, false, "char", 40.8759},
                        {"exp", {}, true, "char", 42.0267}};
  for (const auto& c : cases) {
    BleuOptions o;
    o.smooth = parse_bleu_smooth(c.smooth);
    o.smooth_value = c.value;
    o.lowercase = c.lowercase;
    o.tokenizer = parse_bleu_tokenizer(c.tok);
    EXPECT_NEAR(BleuScorer(o).sentence_score(sys, {ref}).score, c.expected, 1e-3)
        << c.smooth << " " << c.tok << " lc=" << c.lowercase;
  }
  // Issue #141: no match at all is 0 whatever the smoothing.
  for (const char* sm : {"exp", "none", "floor", "add-k"}) {
    BleuOptions o;
    o.smooth = parse_bleu_smooth(sm);
    EXPECT_EQ(BleuScorer(o).sentence_score("this is a cat", {"okay thanks"}).score, 0.0) << sm;
  }
}
