// The SFT dataset build behind `chatforge data chat`: task conversations (one input list
// or a mixture file) -> hash split, system prompts, optional paraphrases, the chat template
// with its assistant-only loss mask, the mixture plan, masked token shards (optionally
// packed, with token noise on train rows), meta.json and the tokenizer with its Jinja
// template. The same options and inputs give byte-identical output whatever the threads.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/augment.h"
#include "data/chat_record.h"
#include "data/input.h"
#include "data/mixture.h"
#include "data/paraphrase.h"
#include "data/shard.h"

namespace chatforge::data {

// Options of `data chat`, named as its flags (--max-len is max_len, ...).
struct ChatBuildOptions {
  std::string tokenizer;            // tokenizer directory
  std::string out;                  // output directory
  std::vector<std::string> inputs;  // files or directories (one task "default")
  std::string mixture;              // or a mixture file (never both)
  std::string format = "auto";      // input format (a mixture task's default too)
  std::string system;               // system prompt for conversations without one
  std::string truncate = "drop";    // drop | keep-last-turns
  int max_len = 1024;               // tokens per conversation (or packed row), end-of-text included
  double val_fraction = 0.05;       // share of conversations for validation, by hash
  uint64_t seed = 0;                // split, mixture sampling, noise, paraphrase picks
  uint64_t mixture_size = 0;        // train picks of a weighted mixture; 0: natural size
  uint64_t shard_tokens = 100'000'000;  // most tokens per shard file
  bool strict = false;              // the first bad record is an error (else skipped, counted)
  bool pack = false;                // first-fit packing of conversations into max_len rows
  bool add_chat_tokens = false;     // append <|im_start|>/<|im_end|> (and <|endoftext|>) if missing
  // The chat format: "auto" (the tokenizer folder's tokenizer_config.json chat_template when
  // it has one, else ChatML), "chatml", or a tokenizer_config.json (or its folder) whose
  // chat_template to use.
  std::string chat_template = "auto";
  NoiseOptions noise;               // mask_id is resolved from mask_token
  std::string mask_token = "_";     // a special token or a one-token text
  double paraphrase_rate = 0;       // share of train conversations paraphrased as extra examples
  // How the paraphraser is made (by the caller: command_paraphraser, or a chat model in
  // infer/); checked here and recorded in meta.json.
  std::string augment_command, augment_model, augment_instruction;
  double augment_timeout = 60;      // seconds per --augment-command call
  std::string dump_text;            // also write every output conversation as JSONL here
  int threads = 2;                  // render/fit workers
  int64_t max_record_mb = kDefaultMaxRecordBytes >> 20;  // largest JSONL line; 0: no limit
  bool progress = true;             // progress bars on stderr
};

struct ChatTaskCounts {
  uint64_t read = 0, skipped = 0;       // valid conversations read; bad records skipped
  uint64_t paraphrased = 0;             // extra train examples from paraphrasing
  uint64_t too_long = 0, truncated = 0;  // dropped over max_len; shortened by keep-last-turns
  uint64_t train = 0, val = 0;          // examples in the train pool (paraphrases included) / val
  uint64_t train_out = 0;               // train rows written (mixture picks)
  uint64_t train_tokens = 0, val_tokens = 0;  // end-of-text separators included
};

struct ChatPackStats {
  uint64_t docs = 0, rows = 0, tokens = 0;  // conversations -> rows of max_len tokens
};

struct ChatBuildResult {
  std::vector<MixtureTask> tasks;     // as used (system/format defaults filled in)
  std::vector<ChatTaskCounts> counts;  // per task
  std::vector<ShardSplitSummary> splits;  // "train", "val", then "val-<task>" for a mixture
  uint64_t n_issues = 0;               // bad records skipped
  std::vector<ChatIssue> issue_examples;  // the first 20
  uint64_t paraphrase_calls = 0;
  uint64_t trained_tokens = 0;         // mask-1 tokens of the train split
  NoiseStats noise;
  bool noise_on = false;
  bool packed = false;
  ChatPackStats train_pack, val_pack;  // when packed
  int max_len = 0;
  std::string out;
  double seconds = 0;
};

// Every check on option values (ranges, combinations), as UsageError naming the flag.
// has_paraphraser: whether a paraphraser is (or will be) given; for the CLI, whether
// --augment-command or --augment-model is.
void check_chat_build_options(const ChatBuildOptions& o, bool has_paraphraser);

// Builds the dataset into o.out (see the top of this file and docs/chat-data.md).
// Errors: UsageError for bad options, chatforge::Error for bad input (strict records,
// missing files, a tokenizer without chat tokens and no add_chat_tokens).
ChatBuildResult build_chat_dataset(const ChatBuildOptions& o, const Paraphraser& paraphrase);

// The summary `data chat` prints: one line per task, the splits, packing, noise,
// paraphrase calls, skipped records and the time, each line ending in '\n'.
std::string format_chat_build_summary(const ChatBuildResult& r);

}  // namespace chatforge::data
