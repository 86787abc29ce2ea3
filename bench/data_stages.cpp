// Throughput of each `data clean` stage on generated English-like and Chinese-like text
// (one thread, MB/s), and the Aho-Corasick claim: 100k sensitive terms must cost about
// what 10 terms cost. Prints one line per stage and a RESULT line.
#include <cstdio>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/timer.h"
#include "data/dedup.h"
#include "data/normalize.h"
#include "data/pii.h"
#include "data/quality.h"
#include "data/sensitive.h"

using namespace chatforge;
using namespace chatforge::data;

namespace {

std::vector<std::string> make_docs(Rng& rng, size_t total_bytes) {
  static const char* kSyl[] = {"ka", "lo", "mi", "ren", "ta", "vos", "el", "dun", "shi", "por", "an", "bel", "the", "of"};
  static const char* kHan[] = {"的", "一", "是", "在", "不", "了", "有", "和", "人", "这", "中", "大", "为", "上",
                               "个", "国", "我", "以", "要", "他", "时", "来", "用", "们", "生", "到", "作", "地"};
  std::vector<std::string> docs;
  size_t bytes = 0;
  while (bytes < total_bytes) {
    std::string d;
    const bool zh = rng.below(10) < 4;
    const int n = 300 + static_cast<int>(rng.below(600));
    for (int i = 0; i < n; ++i) {
      if (zh) {
        d += kHan[rng.below(28)];
        if (rng.below(12) == 0) d += "，";
      } else {
        const int syl = 1 + static_cast<int>(rng.below(3));
        for (int k = 0; k < syl; ++k) d += kSyl[rng.below(14)];
        d += rng.below(15) == 0 ? ". " : " ";
      }
    }
    if (rng.below(20) == 0) d += " mail me: someone@example.com or 13812345678.";
    bytes += d.size();
    docs.push_back(std::move(d));
  }
  return docs;
}

template <typename Fn>
double mb_per_s(const std::vector<std::string>& docs, size_t bytes, Fn&& fn) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    Timer t;
    for (const auto& d : docs) fn(d);
    best = std::max(best, bytes / 1e6 / t.seconds());
  }
  return best;
}

// A 2-4 character Chinese term, different for each i.
std::string kHanTerm(int i) {
  static const char* kHan[] = {"敏", "感", "词", "违", "禁", "机", "密", "内", "容", "政", "治", "暴", "力", "赌", "博", "毒"};
  std::string t;
  for (int k = 0, v = i; k < 2 + i % 3; ++k, v /= 16) t += kHan[v % 16];
  return t;
}

}  // namespace

int main() {
  Rng rng(3);
  const auto docs = make_docs(rng, 16u << 20);
  size_t bytes = 0;
  for (auto& d : docs) bytes += d.size();
  size_t sink = 0;
  const double normalize = mb_per_s(docs, bytes, [&](const std::string& d) { sink += normalize_text(d, NormalForm::kNfc).text.size(); });
  const double quality = mb_per_s(docs, bytes, [&](const std::string& d) { sink += measure_quality(d).words; });
  PiiOptions po;
  const double pii = mb_per_s(docs, bytes, [&](const std::string& d) {
    PiiCounts c;
    sink += scrub_pii(d, po, c).size();
  });
  const auto mh = choose_minhash_params(0.8);
  const double minhash = mb_per_s(docs, bytes, [&](const std::string& d) { sink += minhash_signature(d, mh)[0]; });
  SensitiveFilter small, large;
  for (int i = 0; i < 5; ++i) {
    small.add_term("term" + std::to_string(i));
    small.add_term(kHanTerm(i * 7919));
  }
  Rng trng(9);
  for (int i = 0; i < 100000; ++i) {
    std::string t;
    const int len = 5 + static_cast<int>(trng.below(8));
    for (int k = 0; k < len; ++k) t += static_cast<char>('a' + trng.below(26));
    large.add_term(t);
    if (i % 3 == 0) large.add_term(std::string(kHanTerm(i)));
  }
  small.build();
  large.build();
  const double ac10 = mb_per_s(docs, bytes, [&](const std::string& d) { sink += small.find(d).size(); });
  const double ac100k = mb_per_s(docs, bytes, [&](const std::string& d) { sink += large.find(d).size(); });
  std::printf("corpus: %.1f MB, %zu documents (40%% Chinese-like)\n", bytes / 1e6, docs.size());
  std::printf("normalize (NFC, whitespace)  %8.1f MB/s\n", normalize);
  std::printf("quality measures (Gopher)    %8.1f MB/s\n", quality);
  std::printf("PII scrub                    %8.1f MB/s\n", pii);
  std::printf("MinHash signature (128)      %8.1f MB/s\n", minhash);
  std::printf("sensitive terms, 10 terms    %8.1f MB/s\n", ac10);
  std::printf("sensitive terms, 100k terms  %8.1f MB/s (%zu terms)\n", ac100k, large.n_terms());
  std::printf("RESULT normalize_mbps=%.1f quality_mbps=%.1f pii_mbps=%.1f minhash_mbps=%.1f ac10_mbps=%.1f "
              "ac100k_mbps=%.1f ac100k_over_ac10=%.2f\n",
              normalize, quality, pii, minhash, ac10, ac100k, ac100k / ac10);
  return sink == 42 ? 1 : 0;
}
