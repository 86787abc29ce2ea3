// Test helper: the documents of one split of a shard directory, read back with the shard
// reader (all its shards, in order, without the end-of-text separators).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/shard.h"

namespace chatforge::testing {

inline std::vector<std::vector<int32_t>> read_split_docs(const std::string& dir, const std::string& split) {
  std::vector<std::vector<int32_t>> docs;
  for (const auto& path : data::list_shards(dir, split)) {
    const data::ShardReader r(path);
    uint64_t begin = 0;
    for (uint64_t end : r.doc_ends()) {
      std::vector<uint32_t> buf(end - begin);
      r.read_tokens(begin, end - begin, buf.data());
      docs.emplace_back(buf.begin(), buf.end());
      begin = end + 1;
    }
  }
  return docs;
}

}  // namespace chatforge::testing
