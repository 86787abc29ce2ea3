// Helpers shared by the C++ test suites.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/error.h"

namespace chatforge::testing {

// A fresh, empty directory under the system temp dir, unique per test name and process.
inline std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const std::string d = fs::temp_directory_path() / ("cf_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The message of the chatforge::Error that f throws, or "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Writes text to path as is (binary mode), replacing the file.
inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The largest |got - want| over n values, relative to the largest |want| (1e-30 at least);
// the absolute figure goes to *abs_out when given.
inline double max_rel_error(const float* got, const float* want, size_t n, double* abs_out = nullptr) {
  double abs = 0, scale = 0;
  for (size_t i = 0; i < n; ++i) {
    abs = std::max(abs, static_cast<double>(std::fabs(got[i] - want[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(want[i])));
  }
  if (abs_out) *abs_out = abs;
  return abs / std::max(scale, 1e-30);
}

}  // namespace chatforge::testing
