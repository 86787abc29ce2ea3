// `chatforge demo`: trains a bilingual customer-service assistant end to end (see
// src/demo/demo_pipeline.h), then optionally serves it or chats with it (reusing a finished
// demo directory); `chatforge demo data` only writes the generated dataset.
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <map>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "demo/demo_data.h"
#include "demo/demo_pipeline.h"

namespace chatforge::cli {
namespace {

std::vector<demo::Lang> parse_langs(const std::string& s) {
  if (s == "en") return {demo::Lang::kEn};
  if (s == "zh") return {demo::Lang::kZh};
  if (s == "both") return {demo::Lang::kEn, demo::Lang::kZh};
  usage_fail("--lang must be en, zh or both (got '{}')", s);
}

std::string self_exe() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  CF_CHECK(n > 0, "cannot find the chatforge executable (/proc/self/exe)");
  return std::string(buf, static_cast<size_t>(n));
}

struct DemoArgs {
  demo::DemoOptions opt;
  std::string lang = "both";
  bool no_progress = false;
};

struct DataArgs {
  std::string out;
  std::string lang = "both";
  uint64_t seed = 2026;
};

void setup_demo(CLI::App& cmd) {
  static DemoArgs a;
  static DataArgs d;
  cmd.add_option("--out", a.opt.out, "output directory (data, tokenizer, runs, eval, report.html)")
      ->type_name(kDir)
      ->capture_default_str();
  cmd.add_option("--minutes", a.opt.minutes, "time budget for the whole demo; training steps are sized to fit it")
      ->capture_default_str();
  cmd.add_option("--lang", a.lang, "languages of the assistant")
      ->check(CLI::IsMember({"en", "zh", "both"}))
      ->capture_default_str();
  cmd.add_option("--corpus", a.opt.corpus,
                 "extra public-domain text for pretraining (.txt/.jsonl, also .gz/.zst; default: none)")
      ->type_name(kPath)
      ->expected(1, -1);
  auto* serve = cmd.add_flag("--serve", a.opt.serve,
                             "serve the assistant with the web chat page when done (Ctrl-C stops); reuses a finished "
                             "demo in --out made with the same options");
  cmd.add_flag("--chat", a.opt.chat, "chat with the assistant in the terminal when done; reuses a finished demo like --serve")
      ->excludes(serve);
  cmd.add_flag("--fresh", a.opt.fresh, "with --serve or --chat: run the whole demo again even when --out holds a finished one");
  cmd.add_option("--host", a.opt.host, "address for --serve")->capture_default_str();
  cmd.add_option("--port", a.opt.port, "port for --serve")->capture_default_str();
  cmd.add_option("--seed", a.opt.seed, "seed of the data generator and training")->capture_default_str();
  cmd.add_option("--arch", a.opt.arch, "the model's architecture: gpt2, or llama / qwen3 (2 key/value heads)")
      ->check(CLI::IsMember({"gpt2", "llama", "mistral", "qwen2", "qwen3"}))
      ->capture_default_str();
  cmd.add_option("--dtype", a.opt.dtype,
                 "training precision: fp32, bf16, or auto (bf16 where the CPU has AVX512-BF16 or AMX, else fp32)")
      ->transform(CLI::Transformer(std::map<std::string, std::string>{{"f32", "fp32"}}))
      ->check(CLI::IsMember({"auto", "fp32", "bf16"}))
      ->capture_default_str();
  cmd.add_flag("--no-progress", a.no_progress, "no progress bars from the stages");
  set_ranges(cmd, {{"--minutes", "[1, 100000]"}, {"--port", "[0, 65535]"}, {"--seed", kSeedRange}});
  add_config_option(cmd);

  CLI::App* data = cmd.add_subcommand("data", "only write the demo's generated dataset (prose, chats, eval questions)");
  data->add_option("--out", d.out, "output directory")->type_name(kDir)->required();
  data->add_option("--lang", d.lang, "languages of the data")
      ->check(CLI::IsMember({"en", "zh", "both"}))
      ->capture_default_str();
  data->add_option("--seed", d.seed, "seed of the data generator")->capture_default_str();
  set_ranges(*data, {{"--seed", kSeedRange}});
  add_config_option(*data);
  data->callback([] {
    demo::DemoDataOptions o;
    o.langs = parse_langs(d.lang);
    o.seed = d.seed;
    const auto s = demo::write_demo_data(d.out, o);
    std::printf("wrote %s: %s\n", d.out.c_str(), demo::describe(s).c_str());
  });

  cmd.callback([&cmd] {
    if (cmd.got_subcommand("data")) return;
    if (a.opt.minutes < 1) usage_fail("--minutes must be at least 1 (got {})", a.opt.minutes);
    a.opt.langs = parse_langs(a.lang);
    a.opt.progress = !a.no_progress;
    a.opt.self_exe = self_exe();
    demo::run_demo(a.opt);
  });
}

}  // namespace
CF_REGISTER_COMMAND({"demo", "train a bilingual customer-service assistant end to end, in minutes (the main job)",
                     setup_demo, 5});
}  // namespace chatforge::cli
