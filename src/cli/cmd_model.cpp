// `chatforge model init|info`: create a randomly initialised checkpoint of a chosen
// architecture (GPT-2 or the Llama family) and shape, and describe a checkpoint (config,
// parameter count, tensors, size).
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
  model::GptConfig cfg;  // the sizes
  model::ArchOptions arch;
  std::string out;
  uint64_t seed = 1337;
};

void setup_model(CLI::App& cmd) {
  cmd.require_subcommand(1);
  auto args = std::make_shared<InitArgs>();
  CLI::App* init = cmd.add_subcommand("init", "write a checkpoint with fresh GPT-2-style random weights");
  init->add_option("--out", args->out, "output checkpoint directory")->type_name(kDir)->required();
  init->add_option("--n-layer", args->cfg.n_layer, "transformer blocks")->capture_default_str();
  init->add_option("--n-head", args->cfg.n_head, "attention heads")->capture_default_str();
  init->add_option("--n-embd", args->cfg.n_embd, "channels (a multiple of --n-head)")->capture_default_str();
  init->add_option("--vocab-size", args->cfg.vocab_size, "vocabulary size")->capture_default_str();
  init->add_option("--n-ctx", args->cfg.n_ctx, "maximum sequence length")->capture_default_str();
  add_arch_options(*init, args->arch);
  init->add_option("--seed", args->seed, "seed of the random weights")->capture_default_str();
  namespace r = model::config_range;
  set_ranges(*init, {{"--n-layer", r::kNLayer}, {"--n-head", r::kNHead}, {"--n-embd", r::kNEmbd},
                     {"--vocab-size", r::kVocabSize}, {"--n-ctx", r::kNPositions}, {"--seed", kSeedRange}});
  add_config_option(*init);
  init->callback([args] {
    model::GptConfig cfg;
    try {
      cfg = model::new_model_config(args->cfg, args->arch);
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
    model::Gpt m(cfg);
    m.init_weights(args->seed);
    make_output_dir(args->out);  // also removes temps a killed earlier run left there
    model::save_model(args->out, m);
    std::printf("wrote %s: %s, %zu parameters (%d layers, %d heads, %d channels, vocab %d, context %d)\n",
                args->out.c_str(), cfg.model_type.c_str(), cfg.num_parameters(), cfg.n_layer, cfg.n_head, cfg.n_embd,
                cfg.vocab_size, cfg.n_ctx);
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
    std::printf("architecture %s: %d layers, %d heads, %d channels, head size %d\n", c.model_type.c_str(), c.n_layer,
                c.n_head, c.n_embd, c.head_size());
    if (c.llama())
      std::printf("             %d key/value heads, MLP %d (SwiGLU), rope_theta %g%s%s%s%s\n", c.kv_heads(), c.ffn(),
                  c.rope_theta, c.rope_scaling.type.empty() ? "" : (", rope_scaling " + c.rope_scaling.type).c_str(),
                  c.qkv_bias ? ", q/k/v biases" : "", c.qk_norm ? ", q/k norms" : "",
                  c.tie_embeddings ? ", tied head" : ", untied head");
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
CF_REGISTER_COMMAND({"model", "create or describe checkpoints (GPT-2, Llama, Mistral, Qwen2, Qwen3)", setup_model, 40});
}  // namespace chatforge::cli
