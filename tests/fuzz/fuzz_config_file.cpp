// Fuzz target: `--config FILE` (read_config_file, expand_config_args): TOML/INI,
// YAML-style and JSON flag files. Input: one byte choosing the file name, then the file.
#include "core/config_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  static const char* const kNames[] = {"run.toml", "run.yaml", "run.json", "run"};
  const std::string path = fuzz::write_scratch(kNames[fuzz::take_choice(in, 4)], in);
  fuzz::expect_clean([&] {
    const auto pairs = read_config_file(path);
    for (const auto& [key, values] : pairs)
      if (key.empty()) fuzz::finding("a flag with an empty name");
    const auto args = expand_config_args({"train", "--config", path, "--steps=3"});
    if (args.empty() || args.front() != "train" || args.back() != "--steps=3")
      fuzz::finding("the command line around --config was changed");
  });
  return 0;
}
