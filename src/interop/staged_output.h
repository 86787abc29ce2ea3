// All-or-nothing outputs: a directory is filled under a temporary name beside its
// destination and renamed into place by commit(); destroyed uncommitted, it is removed,
// so a failed conversion never leaves anything under the output name.
#pragma once
#include <string>

namespace chatforge::interop {

class StagedDir {
 public:
  // Errors when `dest` exists and is not an empty directory (nothing is overwritten).
  explicit StagedDir(std::string dest);
  ~StagedDir();
  StagedDir(const StagedDir&) = delete;
  StagedDir& operator=(const StagedDir&) = delete;
  const std::string& path() const { return tmp_; }  // write here
  void commit();

 private:
  std::string dest_, tmp_;
  bool committed_ = false;
};

}  // namespace chatforge::interop
