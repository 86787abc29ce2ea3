// Implementation of file_io.h (POSIX).
#include "core/file_io.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "core/error.h"

namespace chatforge {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  CF_CHECK(f != nullptr, "cannot open {}: {}", path, std::strerror(errno));
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  const bool bad = std::ferror(f);
  std::fclose(f);
  CF_CHECK(!bad, "cannot read {}: {}", path, std::strerror(errno));
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

void make_dirs(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  fs::create_directories(path, ec);
  CF_CHECK(!ec && is_directory(path), "cannot create directory {}: {}", path, ec.message());
}

static void fsync_dir_of(const std::string& path) {
  std::string dir = fs::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
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

MappedFile::MappedFile(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  CF_CHECK(fd >= 0, "cannot open {}: {}", path, std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    fail("cannot stat {}: {}", path, std::strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    fail("{} is a directory, expected a file", path);
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
