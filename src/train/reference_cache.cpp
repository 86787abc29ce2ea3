// Implementation of reference_cache.h.
#include "train/reference_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "data/text_util.h"

namespace chatforge::train {

namespace {

constexpr char kMagic[8] = {'C', 'F', 'R', 'E', 'F', 'L', 'P', '1'};
constexpr size_t kRecord = sizeof(uint64_t) + 2 * sizeof(double);

template <class T>
uint64_t hash_span(const std::vector<T>& v, size_t first, size_t n, uint64_t seed) {
  if (v.empty()) return data::hash64({}, seed);
  return data::hash64({reinterpret_cast<const char*>(v.data() + first), n * sizeof(T)}, seed);
}

void put_record(std::vector<uint8_t>& out, uint64_t key, ReferenceCache::Logps v) {
  const size_t at = out.size();
  out.resize(at + kRecord);
  std::memcpy(out.data() + at, &key, 8);
  std::memcpy(out.data() + at + 8, &v.a, 8);
  std::memcpy(out.data() + at + 16, &v.b, 8);
}

}  // namespace

uint64_t ReferenceCache::row_key(const Batch& b, int row) {
  const size_t first = static_cast<size_t>(row) * b.T, n = static_cast<size_t>(b.T);
  uint64_t h = data::hash64("chatforge reference row", static_cast<uint64_t>(b.T));
  h = hash_span(b.inputs, first, n, h);
  h = hash_span(b.targets, first, n, h);
  h = hash_span(b.mask, first, n, h);
  h = hash_span(b.doc, b.doc.empty() ? 0 : first, b.doc.empty() ? 0 : n, h);
  return hash_span(b.pos, b.pos.empty() ? 0 : first, b.pos.empty() ? 0 : n, h);
}

std::string ReferenceCache::path_for(const std::string& data_dir, const std::string& identity, int seq_len) {
  const uint64_t h = data::hash64(identity, static_cast<uint64_t>(seq_len));
  return fmt::format("{}/ref_logps/{:016x}.bin", data_dir, h);
}

const ReferenceCache::Logps* ReferenceCache::find(uint64_t key) const {
  const auto it = m_.find(key);
  return it == m_.end() ? nullptr : &it->second;
}

bool ReferenceCache::covers(const Batch& b) const {
  for (int r = 0; r < b.B; ++r)
    if (find(row_key(b, r)) == nullptr) return false;
  return true;
}

bool ReferenceCache::load(const std::string& path, const std::string& identity, int seq_len, std::string* why) {
  m_.clear();
  if (!file_exists(path)) {
    *why = "no cache yet";
    return false;
  }
  const std::string bytes = read_file(path);
  uint32_t hlen = 0;
  if (bytes.size() < 12 || std::memcmp(bytes.data(), kMagic, 8) != 0) {
    *why = "not a reference cache file";
    return false;
  }
  std::memcpy(&hlen, bytes.data() + 8, 4);
  if (bytes.size() < 12 + static_cast<size_t>(hlen)) {
    *why = "truncated header";
    return false;
  }
  const nlohmann::json h = nlohmann::json::parse(bytes.substr(12, hlen), nullptr, false);
  if (!h.is_object() || h.value("reference", std::string()) != identity || h.value("seq_len", -1) != seq_len) {
    *why = "made for another reference model or --seq-len";
    return false;
  }
  const uint64_t rows = h.value("rows", uint64_t{0});
  const size_t body = bytes.size() - 12 - hlen;
  if (body != rows * kRecord) {
    *why = fmt::format("{} bytes of rows where the header promises {} rows", body, rows);
    return false;
  }
  merge(std::vector<uint8_t>(bytes.begin() + 12 + hlen, bytes.end()));
  return true;
}

void ReferenceCache::save(const std::string& path, const std::string& identity, int seq_len) const {
  std::vector<uint64_t> keys;
  keys.reserve(m_.size());
  for (const auto& [k, v] : m_) keys.push_back(k);
  std::sort(keys.begin(), keys.end());  // the same bytes for the same table
  const std::string header = nlohmann::json{{"reference", identity}, {"seq_len", seq_len}, {"rows", keys.size()}}.dump();
  const uint32_t hlen = static_cast<uint32_t>(header.size());
  const std::vector<uint8_t> body = serialize(keys);
  std::string out(kMagic, 8);
  out.append(reinterpret_cast<const char*>(&hlen), 4);
  out += header;
  out.append(reinterpret_cast<const char*>(body.data()), body.size());
  write_file_atomic(path, out);
}

std::vector<uint8_t> ReferenceCache::serialize(const std::vector<uint64_t>& keys) const {
  std::vector<uint8_t> out;
  out.reserve(keys.size() * kRecord);
  for (uint64_t k : keys) {
    const Logps* v = find(k);
    CF_CHECK(v != nullptr, "reference cache: no row {:016x}", k);
    put_record(out, k, *v);
  }
  return out;
}

void ReferenceCache::merge(const std::vector<uint8_t>& records) {
  CF_CHECK(records.size() % kRecord == 0, "reference cache: {} bytes is not a whole number of rows", records.size());
  for (size_t at = 0; at < records.size(); at += kRecord) {
    uint64_t key;
    Logps v;
    std::memcpy(&key, records.data() + at, 8);
    std::memcpy(&v.a, records.data() + at + 8, 8);
    std::memcpy(&v.b, records.data() + at + 16, 8);
    m_[key] = v;
  }
}

}  // namespace chatforge::train
