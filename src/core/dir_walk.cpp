// Implementation of dir_walk.h: an explicit stack instead of recursive_directory_iterator,
// which follows a link loop until ELOOP (40 levels deep, each level listing the files again).
#include "core/dir_walk.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "core/error.h"

namespace chatforge {

namespace fs = std::filesystem;

namespace {
using FileId = std::pair<dev_t, ino_t>;
}  // namespace

std::vector<std::string> list_files_recursive(const std::string& dir,
                                              const std::function<bool(const std::string& name)>& wanted) {
  struct stat st;
  CF_CHECK(::stat(dir.c_str(), &st) == 0, "cannot read directory {}: {}", dir, std::strerror(errno));
  std::set<FileId> dirs_seen{{st.st_dev, st.st_ino}}, files_seen;
  std::vector<std::string> stack{dir}, out;
  while (!stack.empty()) {  // depth first, each directory's entries in name order: deterministic
    const std::string d = std::move(stack.back());
    stack.pop_back();
    std::vector<std::string> entries;
    std::error_code ec;
    fs::directory_iterator it(d, ec);
    CF_CHECK(!ec, "cannot read directory {}: {}", d, ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      CF_CHECK(!ec, "cannot read directory {}: {}", d, ec.message());
      entries.push_back(it->path().string());
    }
    std::sort(entries.begin(), entries.end());
    std::vector<std::string> subdirs;
    for (const auto& path : entries) {
      if (::stat(path.c_str(), &st) != 0) continue;  // a dangling link
      const FileId id{st.st_dev, st.st_ino};
      if (S_ISDIR(st.st_mode)) {
        if (dirs_seen.insert(id).second) subdirs.push_back(path);
      } else if (S_ISREG(st.st_mode) && wanted(fs::path(path).filename().string())) {
        if (files_seen.insert(id).second) out.push_back(path);
      }
    }
    stack.insert(stack.end(), subdirs.rbegin(), subdirs.rend());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> unique_files(const std::vector<std::string>& paths) {
  std::set<FileId> seen;
  std::vector<std::string> out;
  for (const auto& p : paths) {
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    out.push_back(p);
  }
  return out;
}

}  // namespace chatforge
