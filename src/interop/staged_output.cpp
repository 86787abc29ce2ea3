// Implementation of staged_output.h.
#include "interop/staged_output.h"

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
  tmp_ = (parent.empty() ? std::string() : parent.string() + "/") + "." + fs::path(dest_).filename().string() +
         ".tmp-" + std::to_string(::getpid());
  remove_stale_temps_of(dest_);  // the staging directory of a killed earlier export to dest_
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
