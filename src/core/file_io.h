// Files: whole-file reads with clear errors, atomic writes (temp file in the same
// directory, fsync, rename, fsync of the directory) so a killed process never leaves a
// half-written file under the final name, read-only memory maps, and the clean-up of
// temp files a killed earlier run left. Whole-file reads and maps accept regular files
// only: a FIFO, directory or device is a one-line error naming the path, never a hang.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge {

std::string read_file(const std::string& path);  // a regular file (see open_regular_file)
// Opens a regular file for reading (O_CLOEXEC) and returns its descriptor. Anything else
// (a FIFO, which would block the open until a writer appears; a directory; a device; a
// socket) is an error naming the path and what it is, checked without blocking.
int open_regular_file(const std::string& path);
// The same check for code that opens the file itself (stat, following links).
void require_regular_file(const std::string& path);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
void make_dirs(const std::string& path);  // like mkdir -p; error names the path
// A path with links, `.` and `..` resolved as far as it exists, without a trailing
// separator: `shards`, `./shards/` and a link to it give the same string.
std::string resolved_path(const std::string& path);
// True when path is dir or lies under it, both resolved.
bool path_within(const std::string& path, const std::string& dir);
// make_dirs for a command's output directory, at the command's start: also removes the
// temp files a killed earlier run left there (remove_stale_temps, at start-up).
void make_output_dir(const std::string& path);

// Writes `data` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view data);

// Streaming atomic writer: write() as often as needed, then commit(). Without commit()
// (an exception, an early return) the temp file is removed and `path` is untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void write(std::string_view s) { write(s.data(), s.size()); }
  void commit();  // flush, fsync, rename over `path`, fsync the directory
  const std::string& path() const { return path_; }
  uint64_t bytes_written() const { return written_; }

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* f_ = nullptr;
  uint64_t written_ = 0;
};

// Removes what killed earlier runs left in `dir`: the temp files of AtomicFile and the
// shard writer (NAME.tmp.PID.XXXXXXXX), of swapped links (.NAME.tmp.PID), of spools
// (.NAME.PID.tmp), and temp directories (.tmp-NAME-PID, .NAME.tmp-PID), each only when
// the process PID no longer runs. With at_startup (called before this process made any
// temp there) this process's own PID counts as gone too: a predecessor killed in the same
// container often had the very same PID. Other names are never touched. Returns the
// names removed (for a log line).
std::vector<std::string> remove_stale_temps(const std::string& dir, bool at_startup = false);
// The same for one destination in a directory shared with other files (convert --out
// FILE): only PATH's own temps (NAME.tmp.PID.XXXXXXXX, .NAME.tmp-PID) are looked at. Call
// it before making a temp for PATH (this process's PID counts as gone).
std::vector<std::string> remove_stale_temps_of(const std::string& path);
// The PID a temp name above carries, or -1 when `name` is not one of them.
long temp_name_pid(const std::string& name);

// Read-only memory map of a whole regular file (open_regular_file). Empty files map to
// size 0, data nullptr.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile& operator=(MappedFile&&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(data_); }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace chatforge
