// `chatforge model init|info`: create a randomly initialised GPT-2 checkpoint of a
// chosen shape, and describe a checkpoint (config, parameter count, tensors, size).
#include <cstdio>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"

namespace chatforge::cli {
namespace {

struct InitArgs {
  model::GptConfig cfg;
  std::string out;
  uint64_t seed = 1337;
};

void setup(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto args = std::make_shared<InitArgs>();
  CLI::App* init = cmd.add_subcommand("init", "write a GPT-2 checkpoint with fresh GPT-2-style random weights");
  init->add_option("--out", args->out, "output checkpoint directory")->type_name(kDir)->required();
  init->add_option("--n-layer", args->cfg.n_layer, "transformer blocks")->capture_default_str();
  init->add_option("--n-head", args->cfg.n_head, "attention heads")->capture_default_str();
  init->add_option("--n-embd", args->cfg.n_embd, "channels (a multiple of --n-head)")->capture_default_str();
  init->add_option("--vocab-size", args->cfg.vocab_size, "vocabulary size")->capture_default_str();
  init->add_option("--n-ctx", args->cfg.n_ctx, "maximum sequence length")->capture_default_str();
  init->add_option("--seed", args->seed, "seed of the random weights")->capture_default_str();
  namespace r = model::config_range;
  set_ranges(*init, {{"--n-layer", r::kNLayer}, {"--n-head", r::kNHead}, {"--n-embd", r::kNEmbd},
                     {"--vocab-size", r::kVocabSize}, {"--n-ctx", r::kNPositions}, {"--seed", kSeedRange}});
  add_config_option(*init);
  init->callback([args] {
    try {
      args->cfg.validate("flags");
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    model::Gpt m(args->cfg);
    m.init_weights(args->seed);
    make_output_dir(args->out);  // also removes temps a killed earlier run left there
    model::save_model(args->out, m);
    std::printf("wrote %s: %zu parameters (%d layers, %d heads, %d channels, vocab %d, context %d)\n",
                args->out.c_str(), args->cfg.num_parameters(), args->cfg.n_layer, args->cfg.n_head, args->cfg.n_embd,
                args->cfg.vocab_size, args->cfg.n_ctx);
  });

  auto dir = std::make_shared<std::string>();
  auto tensors = std::make_shared<bool>(false);
  CLI::App* info = cmd.add_subcommand("info", "describe a checkpoint directory");
  info->add_option("dir", *dir, "checkpoint directory")->type_name(kDir)->required();
  info->add_flag("--tensors", *tensors, "list every tensor with its shape and dtype");
  add_config_option(*info);
  info->callback([dir, tensors] {
    const model::GptConfig c = model::load_config(*dir);
    std::vector<SafeTensorsReader> readers;
    for (const auto& f : model::weight_files(*dir)) readers.emplace_back(f);
    size_t bytes = 0, count = 0;
    for (const auto& r : readers)
      for (const auto& [name, t] : r.tensors()) bytes += t.nbytes, ++count;
    std::printf("checkpoint   %s\n", dir->c_str());
    std::printf("architecture gpt2: %d layers, %d heads, %d channels, head size %d\n", c.n_layer, c.n_head, c.n_embd,
                c.head_size());
    std::printf("vocabulary   %d (padded to %d internally)\n", c.vocab_size, c.padded_vocab_size());
    std::printf("context      %d tokens\n", c.n_ctx);
    std::printf("parameters   %zu (%.1f M)\n", c.num_parameters(), c.num_parameters() / 1e6);
    std::printf("weights      %zu tensors in %zu file(s), %.1f MB\n", count, readers.size(), bytes / 1e6);
    if (*tensors)
      for (const auto& r : readers)
        for (const auto& [name, t] : r.tensors())
          std::printf("  %-45s %-5s %s\n", name.c_str(), dtype_name(t.dtype), t.shape_str().c_str());
  });
}

}  // namespace
CF_REGISTER_COMMAND({"model", "create or describe GPT-2 checkpoints", setup, 40});
}  // namespace chatforge::cli
