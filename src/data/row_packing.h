// Packing documents into fixed-size training rows (SFT: several short conversations per
// row instead of one padded row each). Greedy first-fit in input order: each document goes
// into the first row that still has room, or opens a new row. O(n log n).
#pragma once
#include <cstdint>
#include <vector>

namespace chatforge::data {

// lengths[i]: tokens of document i (each <= capacity). Returns rows of document indices,
// in order of first use; within a row, documents keep their input order.
// Example: pack_first_fit({6, 5, 3, 2, 4}, 8) -> {{0, 3}, {1, 2}, {4}}.
std::vector<std::vector<uint32_t>> pack_first_fit(const std::vector<uint64_t>& lengths, uint64_t capacity);

// The padding share of `rows` rows of `capacity` tokens holding `tokens` tokens in all.
inline double padding_fraction(uint64_t tokens, uint64_t rows, uint64_t capacity) {
  return rows == 0 ? 0.0 : 1.0 - static_cast<double>(tokens) / (static_cast<double>(rows) * capacity);
}

}  // namespace chatforge::data
