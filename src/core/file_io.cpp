// Implementation of file_io.h (POSIX).
#include "core/file_io.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <random>

#include "core/error.h"

namespace chatforge {

namespace fs = std::filesystem;

namespace {

// "a FIFO", "a directory" ...: what a path is when it is not a regular file.
const char* kind_of(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

}  // namespace

int open_regular_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  CF_CHECK(fd >= 0, "cannot open {}: {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot stat {}: {}", path, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{} is {}, expected a regular file", path, kind_of(st.st_mode));
  }
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

void require_regular_file(const std::string& path) {
  struct stat st;
  CF_CHECK(::stat(path.c_str(), &st) == 0, "cannot open {}: {}", path, std::strerror(errno));
  CF_CHECK(S_ISREG(st.st_mode), "{} is {}, expected a regular file", path, kind_of(st.st_mode));
}

std::string read_file(const std::string& path) {
  const int fd = open_regular_file(path);
  struct stat st;
  std::string out;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      fail("cannot read {}: {}", path, std::strerror(err));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string resolved_path(const std::string& path) {
  std::error_code ec;
  std::string r = std::filesystem::weakly_canonical(path, ec).lexically_normal().string();
  while (r.size() > 1 && r.back() == '/') r.pop_back();
  return r;
}

bool path_within(const std::string& path, const std::string& dir) {
  const std::string p = resolved_path(path), d = resolved_path(dir);
  return p == d || p.rfind(d == "/" ? d : d + "/", 0) == 0;
}

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::create_directories(path, ec);
  CF_CHECK(!ec && is_directory(path), "cannot create directory {}: {}", path, ec.message());
}

void make_output_dir(const std::string& path) {
  make_dirs(path);
  remove_stale_temps(path.empty() ? "." : path, /*at_startup=*/true);
}

static void fsync_dir_of(const std::string& path) {
  const std::string parent = fs::path(path).parent_path().string();
  const char* dir = parent.empty() ? "." : parent.c_str();  // (no string assignment: GCC 12 -Wrestrict misreads it)
  const int fd = ::open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  std::random_device rd;
  tmp_path_ = fmt::format("{}.tmp.{}.{:08x}", path_, ::getpid(), rd());
  f_ = std::fopen(tmp_path_.c_str(), "wb");
  CF_CHECK(f_ != nullptr, "cannot create {}: {}", tmp_path_, std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (f_ != nullptr) {
    std::fclose(f_);
    ::unlink(tmp_path_.c_str());
  }
}

void AtomicFile::write(const void* data, size_t n) {
  CF_ASSERT(f_ != nullptr);
  if (n == 0) return;
  CF_CHECK(std::fwrite(data, 1, n, f_) == n, "cannot write {}: {}", tmp_path_, std::strerror(errno));
  written_ += n;
}

void AtomicFile::commit() {
  CF_ASSERT(f_ != nullptr);
  const bool flushed = std::fflush(f_) == 0 && ::fsync(::fileno(f_)) == 0;
  const int err = errno;
  std::fclose(f_);
  f_ = nullptr;
  if (!flushed) {
    ::unlink(tmp_path_.c_str());
    fail("cannot write {}: {}", path_, std::strerror(err));
  }
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    const int rerr = errno;
    ::unlink(tmp_path_.c_str());
    fail("cannot rename {} to {}: {}", tmp_path_, path_, std::strerror(rerr));
  }
  fsync_dir_of(path_);
}

void write_file_atomic(const std::string& path, std::string_view data) {
  AtomicFile f(path);
  f.write(data);
  f.commit();
}

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
bool all_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}
// PIDs are at most 2^22 on Linux; a bigger number is not one of our temp names.
long to_pid(std::string_view s) {
  if (!all_digits(s)) return -1;
  const long v = std::stol(std::string(s));
  return v > 0 && v <= (1L << 22) ? v : -1;
}
bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

long temp_name_pid(const std::string& name_in) {
  const std::string_view name = name_in;
  // NAME.tmp.PID.XXXXXXXX (AtomicFile, shard writer)
  if (name.size() > 9 && name[name.size() - 9] == '.' && all_hex(name.substr(name.size() - 8))) {
    const std::string_view head = name.substr(0, name.size() - 9);  // NAME.tmp.PID
    const size_t dot = head.rfind('.');
    if (dot != std::string_view::npos && dot >= 5 && head.substr(dot - 4, 4) == ".tmp")
      if (const long pid = to_pid(head.substr(dot + 1)); pid > 0) return pid;
  }
  if (name.size() < 2 || name[0] != '.') return -1;
  // .tmp-NAME-PID (checkpoint step directories)
  if (starts(name, ".tmp-")) {
    const size_t dash = name.rfind('-');
    if (dash > 5) return to_pid(name.substr(dash + 1));
  }
  // .NAME.tmp.PID (swapped links) and .NAME.tmp-PID (staged output directories)
  for (std::string_view mid : {std::string_view(".tmp."), std::string_view(".tmp-")}) {
    const size_t at = name.rfind(mid);
    if (at != std::string_view::npos && at >= 2)
      if (const long pid = to_pid(name.substr(at + mid.size())); pid > 0) return pid;
  }
  // .NAME.PID.tmp (spools)
  if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") {
    const std::string_view head = name.substr(0, name.size() - 4);
    const size_t dot = head.rfind('.');
    if (dot != std::string_view::npos && dot >= 2) return to_pid(head.substr(dot + 1));
  }
  return -1;
}

namespace {

std::vector<std::string> remove_stale(const std::string& dir, bool at_startup,
                                      const std::function<bool(const std::string&)>& mine) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!mine(name)) continue;
    const long pid = temp_name_pid(name);
    if (pid <= 0) continue;
    const bool ours = at_startup && pid == static_cast<long>(::getpid());  // a predecessor with our PID
    if (!ours && !(::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) continue;  // still running
    std::error_code rec;
    fs::remove_all(e.path(), rec);
    if (!rec) removed.push_back(name);
  }
  std::sort(removed.begin(), removed.end());
  return removed;
}

}  // namespace

std::vector<std::string> remove_stale_temps(const std::string& dir, bool at_startup) {
  return remove_stale(dir, at_startup, [](const std::string&) { return true; });
}

std::vector<std::string> remove_stale_temps_of(const std::string& path) {
  const fs::path p(path);
  const std::string name = p.filename().string();
  const std::string file_temp = name + ".tmp.", dir_temp = "." + name + ".tmp-";
  return remove_stale(p.has_parent_path() ? p.parent_path().string() : ".", /*at_startup=*/true,
                      [&](const std::string& n) { return n.rfind(file_temp, 0) == 0 || n.rfind(dir_temp, 0) == 0; });
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = open_regular_file(path);  // a FIFO, directory or device is an error here
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot stat {}: {}", path, std::strerror(err));
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0) {
    data_ = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data_ == MAP_FAILED) {
      const int err = errno;
      data_ = nullptr;
      ::close(fd);
      fail("cannot map {}: {}", path, std::strerror(err));
    }
  }
  ::close(fd);
}

MappedFile::MappedFile(MappedFile&& o) noexcept : path_(std::move(o.path_)), data_(o.data_), size_(o.size_) {
  o.data_ = nullptr;
  o.size_ = 0;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

}  // namespace chatforge
