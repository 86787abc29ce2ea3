// Streaming document input for the data tools: files and directories (recursive,
// sorted, so runs are reproducible), plain or .gz/.zst compressed, read in chunks.
// .jsonl lines yield one document each (text/source/label fields chosen by name);
// .txt/.md files yield one document per file, per blank-line paragraph, or per line.
// Malformed lines are skipped and recorded with file:line (or, strict, thrown). A record
// (line, paragraph or whole-file document) longer than max_record_bytes is an error naming
// file:line: the tools downstream hold 5-40x a record's size in memory (docs/limits.md).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace chatforge::data {

// Default for --max-record-mb: far above any real document (a long book is 5 MB).
inline constexpr uint64_t kDefaultMaxRecordBytes = 64ull << 20;

// "--max-record-mb N" as bytes (0 = no limit); a UsageError outside 0..1048576.
uint64_t max_record_bytes_from_mb(int64_t mb);

struct InputOptions {
  std::string text_field = "text";
  std::string source_field = "source";  // missing -> the input argument's stem
  std::string label_field = "label";    // missing -> ""
  std::string txt_split = "file";       // file | paragraph | line
  bool strict = false;                  // a malformed line stops the run with file:line
  uint64_t max_record_bytes = kDefaultMaxRecordBytes;  // 0 = no limit
};

struct RawDocument {
  std::string text, source, label;
  std::string file;   // path as found
  uint64_t line = 0;  // 1-based line (jsonl, line/paragraph split) or 0 (whole file)
};

struct InputIssue {
  std::string file;
  uint64_t line = 0;
  std::string reason;
};

// One input file found by expand_inputs, with the default source name (the stem of
// the command-line argument it came from: `--input web/ books.jsonl` -> web, books).
struct InputFile {
  std::string path;
  std::string default_source;
  uint64_t size = 0;  // bytes on disk
};

// The file name without a trailing .gz or .zst ("a.jsonl.gz" -> "a.jsonl").
std::string without_compression_suffix(const std::string& name);

// Expands files and directories (recursively, only .txt .md .jsonl .json, optionally
// .gz/.zst) into a sorted list. A missing or unreadable argument is an error naming it.
std::vector<InputFile> expand_inputs(const std::vector<std::string>& args);

// Sequential reader of compressed or plain bytes.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual size_t read(char* buf, size_t n) = 0;  // 0 at end; throws on errors
  virtual uint64_t consumed() const = 0;         // bytes of the file on disk consumed
  static std::unique_ptr<ByteSource> open(const std::string& path);  // by extension
};

class DocumentStream {
 public:
  DocumentStream(std::vector<InputFile> files, InputOptions opts);
  ~DocumentStream();
  bool next(RawDocument& doc);  // false at the end of the last file
  uint64_t total_bytes() const { return total_bytes_; }   // sum of on-disk sizes
  uint64_t bytes_consumed() const;                        // on-disk bytes read so far
  uint64_t raw_bytes() const { return raw_bytes_; }       // decompressed bytes read
  const std::vector<InputIssue>& issues() const { return issues_; }  // first 1000
  uint64_t n_issues() const { return n_issues_; }

 private:
  bool open_next_file();
  bool read_line(std::string& line);  // false at end of current file
  void check_record_size(size_t size, uint64_t line, const char* what) const;  // the --max-record-mb error
  void issue(uint64_t line, std::string reason);
  enum class Kind { kJsonl, kText };
  std::vector<InputFile> files_;
  InputOptions opts_;
  size_t file_index_ = 0;
  bool file_open_ = false;
  Kind kind_ = Kind::kText;
  std::unique_ptr<ByteSource> src_;
  std::string buf_;
  size_t buf_pos_ = 0;
  bool eof_ = false;
  uint64_t line_no_ = 0;
  uint64_t total_bytes_ = 0, done_bytes_ = 0, raw_bytes_ = 0;
  std::vector<InputIssue> issues_;
  uint64_t n_issues_ = 0;
};

}  // namespace chatforge::data
