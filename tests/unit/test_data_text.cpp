// Cleaning stages one by one: normalisation (NFC/NFKC, UTF-8 repair, whitespace), quality
// measures on English, Chinese and spam, sensitive terms (whole-word Latin, substring
// CJK, 100k terms), PII scrubbing, MinHash Jaccard estimates and rebalancing rates.
#include <gtest/gtest.h>
#include <utf8proc.h>

#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "data/clean.h"
#include "data/dedup.h"
#include "data/normalize.h"
#include "data/pii.h"
#include "data/quality.h"
#include "data/sensitive.h"

using namespace chatforge;
using namespace chatforge::data;

namespace {
const std::string kEnglish =
    "The river runs through the old town, past the mill and the church. In spring the water rises and the "
    "children watch the boats from the bridge. Most families here have lived by the river for generations, "
    "and they tell stories about the great flood that reached the market square.";
const std::string kChinese =
    "今天天气很好，我们一起去公园散步吧。公园里有很多人在跑步，孩子们在草地上玩耍。"
    "湖边的柳树已经发芽了，老人们坐在长椅上聊天，远处传来了鸟儿的歌声。";
}  // namespace

TEST(Normalize, CleanTextPassesThroughByteIdentical) {
  for (const auto& t : {kEnglish, kChinese, std::string("Code:\n    indented line\n\nNext paragraph.")})
    EXPECT_EQ(normalize_text(t, NormalForm::kNfc).text, t);
  EXPECT_EQ(normalize_text(kEnglish, NormalForm::kNfkc).text, kEnglish);
  // NFKC folds the fullwidth comma of Chinese text to ','; that is what NFKC means.
  EXPECT_NE(normalize_text(kChinese, NormalForm::kNfkc).text.find(','), std::string::npos);
}

TEST(Normalize, NfcComposesAndNfkcFoldsCompatibilityForms) {
  const std::string decomposed = "Cafe\xCC\x81";  // e + combining acute
  EXPECT_EQ(unicode_normalize(decomposed, NormalForm::kNfc), "Caf\xC3\xA9");
  EXPECT_EQ(unicode_normalize("\xEF\xBC\xA1\xEF\xBC\x91", NormalForm::kNfkc), "A1");  // fullwidth Ａ１
  EXPECT_EQ(unicode_normalize("\xEF\xBC\xA1", NormalForm::kNfc), "\xEF\xBC\xA1");    // NFC keeps it
  EXPECT_EQ(unicode_normalize("\xEF\xAC\x81", NormalForm::kNfkc), "fi");             // ligature
}

TEST(Normalize, RepairsInvalidUtf8AndCountsIt) {
  std::string out;
  EXPECT_EQ(repair_utf8("a\xFF" "b", out), 1u);
  EXPECT_EQ(out, "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(repair_utf8("x\xE4\xBD", out), 1u);  // truncated 3-byte sequence at the end
  EXPECT_EQ(out, "x\xEF\xBF\xBD");
  EXPECT_EQ(repair_utf8("\xC0\xAF", out), 1u);  // overlong '/'
  EXPECT_EQ(repair_utf8("\xED\xA0\x80", out), 1u);  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  EXPECT_TRUE(is_valid_utf8(kChinese));
  const auto r = normalize_text("ok \xFE text", NormalForm::kNfc);
  EXPECT_EQ(r.invalid_utf8, 1u);
  EXPECT_EQ(r.text, "ok \xEF\xBF\xBD text");
}

TEST(Normalize, FixesWhitespaceAndStripsControls) {
  EXPECT_EQ(fix_whitespace("  a  b\t\tc  \r\nd\x01\x7F" "e\n\n\n\nf  \n"), "a b c\nde\n\nf");
  EXPECT_EQ(fix_whitespace("x\xC2\xA0y\xE2\x80\x8Bz\xEF\xBB\xBF"), "x yz");  // NBSP, ZWSP, BOM
  EXPECT_EQ(fix_whitespace("\xE3\x80\x80\xE4\xBD\xA0"), "\xE3\x80\x80\xE4\xBD\xA0");  // ideographic space kept
  EXPECT_EQ(fix_whitespace("line\n  - item\n    nested"), "line\n  - item\n    nested");
}

TEST(Quality, NaturalEnglishAndChinesePass) {
  QualityOptions o;
  for (const auto& t : {kEnglish, kChinese}) {
    const auto v = judge_quality(measure_quality(t), o);
    EXPECT_TRUE(v) << v.reason << ": " << v.detail << " for " << t;
  }
  const auto zh = measure_quality(kChinese);
  EXPECT_EQ(zh.spaced_words, 0u);  // Chinese is measured in characters
  EXPECT_GT(zh.words, 60u);
}

TEST(Quality, PlantedBadDocumentsFailWithTheRightReason) {
  QualityOptions o;
  auto reason = [&](const std::string& t) { return judge_quality(measure_quality(t), o).reason; };
  EXPECT_EQ(reason("too short"), "too_short");
  std::string spam;
  for (int i = 0; i < 30; ++i) spam += "BUY CHEAP PILLS NOW at our shop\n";
  EXPECT_EQ(reason(spam), "repeated_lines");
  std::string ngram_spam;
  for (int i = 0; i < 40; ++i) ngram_spam += "click here for free money ";
  EXPECT_EQ(reason(ngram_spam), "repeated_ngrams");
  std::string zh_spam;
  for (int i = 0; i < 30; ++i) zh_spam += "点击这里免费领取大奖，";
  EXPECT_EQ(reason(zh_spam), "repeated_ngrams");
  EXPECT_EQ(reason("#### $$$$ %%%% &&&& **** //// <<<< >>>> ==== @@@@ [[[[ ]]]] one two three four five six"), "symbol_ratio");
  EXPECT_EQ(reason("1234567 8901234 5678901 2345678 9012345 6789012 3456789 0123456 and some"), "digit_ratio");
  EXPECT_EQ(reason("Supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopic "
                   "floccinaucinihilipilification hippopotomonstrosesquippedaliophobia"),
            "mean_word_length");
  o.enabled = false;
  EXPECT_EQ(reason("x"), "");
}

TEST(Sensitive, WholeWordForLatinSubstringForCjkCaseInsensitive) {
  SensitiveFilter f;
  f.add_term("ass");
  f.add_term("bad phrase");
  f.add_term("敏感词");
  f.add_term("机密");
  f.build();
  std::string t = "A class of Ass, a BAD PHRASE here; 这是敏感词和机密文件。bass";
  EXPECT_EQ(f.apply(t, SensitiveAction::kMask, "***"), 4u);
  EXPECT_EQ(t, "A class of ***, a *** here; 这是***和***文件。bass");
  std::string r = "no badphrase, 敏感 only";
  EXPECT_EQ(f.apply(r, SensitiveAction::kRemove, ""), 0u);
  std::string rem = "remove the bad phrase now";
  EXPECT_EQ(f.apply(rem, SensitiveAction::kRemove, ""), 1u);
  EXPECT_EQ(rem, "remove the  now");
}

TEST(Sensitive, LeftmostLongestWithoutOverlap) {
  SensitiveFilter f;
  for (const char* t : {"he", "she", "hers", "his", "中国", "中国人"}) f.add_term(t);
  f.build();
  const auto m = f.find("ushers? 中国人民");
  ASSERT_EQ(m.size(), 1u);  // "ushers" has no whole-word match; 中国人 beats 中国
  EXPECT_EQ(m[0].begin, 8u);
  EXPECT_EQ(m[0].end, 8u + 9);
  const auto m2 = f.find("she said hers and his");
  ASSERT_EQ(m2.size(), 3u);
}

TEST(Sensitive, HundredThousandTermsStillExact) {
  SensitiveFilter f;
  Rng rng(5);
  std::vector<std::string> terms;
  for (int i = 0; i < 100000; ++i) {
    std::string t;
    const int len = 5 + static_cast<int>(rng.below(6));
    for (int k = 0; k < len; ++k) t += static_cast<char>('a' + rng.below(26));
    terms.push_back(t);
    f.add_term(t);
  }
  f.add_term("秘密");
  f.build();
  EXPECT_GE(f.n_terms(), 99000u);
  std::string text = "prefix " + terms[12345] + " middle " + terms[99999] + " 一个秘密 suffix";
  const auto m = f.find(text);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), terms[12345]);
  EXPECT_EQ(text.substr(m[1].begin, m[1].end - m[1].begin), terms[99999]);
}

TEST(Pii, ScrubsEmailsPhonesIdsCardsAndIps) {
  PiiOptions o;
  PiiCounts c;
  const std::string in =
      "Mail alice.smith+news@mail.example.co.uk or call +1 (415) 555-0132, 13812345678 or 010-62345678. "
      "ID 11010519491231002X, SSN 123-45-6789, card 4111 1111 1111 1111, server 192.168.1.20 and fe80::1ff:fe23:4567:890a.";
  const std::string out = scrub_pii(in, o, c);
  EXPECT_EQ(out,
            "Mail <EMAIL> or call <PHONE>, <PHONE> or <PHONE>. "
            "ID <ID>, SSN <ID>, card <CARD>, server <IP> and <IP>.");
  EXPECT_EQ(c.n[kPiiEmail], 1u);
  EXPECT_EQ(c.n[kPiiPhone], 3u);
  EXPECT_EQ(c.n[kPiiId], 2u);
  EXPECT_EQ(c.n[kPiiCard], 1u);
  EXPECT_EQ(c.n[kPiiIp], 2u);
}

TEST(Pii, OrdinaryNumbersSurvive) {
  PiiOptions o;
  PiiCounts c;
  const std::string in = "In 2023 the price rose 3.5% to $1,299.99; version 1.2.3; call at 10:30; pi is 3.14159265358979.";
  EXPECT_EQ(scrub_pii(in, o, c), in);
  EXPECT_EQ(c.total(), 0u);
  EXPECT_FALSE(cn_id_valid("110105194912310021"));  // wrong check digit
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  PiiOptions only_mail;
  parse_pii_types("email", only_mail);
  only_mail.replacement = "[removed]";
  EXPECT_EQ(scrub_pii("a@b.org 13812345678", only_mail, c), "[removed] 13812345678");
  EXPECT_THROW(parse_pii_types("emails", only_mail), UsageError);
}

TEST(Dedup, MinHashEstimatesKnownJaccard) {
  // Documents with 200 distinct words; b shares the first k words' shingles with a.
  auto words = [](int from, int n) {
    std::string s;
    for (int i = from; i < from + n; ++i) {
      s += 'w';
      s += std::to_string(i);
      s += ' ';
    }
    return s;
  };
  const std::string a = words(0, 200);
  const auto p = choose_minhash_params(0.8, 128, 5);
  EXPECT_EQ(p.bands * p.rows <= 128, true);
  for (int shared : {190, 150, 100}) {
    const std::string b = words(0, shared) + words(1000, 200 - shared);
    const double j = shingle_jaccard(a, b, 5);
    const auto sa = minhash_signature(a, p), sb = minhash_signature(b, p);
    int same = 0;
    for (int i = 0; i < 128; ++i) same += sa[i] == sb[i];
    EXPECT_NEAR(same / 128.0, j, 0.15) << shared;
  }
}

TEST(Dedup, NearDupIndexFlagsAboveThresholdOnly) {
  auto words = [](int from, int n) {
    std::string s;
    for (int i = from; i < from + n; ++i) {
      s += 'w';
      s += std::to_string(i);
      s += ' ';
    }
    return s;
  };
  const auto p = choose_minhash_params(0.8, 128, 5);
  NearDupIndex idx(p);
  double sim = 0;
  EXPECT_EQ(idx.check_and_insert(minhash_signature(words(0, 300), p), 7, &sim), -1);
  const std::string near = words(0, 295) + words(5000, 5);  // Jaccard ~0.97
  EXPECT_GT(shingle_jaccard(words(0, 300), near, 5), 0.9);
  EXPECT_EQ(idx.check_and_insert(minhash_signature(near, p), 8, &sim), 7);
  EXPECT_GT(sim, 0.85);
  const std::string far = words(0, 150) + words(9000, 150);  // Jaccard ~0.33
  EXPECT_LT(shingle_jaccard(words(0, 300), far, 5), 0.4);
  EXPECT_EQ(idx.check_and_insert(minhash_signature(far, p), 9, &sim), -1);
  EXPECT_EQ(exact_dedup_hash("Hello   World\n"), exact_dedup_hash("hello world"));
  EXPECT_NE(exact_dedup_hash("hello world"), exact_dedup_hash("hello word"));
}

TEST(Rebalance, DownsamplesToTargetsAndCapsShares) {
  std::map<std::string, GroupCount> c = {{"web", {800, 8000}}, {"books", {150, 1500}}, {"code", {50, 500}}};
  RebalanceOptions o;
  o.targets = parse_targets("web=0.5,books=0.3,code=0.2");
  auto r = rebalance_rates(c, o);
  // code limits the total: 500 / 0.2 = 2500 bytes -> web 1250, books 750, code 500.
  EXPECT_NEAR(r["web"], 1250.0 / 8000, 1e-9);
  EXPECT_NEAR(r["books"], 750.0 / 1500, 1e-9);
  EXPECT_NEAR(r["code"], 1.0, 1e-9);
  o.upsample = true;
  o.max_upsample = 10;
  r = rebalance_rates(c, o);  // total stays 10000: web 5000, books 3000, code 2000
  EXPECT_NEAR(r["web"], 5000.0 / 8000, 1e-9);
  EXPECT_NEAR(r["code"], 4.0, 1e-9);
  RebalanceOptions cap;
  cap.max_share = 0.5;
  r = rebalance_rates(c, cap);  // web capped at half: web = books + code = 2000
  EXPECT_NEAR(r["web"], 2000.0 / 8000, 1e-9);
  EXPECT_NEAR(r["books"], 1.0, 1e-9);
  EXPECT_THROW(parse_targets("web=1.5"), UsageError);
  EXPECT_THROW(parse_targets("web"), UsageError);
}

TEST(Dedup, TextsWithoutWordsHaveNoSignature) {
  const auto p = choose_minhash_params(0.8, 128, 5);
  EXPECT_TRUE(minhash_signature("--- *** !!!", p).empty());
  EXPECT_EQ(minhash_signature("one word", p).size(), 128u);
}

TEST(Normalize, FastPathAgreesWithUtf8proc) {
  // Text the fast path declares inert must be what utf8proc returns unchanged.
  const std::string samples[] = {"全角，标点！（括号）", "ひらがな カタカナ", "한국어 문장", "「引用」、。"};
  for (const auto& s : samples) {
    utf8proc_uint8_t* ref = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(s.c_str()));
    ASSERT_NE(ref, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ref)), s) << s;  // utf8proc agrees: inert
    EXPECT_EQ(unicode_normalize(s, NormalForm::kNfc), s) << s;
    std::free(ref);
  }
  // Kana + combining voiced mark composes under NFC (not on the fast path).
  EXPECT_EQ(unicode_normalize("\xE3\x81\x8B\xE3\x82\x99", NormalForm::kNfc), "\xE3\x81\x8C");  // か + ゙ -> が
}
