// Reference log-probabilities computed once: for each preference example (one packed row
// of `data prefs` shards, train/preference_step.h) the frozen reference model's summed
// log-probabilities of its two documents, keyed by a hash of the row's content (inputs,
// targets, mask, documents, positions), so a row hits whatever batch or epoch it comes in.
// The table lives in a file next to the data, ref_logps/<key>.bin, where key names the
// reference model's weights and the row length: other runs over the same data and
// reference (a resume, a sweep over --beta) reuse it.
//
// File: "CFREFLP1" + u32 header length + JSON header {"reference", "seq_len", "rows"} +
// rows x (u64 key, f64 logp document 0, f64 logp document 1), little-endian; written
// atomically. A file that does not match (another reference, a torn copy) is not an error:
// the cache is rebuilt.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "train/loader.h"

namespace chatforge::train {

class ReferenceCache {
 public:
  struct Logps {
    double a = 0, b = 0;  // documents 0 and 1 of the row
  };
  // The content hash of batch row `row`.
  static uint64_t row_key(const Batch& b, int row);
  // ref_logps/<16 hex digits of hash(identity, seq_len)>.bin under `data_dir`.
  static std::string path_for(const std::string& data_dir, const std::string& identity, int seq_len);

  const Logps* find(uint64_t key) const;
  void put(uint64_t key, Logps v) { m_[key] = v; }
  size_t size() const { return m_.size(); }
  // Every row of the batch is in the table.
  bool covers(const Batch& b) const;

  // Reads `path` when it exists and was made for this reference and row length; returns
  // false (with the reason in *why) otherwise, leaving the table empty.
  bool load(const std::string& path, const std::string& identity, int seq_len, std::string* why);
  void save(const std::string& path, const std::string& identity, int seq_len) const;

  // The rows as flat (key, a, b) records and back: what ranks exchange.
  std::vector<uint8_t> serialize(const std::vector<uint64_t>& keys) const;
  void merge(const std::vector<uint8_t>& records);

 private:
  std::unordered_map<uint64_t, Logps> m_;
};

}  // namespace chatforge::train
