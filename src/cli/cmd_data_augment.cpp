// `chatforge data augment`: the flags of data::augment_shards (data/shard_augment.h: token
// noise on pretraining shards; validation copied unchanged) and its printed summary.
#include <cstdio>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "data/shard_augment.h"

namespace chatforge::cli {

namespace {

struct AugmentFlags {
  data::ShardAugmentOptions options;
  std::string shard_tokens = "100M";
  bool no_progress = false;
};

void run_augment(AugmentFlags f) {
  f.options.shard_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  f.options.progress = !f.no_progress;
  const data::ShardAugmentResult r = data::augment_shards(f.options);
  std::fputs(data::format_shard_augment_summary(r, f.options.out).c_str(), stdout);
}

}  // namespace

void add_data_augment_command(CLI::App& data) {
  auto f = std::make_shared<AugmentFlags>();
  CLI::App* c = data.add_subcommand("augment", "token noise on pretraining shards (masking, deletion, substitution, shuffle)");
  c->add_option("--tokenizer,-t", f->options.tokenizer, "the tokenizer the shards were made with")
      ->type_name(kPath)
      ->required();
  c->add_option("--input,-i", f->options.input, "directory of shards from `data tokenize`")->type_name(kDir)->required();
  c->add_option("--out,-o", f->options.out, "output directory (noised train shards, val copied, meta.json)")
      ->type_name(kDir)
      ->required();
  c->add_option("--mask-rate", f->options.noise.mask_rate, "share of tokens replaced by --mask-token")->capture_default_str();
  c->add_option("--mask-token", f->options.mask_token, "the mask token (a special token or a one-token text)")
      ->capture_default_str();
  c->add_option("--delete-rate", f->options.noise.delete_rate, "share of tokens deleted")->capture_default_str();
  c->add_option("--substitute-rate", f->options.noise.substitute_rate, "share replaced by a random token")->capture_default_str();
  c->add_option("--shuffle-rate", f->options.noise.shuffle_rate, "share swapped with their neighbour")->capture_default_str();
  c->add_flag("--keep-original", f->options.keep_original, "also keep each clean document (doubles the train data)");
  c->add_option("--seed", f->options.seed, "seed of the noise")->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  set_ranges(*c, {{"--mask-rate", "[0, 1]"},
                  {"--delete-rate", "[0, 1]"},
                  {"--substitute-rate", "[0, 1]"},
                  {"--shuffle-rate", "[0, 1]"},
                  {"--seed", kSeedRange}});
  c->add_flag("--no-progress", f->no_progress, "no progress bar");
  add_config_option(*c);
  c->callback([f] { run_augment(*f); });
}

}  // namespace chatforge::cli
