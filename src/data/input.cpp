// Implementation of input.h: zlib (gzread also passes plain files through) and zstd
// streaming decompression, line splitting, JSONL field extraction with nlohmann::json.
#include "data/input.h"

#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <nlohmann/json.hpp>

#include "core/dir_walk.h"
#include "core/error.h"
#include "core/json_util.h"

namespace chatforge::data {

namespace fs = std::filesystem;

namespace {

// Bytes read at a time: big enough that syscalls do not matter, small enough that a
// reader per small file does not touch a megabyte of fresh pages.
constexpr size_t kReadChunk = 1 << 16;

bool supported_name(const std::string& name) {
  const std::string base = without_compression_suffix(name);
  return base.ends_with(".txt") || base.ends_with(".md") || base.ends_with(".jsonl") || base.ends_with(".json");
}

std::string stem_of(const std::string& arg) {
  std::string name = fs::path(arg).filename().string();
  if (name.empty()) name = fs::path(arg).parent_path().filename().string();  // "dir/"
  name = without_compression_suffix(name);
  const size_t dot = name.find('.');
  if (dot != std::string::npos && dot > 0) name = name.substr(0, dot);
  return name.empty() ? "input" : name;
}

class PlainSource : public ByteSource {
 public:
  explicit PlainSource(const std::string& path) : path_(path) {
    f_ = std::fopen(path.c_str(), "rb");
    CF_CHECK(f_ != nullptr, "cannot open {}: {}", path, std::strerror(errno));
  }
  ~PlainSource() override { std::fclose(f_); }
  size_t read(char* buf, size_t n) override {
    const size_t r = std::fread(buf, 1, n, f_);
    CF_CHECK(r > 0 || !std::ferror(f_), "cannot read {}: {}", path_, std::strerror(errno));
    consumed_ += r;
    return r;
  }
  uint64_t consumed() const override { return consumed_; }

 private:
  std::string path_;
  std::FILE* f_;
  uint64_t consumed_ = 0;
};

class GzipSource : public ByteSource {
 public:
  explicit GzipSource(const std::string& path) : path_(path) {
    {
      std::FILE* probe = std::fopen(path.c_str(), "rb");
      CF_CHECK(probe != nullptr, "cannot open {}: {}", path, std::strerror(errno));
      std::fclose(probe);
    }
    gz_ = gzopen(path.c_str(), "rb");
    CF_CHECK(gz_ != nullptr, "cannot open {}", path);
    gzbuffer(gz_, 1 << 17);
  }
  ~GzipSource() override { gzclose(gz_); }
  size_t read(char* buf, size_t n) override {
    const int r = gzread(gz_, buf, static_cast<unsigned>(n));
    if (r < 0) {
      int err = 0;
      const char* msg = gzerror(gz_, &err);
      fail("{}: corrupt gzip data: {}", path_, msg);
    }
    if (r == 0) {
      // zlib reports a stream cut short as a soft error (Z_BUF_ERROR) and returns the
      // bytes it could decode; data cut mid-record must not pass as a complete file.
      int err = 0;
      gzerror(gz_, &err);
      CF_CHECK(err == Z_OK, "{}: truncated gzip stream (the file ends before the compressed data does)", path_);
    }
    return static_cast<size_t>(r);
  }
  uint64_t consumed() const override { return static_cast<uint64_t>(std::max<z_off_t>(0, gzoffset(gz_))); }

 private:
  std::string path_;
  gzFile gz_;
};

class ZstdSource : public ByteSource {
 public:
  explicit ZstdSource(const std::string& path) : path_(path), in_(ZSTD_DStreamInSize()) {
    f_ = std::fopen(path.c_str(), "rb");
    CF_CHECK(f_ != nullptr, "cannot open {}: {}", path, std::strerror(errno));
    ds_ = ZSTD_createDStream();
    ZSTD_initDStream(ds_);
  }
  ~ZstdSource() override {
    ZSTD_freeDStream(ds_);
    std::fclose(f_);
  }
  size_t read(char* buf, size_t n) override {
    ZSTD_outBuffer out{buf, n, 0};
    while (out.pos == 0) {
      if (ib_.pos == ib_.size) {
        const size_t r = std::fread(in_.data(), 1, in_.size(), f_);
        CF_CHECK(r > 0 || !std::ferror(f_), "cannot read {}: {}", path_, std::strerror(errno));
        if (r == 0) {
          CF_CHECK(last_ret_ == 0, "{}: truncated zstd stream", path_);
          return 0;
        }
        consumed_ += r;
        ib_ = ZSTD_inBuffer{in_.data(), r, 0};
      }
      last_ret_ = ZSTD_decompressStream(ds_, &out, &ib_);
      CF_CHECK(!ZSTD_isError(last_ret_), "{}: corrupt zstd data: {}", path_, ZSTD_getErrorName(last_ret_));
    }
    return out.pos;
  }
  uint64_t consumed() const override { return consumed_; }

 private:
  std::string path_;
  std::FILE* f_;
  ZSTD_DStream* ds_;
  std::vector<char> in_;
  ZSTD_inBuffer ib_{nullptr, 0, 0};
  size_t last_ret_ = 0;
  uint64_t consumed_ = 0;
};

}  // namespace

uint64_t max_record_bytes_from_mb(int64_t mb) {
  if (mb < 0 || mb > (1 << 20))
    usage_fail("--max-record-mb {} is out of range: use 1 to 1048576, or 0 for no limit", mb);
  return static_cast<uint64_t>(mb) << 20;
}

std::unique_ptr<ByteSource> ByteSource::open(const std::string& path) {
  if (path.ends_with(".gz")) return std::make_unique<GzipSource>(path);
  if (path.ends_with(".zst")) return std::make_unique<ZstdSource>(path);
  return std::make_unique<PlainSource>(path);
}

std::string without_compression_suffix(const std::string& name) {
  if (name.ends_with(".gz")) return name.substr(0, name.size() - 3);
  if (name.ends_with(".zst")) return name.substr(0, name.size() - 4);
  return name;
}

std::vector<InputFile> expand_inputs(const std::vector<std::string>& args) {
  std::vector<InputFile> out;
  for (const auto& arg : args) {
    std::error_code ec;
    const auto st = fs::status(arg, ec);
    CF_CHECK(!ec && fs::exists(st), "input {} does not exist", arg);
    const std::string source = stem_of(arg);
    if (fs::is_directory(st)) {
      for (auto& f : list_files_recursive(arg, supported_name))
        out.push_back({f, source, static_cast<uint64_t>(fs::file_size(f, ec))});
    } else {
      // A file named explicitly is read whatever its extension (unknown ones as text).
      out.push_back({arg, source, static_cast<uint64_t>(fs::file_size(arg, ec))});
    }
  }
  // Each file once, however many arguments, directories or links lead to it.
  std::set<std::pair<dev_t, ino_t>> seen;
  std::vector<InputFile> kept;
  for (auto& f : out) {
    struct stat st;
    if (::stat(f.path.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    kept.push_back(std::move(f));
  }
  out = std::move(kept);
  for (const auto& f : out) {
    std::FILE* probe = std::fopen(f.path.c_str(), "rb");
    CF_CHECK(probe != nullptr, "cannot open {}: {}", f.path, std::strerror(errno));
    std::fclose(probe);
  }
  return out;
}

DocumentStream::DocumentStream(std::vector<InputFile> files, InputOptions opts)
    : files_(std::move(files)), opts_(std::move(opts)) {
  for (const auto& f : files_) total_bytes_ += f.size;
  if (opts_.txt_split != "file" && opts_.txt_split != "paragraph" && opts_.txt_split != "line")
    usage_fail("unknown --txt-split '{}' (use file, paragraph or line)", opts_.txt_split);
}

DocumentStream::~DocumentStream() = default;

uint64_t DocumentStream::bytes_consumed() const { return done_bytes_ + (src_ ? src_->consumed() : 0); }

void DocumentStream::issue(uint64_t line, std::string reason) {
  const std::string& file = files_[file_index_].path;
  if (opts_.strict) fail("{}:{}: {}", file, line, reason);
  ++n_issues_;
  if (issues_.size() < 1000) issues_.push_back({file, line, std::move(reason)});
}

bool DocumentStream::open_next_file() {
  if (file_open_) {
    done_bytes_ += files_[file_index_].size;
    ++file_index_;
    src_.reset();
    file_open_ = false;
  }
  if (file_index_ >= files_.size()) return false;
  const std::string& path = files_[file_index_].path;
  src_ = ByteSource::open(path);
  const std::string base = without_compression_suffix(path);
  kind_ = (base.ends_with(".jsonl") || base.ends_with(".json")) ? Kind::kJsonl : Kind::kText;
  buf_.clear();
  buf_pos_ = 0;
  eof_ = false;
  line_no_ = 0;
  file_open_ = true;
  return true;
}

void DocumentStream::check_record_size(size_t size, uint64_t line, const char* what) const {
  if (opts_.max_record_bytes == 0 || size <= opts_.max_record_bytes) return;
  const std::string& file = files_[file_index_].path;
  const std::string mib = fmt::format("{} MiB", opts_.max_record_bytes >> 20);
  if (line == 0)
    fail("{}: a document longer than {} (--txt-split file reads a whole file as one document: use --txt-split "
         "paragraph or line, or raise --max-record-mb; docs/limits.md)",
         file, mib);
  fail("{}:{}: {} longer than {} (raise --max-record-mb; docs/limits.md)", file, line, what, mib);
}

bool DocumentStream::read_line(std::string& line) {
  line.clear();
  while (true) {
    const size_t nl = buf_.find('\n', buf_pos_);
    check_record_size(line.size() + ((nl == std::string::npos ? buf_.size() : nl) - buf_pos_), line_no_ + 1, "a line");
    if (nl != std::string::npos) {
      line.append(buf_, buf_pos_, nl - buf_pos_);
      buf_pos_ = nl + 1;
      ++line_no_;
      return true;
    }
    line.append(buf_, buf_pos_, std::string::npos);
    buf_.clear();
    buf_pos_ = 0;
    if (eof_) {
      if (line.empty()) return false;
      ++line_no_;
      return true;
    }
    buf_.resize(kReadChunk);
    const size_t n = src_->read(buf_.data(), buf_.size());
    buf_.resize(n);
    raw_bytes_ += n;
    if (n == 0) eof_ = true;
  }
}

bool DocumentStream::next(RawDocument& doc) {
  std::string line;
  while (true) {
    if (!file_open_ && !open_next_file()) return false;
    const InputFile& f = files_[file_index_];
    doc.file = f.path;
    doc.source = f.default_source;
    doc.label.clear();
    if (kind_ == Kind::kJsonl) {
      if (!read_line(line)) {
        if (!open_next_file()) return false;
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      doc.line = line_no_;
      std::string why;
      const std::optional<nlohmann::json> parsed = try_parse_json(line, &why);
      if (!parsed || !parsed->is_object()) {
        issue(line_no_, !parsed ? why : "JSON line is not an object");
        continue;
      }
      const nlohmann::json& j = *parsed;
      auto it = j.find(opts_.text_field);
      if (it == j.end() || !it->is_string()) {
        issue(line_no_, it == j.end() ? fmt::format("missing field \"{}\"", opts_.text_field)
                                      : fmt::format("field \"{}\" is not a string", opts_.text_field));
        continue;
      }
      doc.text = it->get<std::string>();
      if (auto s = j.find(opts_.source_field); s != j.end() && s->is_string() && !s->get<std::string>().empty())
        doc.source = s->get<std::string>();
      if (auto l = j.find(opts_.label_field); l != j.end()) {
        if (l->is_string())
          doc.label = l->get<std::string>();
        else if (!l->is_null())
          doc.label = l->dump();
      }
      return true;
    }
    // Text files.
    if (opts_.txt_split == "file") {
      doc.text.clear();
      doc.line = 0;
      std::string chunk(kReadChunk, '\0');
      size_t n;
      while ((n = src_->read(chunk.data(), chunk.size())) > 0) {
        check_record_size(doc.text.size() + n, 0, "a document");
        doc.text.append(chunk.data(), n);
        raw_bytes_ += n;
      }
      open_next_file();  // advance (closes this one)
      return true;
    }
    if (opts_.txt_split == "line") {
      if (!read_line(line)) {
        if (!open_next_file()) return false;
        continue;
      }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      doc.line = line_no_;
      doc.text = std::move(line);
      return true;
    }
    // Paragraphs: runs of non-blank lines.
    doc.text.clear();
    doc.line = 0;
    bool got = false;
    while (read_line(line)) {
      const bool blank = line.find_first_not_of(" \t\r") == std::string::npos;
      if (blank) {
        if (got) break;
        continue;
      }
      if (!got) doc.line = line_no_;
      check_record_size(doc.text.size() + 1 + line.size(), doc.line, "a paragraph");
      if (got) doc.text += '\n';
      doc.text += line;
      got = true;
    }
    if (got) return true;
    if (!open_next_file()) return false;
  }
}

}  // namespace chatforge::data
