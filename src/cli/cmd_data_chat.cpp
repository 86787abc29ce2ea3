// `chatforge data chat`: supervised chat data (messages JSONL, ShareGPT, Alpaca,
// prompt/completion, Q/A CSV/TSV, or a task mixture of them) -> SFT token shards with a
// loss mask. The flags fill data::ChatBuildOptions; the build is data::build_chat_dataset
// (src/data/chat_build.h), the --augment-model paraphraser infer::load_greedy_continuation
// + data::chat_model_paraphraser. Also the masked view used by `data inspect`.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "data/chat_build.h"
#include "data/paraphrase.h"
#include "infer/greedy.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::cli {

namespace {

// The flags: the library's options, plus the ones given as text (k/M/G counts).
struct ChatFlags {
  data::ChatBuildOptions o;
  std::string shard_tokens = "100M", mixture_size;
  bool no_progress = false;
};

// --augment-command, or --augment-model (a chatforge chat model answering each text as a
// user turn after the optional --augment-instruction system prompt, greedily).
data::Paraphraser make_paraphraser(const data::ChatBuildOptions& o) {
  if (o.paraphrase_rate <= 0) return {};
  if (o.augment_model.empty()) return data::command_paraphraser(o.augment_command, o.augment_timeout);
  auto tk = std::make_shared<const tok::Tokenizer>(tok::Tokenizer::load(o.augment_model));
  std::shared_ptr<const tok::ChatFormat> chat = tok::load_chat_format(*tk, {o.augment_model});
  CF_CHECK(chat, "--augment-model {}: the model has no chat template (no chat_template in tokenizer_config.json, no "
                 "<|im_start|>/<|im_end|> tokens)", o.augment_model);
  return data::chat_model_paraphraser(tk, chat, infer::load_greedy_continuation(o.augment_model, tk->vocab_size()),
                                      o.augment_instruction);
}

void run_chat(ChatFlags f) {
  f.o.shard_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  f.o.mixture_size = f.mixture_size.empty() ? 0 : parse_count_flag("--mixture-size", f.mixture_size);
  f.o.progress = !f.no_progress;
  f.o.threads = resolve_threads(f.o.threads);
  data::check_chat_build_options(f.o, !f.o.augment_command.empty() || !f.o.augment_model.empty());
  const data::ChatBuildResult r = data::build_chat_dataset(f.o, make_paraphraser(f.o));
  std::fputs(data::format_chat_build_summary(r).c_str(), stdout);
}

}  // namespace

void add_data_chat_command(CLI::App& data) {
  auto f = std::make_shared<ChatFlags>();
  f->o.threads = 0;  // 0: default_threads(), see run_chat
  CLI::App* c = data.add_subcommand("chat", "chat / Q&A data -> SFT shards with an assistant-only loss mask");
  c->add_option("--tokenizer,-t", f->o.tokenizer, "tokenizer directory (with <|im_start|> and <|im_end|>)")
      ->type_name(kPath)
      ->required();
  c->add_option("--input,-i", f->o.inputs,
                "JSONL/JSON/CSV/TSV files or directories (also .gz/.zst; default: none, with --mixture)")
      ->type_name(kPath);
  c->add_option("--out,-o", f->o.out, "output directory: train_*.bin, val_*.bin, val-<task>_*.bin, meta.json, tokenizer")
      ->type_name(kDir)
      ->required();
  c->add_option("--format", f->o.format, "auto, messages, sharegpt, alpaca, prompt-completion, csv or tsv")
      ->capture_default_str();
  c->add_option("--mixture", f->o.mixture,
                "task mixture file (JSON or YAML): task, path, weight|epochs, system (default: none)")
      ->type_name(kFile);
  c->add_option("--mixture-size", f->mixture_size, "train examples to sample for a weighted mixture (default: natural)");
  c->add_option("--system", f->o.system, "system prompt for conversations that have none (default: none)");
  c->add_option("--max-len", f->o.max_len, "most tokens per conversation, end-of-text included")->capture_default_str();
  c->add_option("--truncate", f->o.truncate, "too long: drop, or keep-last-turns")->capture_default_str();
  c->add_flag("--pack", f->o.pack,
              "pack several conversations per training row of --max-len tokens (first-fit; attention and positions "
              "stay per conversation)");
  c->add_option("--val-fraction", f->o.val_fraction, "share of conversations for validation (by hash)")
      ->capture_default_str();
  c->add_option("--seed", f->o.seed, "seed of the split, mixture sampling and augmentation")->capture_default_str();
  c->add_flag("--strict", f->o.strict, "stop at the first bad record (default: skip and count it)");
  c->add_option("--max-record-mb", f->o.max_record_mb, "largest JSONL line in MiB; 0 = no limit")->capture_default_str();
  c->add_flag("--add-chat-tokens", f->o.add_chat_tokens, "append <|im_start|>/<|im_end|> to a tokenizer lacking them");
  c->add_option("--chat-template", f->o.chat_template,
                "auto (the tokenizer folder's chat_template, else ChatML), chatml, or a tokenizer_config.json / its folder")
      ->type_name("auto|chatml|PATH")
      ->capture_default_str();
  c->add_option("--mask-rate", f->o.noise.mask_rate, "noise: share of touchable tokens replaced by --mask-token")
      ->capture_default_str();
  c->add_option("--mask-token", f->o.mask_token, "the mask token (a special token or a one-token text)")
      ->capture_default_str();
  c->add_option("--delete-rate", f->o.noise.delete_rate, "noise: share of touchable tokens deleted")->capture_default_str();
  c->add_option("--substitute-rate", f->o.noise.substitute_rate, "noise: share replaced by a random token")
      ->capture_default_str();
  c->add_option("--shuffle-rate", f->o.noise.shuffle_rate, "noise: share swapped with their neighbour")
      ->capture_default_str();
  c->add_flag("--augment-targets", f->o.noise.targets, "noise also on assistant turns (default: user turns only)");
  c->add_option("--augment-command", f->o.augment_command,
                "paraphrase/translate program: text on stdin -> stdout (default: none)");
  c->add_option("--augment-model", f->o.augment_model,
                "chatforge chat model that paraphrases/translates each user text (answers it as a user turn; "
                "default: none)")
      ->type_name(kDir);
  c->add_option("--augment-instruction", f->o.augment_instruction,
                "system prompt for --augment-model, e.g. \"Translate into Chinese.\" (default: none)");
  c->add_option("--paraphrase-rate", f->o.paraphrase_rate, "share of train conversations paraphrased as extra examples")
      ->capture_default_str();
  c->add_option("--augment-timeout", f->o.augment_timeout, "seconds one --augment-command call may take")
      ->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  c->add_option("--dump-text", f->o.dump_text,
                "also write every output conversation with its rendered text to this JSONL file (default: none)")
      ->type_name(kFile);
  add_threads_option(*c, f->o.threads);
  set_ranges(*c, {{"--max-record-mb", "[0, 2^20]"},
                  {"--max-len", "[8, 2^20]"},
                  {"--val-fraction", "[0, 1)"},
                  {"--seed", kSeedRange},
                  {"--mask-rate", "[0, 1]"},
                  {"--delete-rate", "[0, 1]"},
                  {"--substitute-rate", "[0, 1]"},
                  {"--shuffle-rate", "[0, 1]"},
                  {"--paraphrase-rate", "[0, 1]"},
                  {"--augment-timeout", "(0, 86400]"}});
  c->add_flag("--no-progress", f->no_progress, "no progress bar");
  add_config_option(*c);
  c->callback([f] { run_chat(*f); });
  add_data_augment_command(data);
}

std::string masked_text_for_inspect(const std::string& tokenizer_path, const std::vector<int32_t>& tokens,
                                    const std::vector<uint8_t>& mask, const std::string& style) {
  const tok::Tokenizer tk = tok::Tokenizer::load(tokenizer_path);
  const bool color = style == "color" || (style == "auto" && ::isatty(1) != 0);
  const char* open = color ? "\x1b[1;32m" : "\u27e6";   // ⟦
  const char* close = color ? "\x1b[0m" : "\u27e7";     // ⟧
  std::string out;
  size_t i = 0;
  while (i < tokens.size()) {
    size_t j = i;
    while (j < tokens.size() && mask[j] == mask[i]) ++j;
    const std::string text = tk.decode(std::vector<int32_t>(tokens.begin() + static_cast<long>(i),
                                                            tokens.begin() + static_cast<long>(j)));
    if (mask[i] != 0 && style != "off") out += open + text + close;
    else out += text;
    i = j;
  }
  return out;
}

}  // namespace chatforge::cli
