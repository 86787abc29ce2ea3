// Deduplication across a whole corpus: exact (64-bit hash of the text with case and
// whitespace folded) and near-duplicate (MinHash over word 5-gram shingles, a CJK
// character being a word, + LSH banding; candidates are verified against the stored
// signature before a document is called a duplicate). The index keeps hashes and
// 16-bit signature slots per kept document, never texts.
#pragma once
#include <cstdint>
#include <string_view>
#include <vector>

namespace chatforge::data {

// Hash of the text with ASCII case folded and whitespace runs collapsed: texts that
// differ only in those hash equal.
uint64_t exact_dedup_hash(std::string_view text);

struct MinHashParams {
  int num_perm = 128;
  int shingle = 5;      // words per shingle
  int bands = 21, rows = 6;
  double threshold = 0.8;
};
// Picks bands x rows (bands*rows <= num_perm) with the largest rows whose LSH still
// flags a pair at exactly `threshold` with probability >= 0.99 (verification removes
// the extra candidates).
MinHashParams choose_minhash_params(double threshold, int num_perm = 128, int shingle = 5);

// Word-shingle hashes of a text (deduplicated, sorted). Texts shorter than one shingle
// give one shingle of all their words.
std::vector<uint64_t> shingle_hashes(std::string_view text, int shingle);
// Exact Jaccard similarity of two texts' shingle sets (for tests and reports).
double shingle_jaccard(std::string_view a, std::string_view b, int shingle);

// num_perm minimum hashes; empty for a text without words (never a near duplicate).
std::vector<uint32_t> minhash_signature(std::string_view text, const MinHashParams& p);

// Open-addressing map of nonzero 64-bit keys to 64-bit values.
class HashIndex {
 public:
  // Returns the value stored for key, or inserts `value` and returns nullptr.
  const uint64_t* find_or_insert(uint64_t key, uint64_t value);
  const uint64_t* find(uint64_t key) const;
  size_t size() const { return size_; }
  size_t memory_bytes() const { return keys_.capacity() * 16; }

 private:
  void grow();
  std::vector<uint64_t> keys_, values_;
  size_t size_ = 0;
};

class NearDupIndex {
 public:
  explicit NearDupIndex(const MinHashParams& p) : p_(p) {}
  // If a stored document's estimated Jaccard with `sig` is >= threshold, returns its
  // id (as given to insert) and sets *similarity; otherwise stores sig under `id` and
  // returns -1.
  int64_t check_and_insert(const std::vector<uint32_t>& sig, uint64_t id, double* similarity);
  size_t size() const { return ids_.size(); }
  size_t memory_bytes() const;

 private:
  double estimate(const std::vector<uint32_t>& sig, size_t stored) const;
  const uint32_t* band_lookup(uint32_t key) const;  // stored index or nullptr
  void band_insert(uint32_t key, uint32_t stored);
  MinHashParams p_;
  // Band table: open addressing, 8 bytes a slot: (32-bit band key << 32) | (stored + 1).
  // A 32-bit key can collide; a candidate is always verified against its signature.
  std::vector<uint64_t> band_table_;
  size_t band_entries_ = 0;
  mutable uint32_t lookup_value_ = 0;
  std::vector<uint16_t> slots_;     // stored signatures, low 16 bits, num_perm each
  std::vector<uint64_t> ids_;
};

}  // namespace chatforge::data
