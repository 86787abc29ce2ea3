// Implementation of row_packing.h: a max segment tree over the rows' free space finds the
// leftmost row with room in O(log n). Rows not opened yet count as empty (full capacity),
// so the leftmost fitting leaf is an open row when one fits, else the next new row.
#include "data/row_packing.h"

#include <algorithm>

#include "core/error.h"

namespace chatforge::data {

std::vector<std::vector<uint32_t>> pack_first_fit(const std::vector<uint64_t>& lengths, uint64_t capacity) {
  CF_CHECK(lengths.size() < UINT32_MAX, "too many documents to pack ({})", lengths.size());
  std::vector<std::vector<uint32_t>> rows;
  if (lengths.empty()) return rows;
  size_t leaves = 1;
  while (leaves < lengths.size()) leaves *= 2;  // at most one row per document
  std::vector<uint64_t> free_max(2 * leaves, capacity);  // node i: max free space below it
  for (uint32_t d = 0; d < lengths.size(); ++d) {
    const uint64_t need = lengths[d];
    CF_CHECK(need >= 1 && need <= capacity, "document {} has {} tokens; a packed row holds 1..{}", d, need, capacity);
    size_t node = 1;
    while (node < leaves) node = free_max[2 * node] >= need ? 2 * node : 2 * node + 1;
    const size_t row = node - leaves;
    if (row == rows.size()) rows.emplace_back();
    rows[row].push_back(d);
    free_max[node] -= need;
    for (node /= 2; node >= 1; node /= 2) free_max[node] = std::max(free_max[2 * node], free_max[2 * node + 1]);
  }
  return rows;
}

}  // namespace chatforge::data
