// Implementation of dedup.h. MinHash permutation i is h_i(x) = (a_i * x + b_i) >> 32 on a
// 64-bit shingle hash (a_i odd, multiply-shift universal hashing), vectorisable.
#include "data/dedup.h"

#include <algorithm>
#include <cmath>

#include "data/text_util.h"

namespace chatforge::data {

uint64_t exact_dedup_hash(std::string_view text) {
  std::string folded;
  folded.reserve(text.size());
  bool space = false;
  for (char ch : text) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !folded.empty();
      continue;
    }
    if (space) folded += ' ';
    space = false;
    folded += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : ch;
  }
  return hash64(folded, 0xE8AC7) | 1;
}

MinHashParams choose_minhash_params(double threshold, int num_perm, int shingle) {
  MinHashParams p;
  p.num_perm = num_perm;
  p.shingle = shingle;
  p.threshold = threshold;
  p.rows = 1;
  p.bands = num_perm;
  for (int r = 1; r <= num_perm; ++r) {
    const int b = num_perm / r;
    const double prob = 1.0 - std::pow(1.0 - std::pow(threshold, r), b);
    if (prob >= 0.99) {
      p.rows = r;
      p.bands = b;
    }
  }
  return p;
}

// Shingle hashes in text order, repeats included (MinHash does not care).
static std::vector<uint64_t> raw_shingles(std::string_view text, int shingle) {
  std::vector<uint64_t> words;
  char lower[64];
  for_each_word(text, [&](std::string_view w, bool cjk) {
    if (cjk || w.size() > sizeof(lower)) {
      words.push_back(hash64(w, 0x77));
    } else {
      for (size_t k = 0; k < w.size(); ++k) lower[k] = (w[k] >= 'A' && w[k] <= 'Z') ? static_cast<char>(w[k] + 32) : w[k];
      words.push_back(hash64(std::string_view(lower, w.size()), 0x77));
    }
  });
  std::vector<uint64_t> out;
  if (words.empty()) return out;
  const size_t n = std::min<size_t>(static_cast<size_t>(shingle), words.size());
  out.reserve(words.size() - n + 1);
  for (size_t i = 0; i + n <= words.size(); ++i) {
    uint64_t h = 0x5EED;
    for (size_t k = 0; k < n; ++k) h = mix64(h ^ words[i + k]);
    out.push_back(h);
  }
  return out;
}

std::vector<uint64_t> shingle_hashes(std::string_view text, int shingle) {
  auto out = raw_shingles(text, shingle);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double shingle_jaccard(std::string_view a, std::string_view b, int shingle) {
  const auto sa = shingle_hashes(a, shingle), sb = shingle_hashes(b, shingle);
  if (sa.empty() && sb.empty()) return 1.0;
  size_t inter = 0, i = 0, j = 0;
  while (i < sa.size() && j < sb.size()) {
    if (sa[i] == sb[j]) {
      ++inter;
      ++i;
      ++j;
    } else if (sa[i] < sb[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return double(inter) / double(sa.size() + sb.size() - inter);
}

std::vector<uint32_t> minhash_signature(std::string_view text, const MinHashParams& p) {
  static thread_local std::vector<uint64_t> a, b;
  if (static_cast<int>(a.size()) != p.num_perm) {
    a.resize(p.num_perm);
    b.resize(p.num_perm);
    uint64_t s = 0x1234567ULL;
    for (int i = 0; i < p.num_perm; ++i) {
      a[i] = mix64(s += 0x9E3779B97F4A7C15ULL) | 1;
      b[i] = mix64(s += 0x9E3779B97F4A7C15ULL);
    }
  }
  const auto shingles = raw_shingles(text, p.shingle);
  if (shingles.empty()) return {};  // no words: nothing to compare
  std::vector<uint32_t> sig(p.num_perm, UINT32_MAX);
  const uint64_t* pa = a.data();
  const uint64_t* pb = b.data();
  uint32_t* ps = sig.data();
  const int k = p.num_perm;
  for (uint64_t x : shingles) {
    for (int i = 0; i < k; ++i) {
      const uint32_t h = static_cast<uint32_t>((pa[i] * x + pb[i]) >> 32);
      ps[i] = h < ps[i] ? h : ps[i];
    }
  }
  return sig;
}

const uint64_t* HashIndex::find(uint64_t key) const {
  if (keys_.empty()) return nullptr;
  const size_t mask = keys_.size() - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == key) return &values_[i];
    if (keys_[i] == 0) return nullptr;
  }
}

const uint64_t* HashIndex::find_or_insert(uint64_t key, uint64_t value) {
  if (key == 0) key = 1;
  if ((size_ + 1) * 2 > keys_.size()) grow();
  const size_t mask = keys_.size() - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (keys_[i] == key) return &values_[i];
    if (keys_[i] == 0) {
      keys_[i] = key;
      values_[i] = value;
      ++size_;
      return nullptr;
    }
  }
}

void HashIndex::grow() {
  std::vector<uint64_t> old_k = std::move(keys_), old_v = std::move(values_);
  const size_t cap = old_k.empty() ? 1024 : old_k.size() * 2;
  keys_.assign(cap, 0);
  values_.assign(cap, 0);
  const size_t mask = cap - 1;
  for (size_t j = 0; j < old_k.size(); ++j) {
    if (old_k[j] == 0) continue;
    size_t i = mix64(old_k[j]) & mask;
    while (keys_[i] != 0) i = (i + 1) & mask;
    keys_[i] = old_k[j];
    values_[i] = old_v[j];
  }
}

double NearDupIndex::estimate(const std::vector<uint32_t>& sig, size_t stored) const {
  const uint16_t* s = slots_.data() + stored * p_.num_perm;
  int same = 0;
  for (int i = 0; i < p_.num_perm; ++i) same += static_cast<uint16_t>(sig[i]) == s[i];
  // 16-bit slots also agree by chance with probability 2^-16; correct for it.
  const double raw = double(same) / p_.num_perm, chance = 1.0 / 65536.0;
  return std::max(0.0, (raw - chance) / (1.0 - chance));
}

size_t NearDupIndex::memory_bytes() const {
  return band_table_.capacity() * 8 + slots_.capacity() * 2 + ids_.capacity() * 8;
}

const uint32_t* NearDupIndex::band_lookup(uint32_t key) const {
  if (band_table_.empty()) return nullptr;
  const size_t mask = band_table_.size() - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    const uint64_t e = band_table_[i];
    if (e == 0) return nullptr;
    if (static_cast<uint32_t>(e >> 32) == key) {
      lookup_value_ = static_cast<uint32_t>(e) - 1;
      return &lookup_value_;
    }
  }
}

void NearDupIndex::band_insert(uint32_t key, uint32_t stored) {
  if ((band_entries_ + 1) * 2 > band_table_.size()) {
    std::vector<uint64_t> old = std::move(band_table_);
    band_table_.assign(old.empty() ? 4096 : old.size() * 2, 0);
    const size_t mask = band_table_.size() - 1;
    for (uint64_t e : old) {
      if (e == 0) continue;
      size_t i = mix64(static_cast<uint32_t>(e >> 32)) & mask;
      while (band_table_[i] != 0) i = (i + 1) & mask;
      band_table_[i] = e;
    }
  }
  const size_t mask = band_table_.size() - 1;
  for (size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
    if (band_table_[i] == 0) {
      band_table_[i] = (static_cast<uint64_t>(key) << 32) | (static_cast<uint64_t>(stored) + 1);
      ++band_entries_;
      return;
    }
    if (static_cast<uint32_t>(band_table_[i] >> 32) == key) return;  // keep the first
  }
}

int64_t NearDupIndex::check_and_insert(const std::vector<uint32_t>& sig, uint64_t id, double* similarity) {
  std::vector<uint32_t> keys(p_.bands);
  for (int band = 0; band < p_.bands; ++band) {
    uint64_t h = mix64(0xBA4D + static_cast<uint64_t>(band));
    for (int r = 0; r < p_.rows; ++r) h = mix64(h ^ sig[band * p_.rows + r]);
    keys[band] = static_cast<uint32_t>(h >> 32);
  }
  size_t last_checked = SIZE_MAX;
  for (int band = 0; band < p_.bands; ++band) {
    const uint32_t* hit = band_lookup(keys[band]);
    if (hit == nullptr || *hit == last_checked) continue;
    last_checked = *hit;
    const double j = estimate(sig, *hit);
    if (j >= p_.threshold) {
      if (similarity) *similarity = j;
      return static_cast<int64_t>(ids_[*hit]);
    }
  }
  const size_t stored = ids_.size();
  ids_.push_back(id);
  for (int i = 0; i < p_.num_perm; ++i) slots_.push_back(static_cast<uint16_t>(sig[i]));
  for (int band = 0; band < p_.bands; ++band) band_insert(keys[band], static_cast<uint32_t>(stored));
  return -1;
}

}  // namespace chatforge::data
