// Implementation of shard.h: streaming atomic shard writer (temp file + header patch +
// fsync + rename), shard sets with meta.json, and the validating mmap reader.
#include "data/shard.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/error.h"
#include "core/file_io.h"

namespace chatforge::data {

namespace fs = std::filesystem;

static void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    CF_CHECK(w > 0, "cannot write {}: {}", path, std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
  }
}

ShardFileWriter::ShardFileWriter(std::string path, const ShardSpec& spec)
    : path_(std::move(path)), spec_(spec), token_bytes_(token_bytes_for_vocab(spec.vocab_size)) {
  CF_CHECK(spec.vocab_size > 0, "shard {}: vocab_size must be positive", path_);
  CF_CHECK(spec.eot_id >= 0 && static_cast<uint32_t>(spec.eot_id) < spec.vocab_size,
           "shard {}: eot id {} outside the vocabulary ({})", path_, spec.eot_id, spec.vocab_size);
  std::random_device rd;
  tmp_path_ = fmt::format("{}.tmp.{}.{:08x}", path_, ::getpid(), rd());
  fd_ = ::open(tmp_path_.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
  CF_CHECK(fd_ >= 0, "cannot create {}: {}", tmp_path_, std::strerror(errno));
  const ShardHeader placeholder{};
  write_all(fd_, &placeholder, sizeof placeholder, tmp_path_);
}

ShardFileWriter::~ShardFileWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void ShardFileWriter::put_tokens(const int32_t* tokens, size_t n) {
  buf_.resize(n * token_bytes_);
  for (size_t i = 0; i < n; ++i) {
    const int32_t t = tokens[i];
    CF_CHECK(t >= 0 && static_cast<uint32_t>(t) < spec_.vocab_size, "shard {}: token id {} outside the vocabulary ({})",
             path_, t, spec_.vocab_size);
    if (token_bytes_ == 2) {
      const uint16_t v = static_cast<uint16_t>(t);
      std::memcpy(&buf_[i * 2], &v, 2);
    } else {
      const uint32_t v = static_cast<uint32_t>(t);
      std::memcpy(&buf_[i * 4], &v, 4);
    }
  }
  write_all(fd_, buf_.data(), buf_.size(), tmp_path_);
  n_tokens_ += n;
}

void ShardFileWriter::add_document(const int32_t* tokens, size_t n, const uint8_t* mask, uint8_t eot_mask) {
  CF_ASSERT(fd_ >= 0);
  CF_CHECK(!spec_.has_mask || mask != nullptr || n == 0, "shard {}: a masked shard needs a mask per document", path_);
  put_tokens(tokens, n);
  put_tokens(&spec_.eot_id, 1);
  if (spec_.has_mask) {
    if (n > 0) mask_.insert(mask_.end(), mask, mask + n);
    mask_.push_back(eot_mask);
  }
  ++n_docs_;
}

void ShardFileWriter::end_row() {
  CF_CHECK(n_docs_ > (row_ends_.empty() ? 0 : row_ends_.back()), "shard {}: an empty packed row", path_);
  row_ends_.push_back(n_docs_);
}

void ShardFileWriter::finish() {
  CF_ASSERT(fd_ >= 0);
  if (spec_.has_mask) write_all(fd_, mask_.data(), mask_.size(), tmp_path_);
  const bool packed = !row_ends_.empty();
  if (packed) {
    CF_CHECK(row_ends_.back() == n_docs_, "shard {}: {} documents after the last packed row", path_,
             n_docs_ - row_ends_.back());
    CF_CHECK(row_ends_.size() <= UINT32_MAX, "shard {}: too many rows ({})", path_, row_ends_.size());
    write_all(fd_, row_ends_.data(), row_ends_.size() * sizeof(uint64_t), tmp_path_);  // little-endian hosts
  }
  ShardHeader h{};
  std::memcpy(h.magic, kShardMagic, 8);
  h.version = packed ? kShardVersionPacked : kShardVersion;
  h.n_rows = static_cast<uint32_t>(row_ends_.size());
  h.token_bytes = token_bytes_;
  h.n_tokens = n_tokens_;
  h.n_docs = n_docs_;
  h.has_mask = spec_.has_mask ? 1 : 0;
  h.vocab_size = spec_.vocab_size;
  h.eot_id = spec_.eot_id;
  std::memcpy(h.tokenizer_fingerprint, spec_.tokenizer_fingerprint.data(),
              std::min<size_t>(16, spec_.tokenizer_fingerprint.size()));
  CF_CHECK(::pwrite(fd_, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h), "cannot write {}: {}", tmp_path_,
           std::strerror(errno));
  CF_CHECK(::fsync(fd_) == 0, "cannot fsync {}: {}", tmp_path_, std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp_path_.c_str());
    fail("cannot rename {} to {}: {}", tmp_path_, path_, std::strerror(e));
  }
  const fs::path parent = fs::path(path_).parent_path();
  const std::string dir = parent.empty() ? std::string(".") : parent.string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  mask_.clear();
  mask_.shrink_to_fit();
  row_ends_.clear();
}

ShardSetWriter::ShardSetWriter(std::string dir, std::string split, const ShardSpec& spec, uint64_t max_tokens)
    : dir_(std::move(dir)), split_(std::move(split)), spec_(spec), max_tokens_(std::max<uint64_t>(1, max_tokens)) {
  make_dirs(dir_);
}

void ShardSetWriter::begin_row(uint64_t row_tokens) {
  CF_ASSERT(!in_row_);
  if (cur_ && cur_->n_tokens() > 0 && cur_->n_tokens() + row_tokens > max_tokens_) {
    cur_->finish();
    done_.push_back(cur_->path());
    cur_.reset();
  }
  in_row_ = true;
}

void ShardSetWriter::end_row() {
  CF_ASSERT(in_row_ && cur_);
  cur_->end_row();
  in_row_ = false;
  ++n_rows_;
}

void ShardSetWriter::add_document(const int32_t* tokens, size_t n, const uint8_t* mask, uint8_t eot_mask) {
  if (!in_row_ && cur_ && cur_->n_tokens() > 0 && cur_->n_tokens() + n + 1 > max_tokens_) {
    cur_->finish();
    done_.push_back(cur_->path());
    cur_.reset();
  }
  if (!cur_) {
    const std::string name = fmt::format("{}_{:06d}.bin", split_, done_.size());
    cur_ = std::make_unique<ShardFileWriter>((fs::path(dir_) / name).string(), spec_);
  }
  cur_->add_document(tokens, n, mask, eot_mask);
  n_tokens_ += n + 1;
  ++n_docs_;
}

std::vector<std::string> ShardSetWriter::finish() {
  CF_ASSERT(!in_row_);
  if (cur_) {
    cur_->finish();
    done_.push_back(cur_->path());
    cur_.reset();
  }
  return done_;
}

std::string shard_split_of(const std::string& n) {
  const size_t us = n.rfind('_');
  if (us == std::string::npos || us == 0 || n.size() < us + 6 || !n.ends_with(".bin")) return "";
  const bool digits = std::all_of(n.begin() + static_cast<std::ptrdiff_t>(us + 1), n.end() - 4,
                                  [](char c) { return c >= '0' && c <= '9'; });
  return digits ? n.substr(0, us) : "";
}

namespace {

// Removes the shard files in dir that `splits` do not list: an earlier shard set's, which
// the loaders (they read every <split>_*.bin of a directory) would take as part of this one.
void remove_unlisted_shards(const std::string& dir, const std::vector<ShardSplitSummary>& splits) {
  std::set<std::string> listed;
  for (const auto& s : splits) listed.insert(s.files.begin(), s.files.end());
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (shard_split_of(n).empty() || listed.count(n) || !e.is_regular_file(ec)) continue;
    CF_CHECK(fs::remove(e.path(), ec) && !ec, "cannot remove {}, a shard of an earlier set: {}", e.path().string(),
             ec.message());
    removed.push_back(n);
  }
  if (removed.empty()) return;
  std::sort(removed.begin(), removed.end());
  fmt::print(stderr, "removed {} shard file(s) of an earlier shard set in {} ({}{})\n", removed.size(), dir,
             removed.front(), removed.size() > 1 ? " ... " + removed.back() : "");
}

}  // namespace

void write_shard_meta(const std::string& dir, const ShardSpec& spec, const std::vector<ShardSplitSummary>& splits) {
  nlohmann::ordered_json j;
  j["format"] = "chatforge-shards";
  j["version"] = kShardVersion;
  j["tokenizer_fingerprint"] = spec.tokenizer_fingerprint;
  j["vocab_size"] = spec.vocab_size;
  j["eot_id"] = spec.eot_id;
  j["token_bytes"] = token_bytes_for_vocab(spec.vocab_size);
  j["has_mask"] = spec.has_mask;
  nlohmann::ordered_json sj = nlohmann::ordered_json::object();
  for (const auto& s : splits) {
    nlohmann::ordered_json e;
    e["n_tokens"] = s.n_tokens;
    e["n_docs"] = s.n_docs;
    if (s.n_rows > 0) e["n_rows"] = s.n_rows;  // packed: several documents per training row
    e["files"] = s.files;
    nlohmann::ordered_json counts = nlohmann::ordered_json::array();  // what list_shards checks
    for (const auto& f : s.files) counts.push_back(ShardReader((fs::path(dir) / f).string()).n_tokens());
    e["file_tokens"] = counts;
    sj[s.split] = e;
  }
  j["splits"] = sj;
  write_file_atomic((fs::path(dir) / "meta.json").string(), j.dump(2) + "\n");
  remove_unlisted_shards(dir, splits);
}

ShardReader::ShardReader(const std::string& path) : file_(path) {
  CF_CHECK(file_.size() >= sizeof(ShardHeader), "{}: not a chatforge shard (file is {} bytes, header needs {})", path,
           file_.size(), sizeof(ShardHeader));
  std::memcpy(&header_, file_.data(), sizeof header_);
  CF_CHECK(std::memcmp(header_.magic, kShardMagic, 8) == 0, "{}: not a chatforge shard (bad magic)", path);
  CF_CHECK(header_.version == kShardVersion || header_.version == kShardVersionPacked,
           "{}: unsupported shard version {} (this build reads {} and {})", path, header_.version, kShardVersion,
           kShardVersionPacked);
  CF_CHECK(header_.token_bytes == 2 || header_.token_bytes == 4, "{}: invalid token width {} in header", path,
           header_.token_bytes);
  CF_CHECK(header_.has_mask <= 1, "{}: invalid has_mask {} in header", path, header_.has_mask);
  CF_CHECK(header_.n_tokens < (uint64_t{1} << 50), "{}: implausible token count {} in header", path, header_.n_tokens);
  CF_CHECK(header_.n_docs <= header_.n_tokens, "{}: header claims {} documents in {} tokens (each ends with a token)",
           path, header_.n_docs, header_.n_tokens);
  const uint64_t per_token = header_.token_bytes + (header_.has_mask ? 1 : 0);
  const bool packed = header_.version == kShardVersionPacked;
  CF_CHECK(packed || header_.n_rows == 0, "{}: version-1 shard with a row count ({}) in its header", path,
           header_.n_rows);
  CF_CHECK(!packed || header_.n_rows > 0, "{}: packed shard without rows", path);
  const uint64_t table_bytes = packed ? uint64_t{header_.n_rows} * sizeof(uint64_t) : 0;
  const uint64_t expected = sizeof(ShardHeader) + header_.n_tokens * per_token + table_bytes;
  CF_CHECK(file_.size() >= expected, "{}: truncated shard: {} bytes, header promises {} ({} tokens)", path,
           file_.size(), expected, header_.n_tokens);
  CF_CHECK(file_.size() == expected, "{}: shard has {} trailing bytes after the data the header describes", path,
           file_.size() - expected);
  tokens_ = file_.data() + sizeof(ShardHeader);
  if (header_.has_mask) mask_ = tokens_ + header_.n_tokens * header_.token_bytes;
  if (packed) {
    row_table_ = file_.data() + expected - table_bytes;
    uint64_t prev = 0;
    for (uint64_t r = 0; r < header_.n_rows; ++r) {
      const uint64_t e = row_end_doc(r);
      CF_CHECK(e > prev && e <= header_.n_docs, "{}: row table entry {} is {} (previous {}, documents {})", path, r, e,
               prev, header_.n_docs);
      prev = e;
    }
    CF_CHECK(prev == header_.n_docs, "{}: row table covers {} of {} documents", path, prev, header_.n_docs);
  }
}

uint64_t ShardReader::row_end_doc(uint64_t r) const {
  if (row_table_ == nullptr) return r + 1;
  uint64_t e;
  std::memcpy(&e, row_table_ + r * sizeof(uint64_t), sizeof e);
  return e;
}

std::string ShardReader::fingerprint() const {
  const char* f = header_.tokenizer_fingerprint;
  return std::string(f, strnlen(f, sizeof header_.tokenizer_fingerprint));
}

void ShardReader::read_tokens(uint64_t start, uint64_t n, uint32_t* out) const {
  CF_CHECK(start + n <= header_.n_tokens, "{}: read of tokens [{}, {}) past the end ({})", path(), start, start + n,
           header_.n_tokens);
  if (header_.token_bytes == 4) {
    std::memcpy(out, tokens_ + start * 4, n * 4);
  } else {
    const auto* p = reinterpret_cast<const uint16_t*>(tokens_) + start;
    for (uint64_t i = 0; i < n; ++i) out[i] = p[i];
  }
}

const std::vector<uint64_t>& ShardReader::doc_ends() const {
  if (!doc_ends_ready_) {
    doc_ends_.clear();
    doc_ends_.reserve(header_.n_docs);
    const uint32_t eot = static_cast<uint32_t>(header_.eot_id);
    for (uint64_t i = 0; i < header_.n_tokens; ++i)
      if (tokens(i) == eot) doc_ends_.push_back(i);
    doc_ends_ready_ = true;
  }
  return doc_ends_;
}

namespace {

// The "splits" object of DIR/meta.json, or null where there is none (or it does not parse:
// the readers of meta.json report that themselves).
nlohmann::json meta_splits(const std::string& dir) {
  const fs::path meta = fs::path(dir) / "meta.json";
  std::error_code ec;
  if (!fs::is_regular_file(meta, ec)) return nullptr;
  try {
    const nlohmann::json j = nlohmann::json::parse(read_file(meta.string()));
    if (j.is_object() && j.contains("splits") && j["splits"].is_object()) return j["splits"];
  } catch (const std::exception&) {
  }
  return nullptr;
}

// Checks the shards of `split` found in dir (sorted paths) against meta.json's list: the
// same names and, where meta.json records them, each file's token count. A write into the
// directory that was killed before it wrote meta.json (or shards copied in from another
// set) leaves a mix that every shard alone would pass.
void check_against_meta(const std::string& dir, const std::string& split, const std::vector<std::string>& paths) {
  const nlohmann::json splits = meta_splits(dir);
  if (splits.is_null()) return;
  const std::string meta = (fs::path(dir) / "meta.json").string();
  const std::string hint = "an interrupted or mixed write; rerun the command that wrote this directory";
  if (!splits.contains(split)) {
    CF_CHECK(paths.empty(), "{}: {} is not a shard of this set (it lists no '{}' split): {}", meta,
             fs::path(paths.front()).filename().string(), split, hint);
    return;
  }
  const nlohmann::json& e = splits[split];
  std::vector<std::string> listed;
  if (e.contains("files") && e["files"].is_array())
    for (const auto& f : e["files"]) listed.push_back(f.is_string() ? f.get<std::string>() : "");
  std::vector<std::string> found;
  for (const auto& p : paths) found.push_back(fs::path(p).filename().string());
  std::vector<std::string> sorted_listed = listed;
  std::sort(sorted_listed.begin(), sorted_listed.end());
  for (const auto& f : found)
    CF_CHECK(std::binary_search(sorted_listed.begin(), sorted_listed.end(), f),
             "{}: {} is not one of the {} '{}' shards it lists: {}", meta, f, listed.size(), split, hint);
  for (const auto& f : listed)
    CF_CHECK(std::binary_search(found.begin(), found.end(), f), "{}: lists {}, which is missing from {}: {}", meta, f,
             dir, hint);
  if (!e.contains("file_tokens") || !e["file_tokens"].is_array() || e["file_tokens"].size() != listed.size()) return;
  for (size_t i = 0; i < listed.size(); ++i) {
    const uint64_t have = ShardReader((fs::path(dir) / listed[i]).string()).n_tokens();
    const auto& want = e["file_tokens"][i];
    CF_CHECK(want.is_number_unsigned() && want.get<uint64_t>() == have, "{}: {} holds {} tokens, meta.json says {}: {}",
             meta, listed[i], have, want.dump(), hint);
  }
}

}  // namespace

std::vector<std::string> list_shards(const std::string& dir, const std::string& split) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (shard_split_of(name) == split)
      out.push_back(e.path().string());
  }
  CF_CHECK(!ec, "cannot list {}: {}", dir, ec.message());
  std::sort(out.begin(), out.end());
  check_against_meta(dir, split, out);
  return out;
}

ShardSet::ShardSet(const std::string& dir, const std::string& split) {
  const auto paths = list_shards(dir, split);
  CF_CHECK(!paths.empty(), "no {}_*.bin shards in {}", split, dir);
  for (const auto& p : paths) {
    auto r = std::make_unique<ShardReader>(p);
    if (!shards_.empty()) {
      const ShardReader& f = *shards_[0];
      CF_CHECK(r->vocab_size() == f.vocab_size() && r->eot_id() == f.eot_id() && r->token_bytes() == f.token_bytes() &&
                   r->has_mask() == f.has_mask() && r->fingerprint() == f.fingerprint(),
               "{}: shard does not match {} (vocab {} vs {}, eot {} vs {}, tokenizer '{}' vs '{}', mask {} vs {})", p,
               f.path(), r->vocab_size(), f.vocab_size(), r->eot_id(), f.eot_id(), r->fingerprint(), f.fingerprint(),
               r->has_mask(), f.has_mask());
    }
    starts_.push_back(n_tokens_);
    n_tokens_ += r->n_tokens();
    n_docs_ += r->n_docs();
    shards_.push_back(std::move(r));
  }
}

void ShardSet::read(uint64_t pos, uint64_t n, uint32_t* tokens, uint8_t* mask) const {
  CF_CHECK(pos + n <= n_tokens_, "read of tokens [{}, {}) past the end of the shard set ({} tokens)", pos, pos + n,
           n_tokens_);
  size_t s = static_cast<size_t>(std::upper_bound(starts_.begin(), starts_.end(), pos) - starts_.begin()) - 1;
  while (n > 0) {
    const ShardReader& r = *shards_[s];
    const uint64_t local = pos - starts_[s];
    const uint64_t take = std::min<uint64_t>(n, r.n_tokens() - local);
    r.read_tokens(local, take, tokens);
    if (mask != nullptr) {
      if (r.has_mask())
        std::memcpy(mask, r.mask_data() + local, take);
      else
        std::memset(mask, 1, take);
      mask += take;
    }
    tokens += take;
    pos += take;
    n -= take;
    ++s;
  }
}

ShardSpec shard_spec_for(const tok::Tokenizer& tk, bool has_mask) {
  ShardSpec spec;
  spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
  spec.eot_id = tk.eot_id();
  spec.tokenizer_fingerprint = tk.fingerprint();
  spec.has_mask = has_mask;
  return spec;
}

}  // namespace chatforge::data
