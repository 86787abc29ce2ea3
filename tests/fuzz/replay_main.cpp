// fuzz_replay: the fuzz targets' bodies compiled without libFuzzer (any compiler), so the
// regular suite re-runs every input that once crashed one of them, and the seed corpus.
//   fuzz_replay TARGET PATH...   (files, or folders read recursively; a missing one is skipped)
// Each input runs through TARGET's LLVMFuzzerTestOneInput; a finding aborts the process
// as it would under libFuzzer. Prints how many inputs ran; exits 2 on bad usage.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_registry.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const cf_fuzz::Target* target = nullptr;
  for (const auto& t : cf_fuzz::targets())
    if (argc >= 2 && std::strcmp(argv[1], t.name) == 0) target = &t;
  if (target == nullptr) {
    std::fprintf(stderr, "usage: fuzz_replay TARGET PATH...\ntargets:");
    for (const auto& t : cf_fuzz::targets()) std::fprintf(stderr, " %s", t.name);
    std::fprintf(stderr, "\n");
    return 2;
  }
  std::vector<fs::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(argv[i], ec)) {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "%s: %s (%zu bytes)\n", target->name, f.c_str(), bytes.size());
    target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("%s: %zu inputs ran without a finding\n", target->name, files.size());
  return 0;
}
