// `chatforge data prefs`: preference JSONL (the feedback export, TRL's prompt/chosen/
// rejected and prompt/completion/label layouts) -> the shards `train --stage dpo|kto`
// reads. The build is data::build_preference_dataset (src/data/preference_data.h).
#include <cstdio>
#include <memory>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "data/preference_data.h"

namespace chatforge::cli {

void add_data_prefs_command(CLI::App& data) {
  auto o = std::make_shared<data::PreferenceBuildOptions>();
  CLI::App* c = data.add_subcommand("prefs", "preference JSONL (pairs or rated answers) -> DPO/KTO shards");
  c->add_option("--tokenizer,-t", o->tokenizer, "the model (or tokenizer) folder: its tokenizer and chat template")
      ->type_name(kPath)
      ->required();
  c->add_option("--input,-i", o->inputs, "JSONL files: {prompt, chosen, rejected} or {prompt, completion, label}")
      ->type_name(kFile)
      ->required();
  c->add_option("--out,-o", o->out, "output directory: train_*.bin, val_*.bin, preference.json, meta.json, tokenizer")
      ->type_name(kDir)
      ->required();
  c->add_option("--kind", o->kind, "dpo (pairs) or kto (rated answers; pairs give one liked and one disliked)")
      ->check(CLI::IsMember({"dpo", "kto"}))
      ->capture_default_str();
  c->add_option("--max-len", o->max_len, "most tokens of one example row (both sequences); longer ones are skipped")
      ->capture_default_str();
  c->add_option("--val-fraction", o->val_fraction, "share of records held out for validation (by hash)")
      ->capture_default_str();
  c->add_option("--seed", o->seed, "seed of the split")->capture_default_str();
  c->add_flag("--strict", o->strict, "stop at the first bad record (default: skip and count it)");
  set_ranges(*c, {{"--max-len", "[8, 2^20]"}, {"--val-fraction", "[0, 1)"}, {"--seed", kSeedRange}});
  add_config_option(*c);
  c->callback([o] {
    const data::PreferenceBuildResult r = data::build_preference_dataset(*o);
    std::fputs(data::format_preference_summary(*o, r).c_str(), stdout);
  });
}

}  // namespace chatforge::cli
