// Implementation of staged_output.h.
#include "interop/staged_output.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"

namespace chatforge::interop {
namespace fs = std::filesystem;

StagedDir::StagedDir(std::string dest) : dest_(std::move(dest)) {
  while (dest_.size() > 1 && dest_.back() == '/') dest_.pop_back();
  std::error_code ec;
  if (fs::exists(dest_, ec)) {
    CF_CHECK(fs::is_directory(dest_, ec) && fs::is_empty(dest_, ec),
             "output {} already exists and is not an empty directory (remove it or choose another --out)", dest_);
  }
  const fs::path parent = fs::path(dest_).parent_path();
  if (!parent.empty()) make_dirs(parent.string());
  const std::string prefix = "." + fs::path(dest_).filename().string() + ".tmp-";
  tmp_ = (parent.empty() ? std::string() : parent.string() + "/") + prefix + std::to_string(::getpid());
  // A killed earlier export to the same place left its staging directory: remove it when
  // its process is gone. Only this output's own staging names are looked at.
  for (const auto& e : fs::directory_iterator(parent.empty() ? fs::path(".") : parent, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    const long pid = temp_name_pid(n);
    if (pid > 0 && (pid == ::getpid() || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)))
      fs::remove_all(e.path(), ec);
  }
  fs::remove_all(tmp_, ec);
  make_dirs(tmp_);
}

StagedDir::~StagedDir() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }
}

void StagedDir::commit() {
  std::error_code ec;
  if (fs::is_directory(dest_, ec)) fs::remove(dest_, ec);  // empty (checked in the constructor)
  CF_CHECK(::rename(tmp_.c_str(), dest_.c_str()) == 0, "cannot rename {} to {}: {}", tmp_, dest_,
           std::strerror(errno));
  committed_ = true;
}

}  // namespace chatforge::interop
