// `--config FILE`: path flags in the file resolve against the file's directory
// (so `chatforge chat --config demo/chat.toml` works from any working
// directory), other values and flags given on the command line stay exactly as
// written.
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "core/config_file.h"
#include "core/file_io.h"
#include "test_util.h"

namespace chatforge {
namespace {

namespace fs = std::filesystem;

// Changes the working directory for one scope.
class InDir {
 public:
  explicit InDir(const std::string& d) : old_(fs::current_path()) { fs::current_path(d); }
  ~InDir() { fs::current_path(old_); }

 private:
  fs::path old_;
};

bool config_has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(ConfigFile, ResolvePathJoinsRelativeKeepsAbsoluteStdinAndHome) {
  EXPECT_EQ(resolve_config_path("demo", "runs/sft/last"), "demo/runs/sft/last");
  EXPECT_EQ(resolve_config_path("demo", "../x/./y"), "x/y");
  EXPECT_EQ(resolve_config_path("../cfg", "a.jsonl"), "../cfg/a.jsonl");
  EXPECT_EQ(resolve_config_path("/etc/cf", "m"), "/etc/cf/m");
  EXPECT_EQ(resolve_config_path("demo", "/abs/model"), "/abs/model");
  EXPECT_EQ(resolve_config_path("demo", "~/model"), "~/model");
  EXPECT_EQ(resolve_config_path("demo", "-"), "-");
  EXPECT_EQ(resolve_config_path("demo", ""), "");
  EXPECT_EQ(resolve_config_path("", "runs/sft"),
            "runs/sft");  // a file in the working directory
}

TEST(ConfigFile, PathFlagsAreTheOnesThatNameFiles) {
  for (const char* f : {"model", "tokenizer", "data", "out", "input", "in", "init", "resume", "db", "feedback-db",
                        "mixture", "sensitive-words", "corpus", "prompt-file", "api-key-file"})
    EXPECT_TRUE(is_config_path_flag(f)) << f;
  for (const char* f : {"system", "from", "to", "temperature", "context-policy", "augment-command", "special-tokens",
                        "steps", "name", "lang"})
    EXPECT_FALSE(is_config_path_flag(f)) << f;
}

TEST(ConfigFile, RelativePathsResolveAgainstTheFileFromAnotherDirectory) {
  const std::string root = testing::temp_dir("config_paths");
  fs::create_directories(root + "/cfg/runs/sft/last");
  fs::create_directories(root + "/elsewhere");
  write_file_atomic(root + "/cfg/chat.toml",
                    "model = \"runs/sft/last\"\n"
                    "tokenizer = \"/abs/tok\"\n"
                    "input = [\"a.jsonl\", \"../b.jsonl\", \"-\"]\n"
                    "system = \"runs/not-a-path\"\n"
                    "temperature = 0\n"
                    "out = \"from-file\"\n"
                    "verbose = true\n");
  write_file_atomic(root + "/cfg/run.yaml", "data:\n  - shards/a\n  - shards/b\nsteps: 3\n");
  write_file_atomic(root + "/cfg/run.json", R"({"init": "runs/sft/last", "db": "fb.db", "seq_len": 64})");

  {
    InDir here(root + "/elsewhere");  // not the config's directory
    const auto args = expand_config_args({"chat", "--config", "../cfg/chat.toml", "--out", "mine"});
    EXPECT_TRUE(config_has(args, "--model=../cfg/runs/sft/last")) << fmt::format("{}", fmt::join(args, " "));
    EXPECT_TRUE(fs::is_directory("../cfg/runs/sft/last"));  // the resolved path names the real directory
    EXPECT_TRUE(config_has(args, "--tokenizer=/abs/tok"));
    EXPECT_TRUE(config_has(args, "--input=../cfg/a.jsonl"));
    EXPECT_TRUE(config_has(args, "--input=../b.jsonl"));  // ../cfg/../b.jsonl, normalised
    EXPECT_TRUE(config_has(args, "--input=-"));
    EXPECT_TRUE(config_has(args, "--system=runs/not-a-path"));  // not a path flag: as written
    EXPECT_TRUE(config_has(args, "--temperature=0"));
    EXPECT_TRUE(config_has(args, "--verbose"));
    // The command line wins and is left as given; the file's --out is dropped.
    EXPECT_TRUE(config_has(args, "--out") && config_has(args, "mine"));
    EXPECT_FALSE(std::any_of(args.begin(), args.end(), [](const std::string& a) { return a.starts_with("--out="); }));

    // YAML list items and JSON values, with the absolute path of the file.
    const auto yaml = expand_config_args({"train", "--config=" + root + "/cfg/run.yaml"});
    EXPECT_TRUE(config_has(yaml, "--data=" + root + "/cfg/shards/a"));
    EXPECT_TRUE(config_has(yaml, "--data=" + root + "/cfg/shards/b"));
    EXPECT_TRUE(config_has(yaml, "--steps=3"));
    const auto js = expand_config_args({"train", "--config", "../cfg/run.json"});
    EXPECT_TRUE(config_has(js, "--init=../cfg/runs/sft/last"));
    EXPECT_TRUE(config_has(js, "--db=../cfg/fb.db"));
    EXPECT_TRUE(config_has(js, "--seq-len=64"));
  }
  {
    // A config in the working directory: values as written (nothing to join).
    InDir cfg(root + "/cfg");
    const auto local = expand_config_args({"chat", "--config", "chat.toml"});
    EXPECT_TRUE(config_has(local, "--model=runs/sft/last"));
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace chatforge
