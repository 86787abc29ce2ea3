// Recursive directory listing for inputs given as directories. Symbolic links to
// directories are followed, but every directory is entered once and every file listed once
// (identified by device and inode), so a link loop (dir/self -> ..) or two links to one
// file cannot make a tool read the same data again and again.
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace chatforge {

// Regular files under `dir` (recursively) whose file name `wanted` accepts, sorted by path.
// A directory that cannot be read is an error naming it; a dangling link is skipped.
std::vector<std::string> list_files_recursive(const std::string& dir,
                                              const std::function<bool(const std::string& name)>& wanted);

// `paths` without later entries that name a file already listed (same device and inode:
// a hard or symbolic link, "a" and "./a"). Paths that cannot be stat'ed are kept.
std::vector<std::string> unique_files(const std::vector<std::string>& paths);

}  // namespace chatforge
