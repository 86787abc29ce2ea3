// BPE training. Words are the unique pre-tokens with their counts; each merge visits only
// the words that contain the pair (pair -> word list) and updates the counts of the pairs
// around each merge site, so the cost follows what changes, not the corpus size.
#include "tokenizer/trainer.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <queue>

#include "core/dir_walk.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok {
namespace {

namespace fs = std::filesystem;

constexpr size_t kBlockBytes = 4 << 20;

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

struct HeapEntry {
  int64_t count;
  uint64_t key;
  // Max-heap on count; on equal counts the smaller key (left id, then right id) first.
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : key > o.key; }
};

class MergeLearner {
 public:
  MergeLearner(std::vector<std::vector<int32_t>> words, std::vector<int64_t> counts)
      : words_(std::move(words)), wcount_(std::move(counts)) {}

  // Learns merges until max_new_tokens new tokens exist (or no pair is frequent enough);
  // tokens grows with each new token's bytes.
  std::vector<Merge> learn(size_t max_new_tokens, int64_t min_frequency, std::vector<std::string>& tokens,
                           bool progress) {
    std::unordered_map<std::string, int32_t> index;
    for (size_t id = 0; id < tokens.size(); ++id) index.emplace(tokens[id], static_cast<int32_t>(id));
    count_initial_pairs();
    std::vector<Merge> merges;
    const size_t start = tokens.size(), target = tokens.size() + max_new_tokens;
    ProgressBar bar("learning merges", max_new_tokens, "tokens", progress);
    std::vector<int32_t> affected;
    while (tokens.size() < target && !heap_.empty()) {
      const HeapEntry top = heap_.top();
      heap_.pop();
      const auto it = pair_index_.find(top.key);
      const int64_t current = pcount_[it->second];
      if (current != top.count) {  // stale entry
        if (current > 0 && current < top.count) heap_.push({current, top.key});
        continue;
      }
      if (current < min_frequency || current <= 0) break;
      const int32_t pid = it->second;
      const auto a = static_cast<int32_t>(top.key >> 32), b = static_cast<int32_t>(top.key & 0xFFFFFFFFu);
      std::string bytes = tokens[a] + tokens[b];
      int32_t z;
      if (auto f = index.find(bytes); f != index.end()) {
        z = f->second;  // same bytes reached by another pair: reuse the token
      } else {
        z = static_cast<int32_t>(tokens.size());
        index.emplace(bytes, z);
        tokens.push_back(std::move(bytes));
      }
      merges.push_back(Merge{a, b, z});
      affected.swap(pwords_[pid]);
      pwords_[pid].clear();
      pwords_[pid].shrink_to_fit();
      pcount_[pid] = 0;
      std::sort(affected.begin(), affected.end());
      affected.erase(std::unique(affected.begin(), affected.end()), affected.end());
      touched_.clear();
      for (int32_t w : affected) merge_in_word(w, a, b, z, top.key);
      for (int32_t p : touched_) {
        if (pcount_[p] > 0 && pcount_[p] >= min_frequency) heap_.push({pcount_[p], pkey_[p]});
        in_touched_[p] = 0;
      }
      affected.clear();
      bar.update(tokens.size() - start);
    }
    bar.finish();
    return merges;
  }

 private:
  int32_t pair_id(uint64_t key) {
    auto [it, inserted] = pair_index_.try_emplace(key, static_cast<int32_t>(pcount_.size()));
    if (inserted) {
      pcount_.push_back(0);
      pwords_.emplace_back();
      pkey_.push_back(key);
      in_touched_.push_back(0);
    }
    return it->second;
  }

  void count_initial_pairs() {
    for (size_t w = 0; w < words_.size(); ++w) {
      const auto& s = words_[w];
      for (size_t i = 0; i + 1 < s.size(); ++i) {
        const int32_t p = pair_id(pair_key(s[i], s[i + 1]));
        pcount_[p] += wcount_[w];
        if (pwords_[p].empty() || pwords_[p].back() != static_cast<int32_t>(w))
          pwords_[p].push_back(static_cast<int32_t>(w));
      }
    }
    std::vector<HeapEntry> entries;
    entries.reserve(pcount_.size());
    for (size_t p = 0; p < pcount_.size(); ++p) entries.push_back({pcount_[p], pkey_[p]});
    heap_ = std::priority_queue<HeapEntry>(std::less<HeapEntry>(), std::move(entries));
  }

  void change(uint64_t merged_key, int32_t a, int32_t b, int64_t delta, int32_t w) {
    const uint64_t key = pair_key(a, b);
    if (key == merged_key) return;
    const int32_t p = pair_id(key);
    pcount_[p] += delta;
    if (delta > 0 && (pwords_[p].empty() || pwords_[p].back() != w)) pwords_[p].push_back(w);
    if (!in_touched_[p]) {
      in_touched_[p] = 1;
      touched_.push_back(p);
    }
  }

  // Replaces every non-overlapping (a, b) in word w, left to right, by z and moves the
  // counts of the neighbouring pairs: (prev, a) -> (prev, z) and (b, next) -> (z, next).
  void merge_in_word(int32_t w, int32_t a, int32_t b, int32_t z, uint64_t merged_key) {
    auto& s = words_[w];
    const int64_t c = wcount_[w];
    const size_t n = s.size();
    size_t r = 0, out = 0;
    while (r < n) {
      if (r + 1 < n && s[r] == a && s[r + 1] == b) {
        if (out > 0) {
          change(merged_key, s[out - 1], a, -c, w);
          change(merged_key, s[out - 1], z, c, w);
        }
        if (r + 2 < n) {
          change(merged_key, b, s[r + 2], -c, w);
          change(merged_key, z, s[r + 2], c, w);
        }
        s[out++] = z;
        r += 2;
      } else {
        s[out++] = s[r++];
      }
    }
    s.resize(out);
  }

  std::vector<std::vector<int32_t>> words_;
  std::vector<int64_t> wcount_;
  std::unordered_map<uint64_t, int32_t> pair_index_;
  std::vector<int64_t> pcount_;
  std::vector<std::vector<int32_t>> pwords_;
  std::vector<uint64_t> pkey_;
  std::vector<uint8_t> in_touched_;
  std::vector<int32_t> touched_;
  std::priority_queue<HeapEntry> heap_;
};

std::vector<std::string> all_specials(const TrainOptions& options) {
  std::vector<std::string> specials{kEndOfText};
  for (const auto& s : options.special_tokens)
    if (std::find(specials.begin(), specials.end(), s) == specials.end()) specials.push_back(s);
  return specials;
}

}  // namespace

void validate_train_options(const TrainOptions& options) {
  const auto specials = all_specials(options);
  for (const auto& s : specials)
    if (s.empty()) usage_fail("--special-tokens: a special token cannot be empty");
  if (options.vocab_size < 256 || options.vocab_size > (1 << 20))
    usage_fail("--vocab-size {} is out of range: it must be between 256 and {} (2^20)", options.vocab_size, 1 << 20);
  if (options.vocab_size < 256 + static_cast<int32_t>(specials.size()))
    usage_fail("--vocab-size {} leaves no room for the 256 byte tokens and {} special token(s)", options.vocab_size,
               specials.size());
  if (options.min_frequency < 1) usage_fail("--min-frequency must be at least 1");
  if (options.threads < 1) usage_fail("--threads must be at least 1");
}

std::vector<std::string> list_input_files(const std::vector<std::string>& inputs) {
  CF_CHECK(!inputs.empty(), "no input files given");
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    std::error_code ec;
    const auto st = fs::status(in, ec);
    CF_CHECK(!ec && fs::exists(st), "{}: no such file or directory", in);
    if (fs::is_directory(st)) {
      const auto found = list_files_recursive(in, [](const std::string&) { return true; });
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(in);
    }
  }
  return unique_files(files);
}

void count_pieces_in_text(std::string_view text, const PreTokenizer& pretok, PieceCounts& counts) {
  std::vector<std::string_view> pieces;
  pretok.split(text, pieces);
  for (std::string_view p : pieces) {
    auto it = counts.find(p);
    if (it != counts.end()) ++it->second;
    else counts.emplace(std::string(p), 1);
  }
}

PieceCounts count_pieces(const std::vector<std::string>& files, const PreTokenizer& pretok,
                         const TrainOptions& options) {
  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto size = fs::file_size(f, ec);
    CF_CHECK(!ec, "{}: cannot read: {}", f, ec.message());
    total += size;
  }
  CF_CHECK(total > 0, "empty corpus: {} input file(s), 0 bytes", files.size());
  const int threads = std::max(1, options.threads);
  std::vector<PieceCounts> local(threads);
  ProgressBar bar("counting pre-tokens", total, "B", options.progress);
  uint64_t done = 0;
  std::vector<std::string> batch;
  auto flush_batch = [&] {
    std::string first_error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < batch.size(); ++i) {
      try {  // an exception must not leave an OpenMP region
        count_pieces_in_text(batch[i], pretok, local[omp_get_thread_num()]);
      } catch (const std::exception& e) {
#pragma omp critical
        first_error = e.what();
      }
    }
    if (!first_error.empty()) fail("{}", first_error);
    for (const auto& b : batch) done += b.size();
    batch.clear();
    bar.update(done);
  };
  for (const auto& path : files) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    CF_CHECK(f != nullptr, "{}: cannot open for reading", path);
    std::string carry;
    std::vector<char> buf(kBlockBytes);
    while (true) {
      const size_t got = std::fread(buf.data(), 1, buf.size(), f);
      if (got == 0) {
        if (std::ferror(f)) {
          std::fclose(f);
          fail("{}: read error", path);
        }
        break;
      }
      carry.append(buf.data(), got);
      // Cut where the pre-tokenizer would split anyway, so blocks count independently.
      const size_t cut = pretok.newline_cuts_are_boundaries() && carry.size() > 1
                             ? find_newline_cut(carry, carry.size() - 1)
                             : 0;
      size_t cut_at = cut >= kBlockBytes / 2 ? cut : 0;
      if (cut_at == 0 && carry.size() >= 4 * kBlockBytes) {
        // No line start for 16 MB (one giant line): cut after the last space or, failing
        // that, at a character boundary. Only the pieces at this one cut may differ.
        const size_t sp = carry.find_last_of(" \n", carry.size() - 2);
        cut_at = sp != std::string::npos && sp > 0 ? sp + 1 : complete_utf8_prefix(carry);
      }
      if (cut_at > 0) {
        const size_t cut = cut_at;
        batch.push_back(carry.substr(0, cut));
        carry.erase(0, cut);
        if (batch.size() >= static_cast<size_t>(threads) * 2) flush_batch();
      }
    }
    std::fclose(f);
    if (!carry.empty()) batch.push_back(std::move(carry));
    if (batch.size() >= static_cast<size_t>(threads) * 2) flush_batch();
  }
  flush_batch();
  bar.finish();
  PieceCounts counts = std::move(local[0]);
  for (int t = 1; t < threads; ++t) {
    for (auto& [piece, n] : local[t]) counts[piece] += n;
    PieceCounts().swap(local[t]);
  }
  return counts;
}

Tokenizer train_from_counts(const PieceCounts& counts, const PreTokenizer& pretok, const TrainOptions& options) {
  validate_train_options(options);
  CF_CHECK(!counts.empty(), "empty corpus: no text to train on");
  // Sorted words make the word order (and so every tie) independent of hashing.
  std::vector<std::pair<std::string_view, int64_t>> sorted;
  sorted.reserve(counts.size());
  for (const auto& [piece, n] : counts) sorted.emplace_back(piece, n);
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> wcount;
  words.reserve(sorted.size());
  wcount.reserve(sorted.size());
  for (const auto& [piece, n] : sorted) {
    if (piece.size() < 2) continue;  // a single byte has no pairs
    std::vector<int32_t> w(piece.size());
    for (size_t i = 0; i < piece.size(); ++i) w[i] = static_cast<uint8_t>(piece[i]);
    words.push_back(std::move(w));
    wcount.push_back(n);
  }
  const auto specials = all_specials(options);
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  const size_t max_new = static_cast<size_t>(options.vocab_size) - 256 - specials.size();
  MergeLearner learner(std::move(words), std::move(wcount));
  // Learn until the vocabulary (not the merge list: a merge may reuse a token) is full.
  std::vector<Merge> merges = learner.learn(max_new, options.min_frequency, tokens, options.progress);
  TokenizerParts parts;
  parts.tokens = std::move(tokens);
  parts.merges = std::move(merges);
  for (const auto& s : specials) {
    parts.special_ids.push_back(static_cast<int32_t>(parts.tokens.size()));
    parts.tokens.push_back(s);
  }
  parts.pretokenizer = pretok;
  return Tokenizer::from_parts(std::move(parts));
}

Tokenizer train_bpe(const std::vector<std::string>& inputs, const TrainOptions& options) {
  validate_train_options(options);
  const PreTokenizer pretok = PreTokenizer::from_name(options.pattern);
  const auto files = list_input_files(inputs);
  const PieceCounts counts = count_pieces(files, pretok, options);
  return train_from_counts(counts, pretok, options);
}

Tokenizer train_bpe_on_text(std::string_view text, const TrainOptions& options) {
  validate_train_options(options);
  const PreTokenizer pretok = PreTokenizer::from_name(options.pattern);
  PieceCounts counts;
  count_pieces_in_text(text, pretok, counts);
  return train_from_counts(counts, pretok, options);
}

}  // namespace chatforge::tok
