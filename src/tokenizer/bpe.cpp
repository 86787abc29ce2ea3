// BPE merging for one piece. Short pieces (almost all) use a flat array and a linear
// scan for the best pair (cache-friendly, like tiktoken); long pieces (a Chinese sentence,
// a run of 10k spaces, random bytes) use a linked list and a min-heap so the cost stays
// O(n log n) instead of O(n^2).
#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

namespace chatforge::tok {

void PairTable::build(const std::vector<Merge>& merges) {
  size_t cap = 16;
  while (cap < merges.size() * 2 + 16) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (size_t r = 0; r < merges.size(); ++r) {
    const Merge& m = merges[r];
    const uint64_t key = pack(m.left, m.right);
    size_t i = hash(key) & mask_;
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == key) continue;  // a duplicate merge: the first (lowest rank) wins
    slots_[i] = Slot{key, static_cast<int32_t>(r), m.result};
  }
}

namespace {

constexpr int32_t kNoRank = INT32_MAX;

void encode_small(std::string_view piece, const int32_t* byte_ids, const PairTable& pairs,
                  std::vector<int32_t>& out) {
  const size_t n = piece.size();
  int32_t tok[64];
  int32_t rank[64];     // rank[i]: rank of pair (tok[i], tok[i+1])
  int32_t merged[64];   // merged[i]: its result
  size_t len = n;
  for (size_t i = 0; i < n; ++i) tok[i] = byte_ids[static_cast<uint8_t>(piece[i])];
  auto score = [&](size_t i) {
    int32_t res = -1;
    const int32_t r = pairs.find(tok[i], tok[i + 1], &res);
    rank[i] = r < 0 ? kNoRank : r;
    merged[i] = res;
  };
  for (size_t i = 0; i + 1 < len; ++i) score(i);
  while (len > 1) {
    size_t best = 0;
    int32_t best_rank = kNoRank;
    for (size_t i = 0; i + 1 < len; ++i)
      if (rank[i] < best_rank) best_rank = rank[i], best = i;
    if (best_rank == kNoRank) break;
    tok[best] = merged[best];
    for (size_t i = best + 1; i + 1 < len; ++i) {
      tok[i] = tok[i + 1];
      rank[i] = rank[i + 1];
      merged[i] = merged[i + 1];
    }
    --len;
    if (best + 1 < len) score(best);
    if (best > 0) score(best - 1);
  }
  out.insert(out.end(), tok, tok + len);
}

void encode_large(std::string_view piece, const int32_t* byte_ids, const PairTable& pairs,
                  std::vector<int32_t>& out) {
  const int32_t n = static_cast<int32_t>(piece.size());
  std::vector<int32_t> tok(n), prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    tok[i] = byte_ids[static_cast<uint8_t>(piece[i])];
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  // Heap entries (rank, position, left token, right token): stale when the tokens at
  // `position` and its successor changed since the entry was pushed.
  struct Entry {
    int32_t rank, pos, left, right;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int32_t i) {
    if (i < 0 || next[i] < 0) return;
    int32_t res = -1;
    const int32_t r = pairs.find(tok[i], tok[next[i]], &res);
    if (r >= 0) heap.push(Entry{r, i, tok[i], tok[next[i]]});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> alive(n, true);
  while (!heap.empty()) {
    const Entry e = heap.top();
    heap.pop();
    const int32_t i = e.pos;
    if (!alive[i] || next[i] < 0 || tok[i] != e.left || tok[next[i]] != e.right) continue;
    int32_t res = -1;
    pairs.find(e.left, e.right, &res);
    const int32_t j = next[i];
    tok[i] = res;
    alive[j] = false;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(tok[i]);
}

}  // namespace

void bpe_encode_piece(std::string_view piece, const int32_t* byte_ids, const PairTable& pairs,
                      std::vector<int32_t>& out) {
  if (piece.empty()) return;
  if (piece.size() == 1) {
    out.push_back(byte_ids[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (piece.size() <= 64) encode_small(piece, byte_ids, pairs, out);
  else encode_large(piece, byte_ids, pairs, out);
}

}  // namespace chatforge::tok
