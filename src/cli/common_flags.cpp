// Implementation of common_flags.h.
#include "cli/common_flags.h"

#include "cli/command.h"
#include "cli/option_checks.h"

namespace chatforge::cli {

CLI::Option* add_threads_option(CLI::App& cmd, int& threads) {
  return cmd.add_option("--threads", threads, "CPU threads; 0: OMP_NUM_THREADS if set, else all cores")
      ->check(threads_range(true))
      ->capture_default_str();
}

void add_arch_options(CLI::App& cmd, model::ArchOptions& a) {
  namespace r = model::config_range;
  cmd.add_option("--arch", a.arch,
                 "architecture: gpt2, or the Llama family (llama, mistral, qwen2: q/k/v biases, qwen3: q/k norms)")
      ->check(CLI::IsMember({"gpt2", "llama", "mistral", "qwen2", "qwen3"}))
      ->capture_default_str();
  cmd.add_option("--n-kv-head", a.n_kv_head, "key/value heads (grouped-query attention; 0: n_head / 4 where it "
                                             "divides, else n_head; Llama family)")
      ->capture_default_str();
  cmd.add_option("--head-dim", a.head_dim, "head size (0: n_embd / n_head; Llama family)")
      ->capture_default_str();
  cmd.add_option("--ffn-dim", a.ffn_dim, "MLP width (0: 8 n_embd / 3 rounded up to 64; Llama family)")
      ->capture_default_str();
  cmd.add_option("--rope-theta", a.rope_theta, "rotary base (0: 10000; Llama family)")
      ->capture_default_str();
  cmd.add_flag("--untied-head", a.untied_head, "an output head of its own instead of the token embedding (Llama family)");
  set_ranges(cmd, {{"--n-kv-head", r::kNKvHead}, {"--head-dim", r::kHeadDimFlag}, {"--ffn-dim", r::kFfnDimFlag},
                   {"--rope-theta", r::kRopeTheta}});
}

int resolve_threads(int n) { return n > 0 ? n : default_threads(); }

}  // namespace chatforge::cli
