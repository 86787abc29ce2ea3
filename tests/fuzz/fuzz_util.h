// Helpers shared by the fuzz targets (tests/fuzz/fuzz_*.cpp). The rule every target
// follows: chatforge::Error is the expected answer to bad input and is swallowed;
// anything else (a crash, a sanitizer report, another exception escaping
// LLVMFuzzerTestOneInput, a hang, a huge allocation) is a finding that libFuzzer reports.
// Parsers that read files get the input through a private scratch folder.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace chatforge::fuzz {

// A folder of this process's own (in /dev/shm when it exists: no disk writes per run),
// removed at exit.
inline const std::string& scratch_dir() {
  struct Dir {
    std::string path;
    Dir() {
      const char* base = std::getenv("TMPDIR");
      std::string root = base != nullptr && *base != '\0' ? base : "/tmp";
      if (base == nullptr && access("/dev/shm", W_OK) == 0) root = "/dev/shm";
      std::string templ = root + "/cf_fuzz.XXXXXX";
      if (mkdtemp(templ.data()) == nullptr) {
        std::perror("cf_fuzz: mkdtemp");
        std::abort();
      }
      path = templ;
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

// Writes `bytes` to scratch_dir()/name (sub-folders created) and returns the path.
inline std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  const auto parent = std::filesystem::path(path).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    std::perror("cf_fuzz: fopen");
    std::abort();
  }
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
  std::fclose(f);
  return path;
}

// Removes scratch_dir()/name (a file or a folder) so the next run starts clean.
inline void remove_scratch(const std::string& name) {
  std::error_code ec;
  std::filesystem::remove_all(scratch_dir() + "/" + name, ec);
}

// Splits one input into at most `max_parts` parts at NUL bytes (a byte no text format
// here uses), so one input can carry several files: "vocab.json\0merges.txt".
inline std::vector<std::string_view> split_parts(std::string_view data, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t nul = data.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(data.substr(0, nul));
    data.remove_prefix(nul + 1);
  }
  parts.push_back(data);
  return parts;
}

// Runs f; a chatforge::Error (bad input, reported cleanly) is the expected outcome.
template <typename F>
void expect_clean(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// Silently wrong output (a check the harness makes failed): abort, so libFuzzer keeps
// the input like any crash.
[[noreturn]] inline void finding(const char* what) {
  std::fprintf(stderr, "cf_fuzz finding: %s\n", what);
  std::abort();
}

// One byte of the input as a choice in [0, n), consuming it.
inline unsigned take_choice(std::string_view& data, unsigned n) {
  if (data.empty()) return 0;
  const unsigned c = static_cast<unsigned char>(data.front()) % n;
  data.remove_prefix(1);
  return c;
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace chatforge::fuzz
