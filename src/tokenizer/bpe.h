// The BPE model: token byte strings, the ranked merge list, and encoding one
// pre-tokenized piece. Merging applies the lowest-ranked adjacent pair first (leftmost
// on ties) until none applies, exactly as Hugging Face and tiktoken do.
// Example (merges a+a->256, a+b->257, 256+257->258): "aaab" -> [256, 257] -> [258].
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::tok {

struct Merge {
  int32_t left;
  int32_t right;
  int32_t result;
};

// Open-addressing map (left,right) -> (rank, result); lookups are the hot path of encode.
class PairTable {
 public:
  void build(const std::vector<Merge>& merges);
  // Returns the rank (index in the merge list) or -1; *result gets the merged token.
  inline int32_t find(int32_t left, int32_t right, int32_t* result) const {
    if (slots_.empty()) return -1;
    const uint64_t key = pack(left, right);
    size_t i = hash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) {
        *result = s.result;
        return s.rank;
      }
      if (s.key == kEmpty) return -1;
      i = (i + 1) & mask_;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = -1;
    int32_t result = -1;
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  static size_t hash(uint64_t k) { return static_cast<size_t>((k * 0x9E3779B97F4A7C15ull) >> 17); }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// Applies the merges to `piece` (raw bytes) and appends the token ids to `out`.
// `byte_ids[b]` is the token of the single byte b.
void bpe_encode_piece(std::string_view piece, const int32_t* byte_ids, const PairTable& pairs,
                      std::vector<int32_t>& out);

}  // namespace chatforge::tok
