// `chatforge data tokenize`: the flags of data::tokenize_to_shards (data/tokenize_shards.h:
// documents -> token shards + meta.json) and its printed summary. Also the decoding half
// of `data inspect`. Everything that needs the
// tokenizer sits inside __has_include, so this file builds with or without it.
#include <cstdio>
#include <filesystem>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"

#if __has_include("tokenizer/tokenizer.h")
#include "data/tokenize_shards.h"
#include "tokenizer/tokenizer.h"
#define CF_HAVE_TOKENIZER 1
#endif

namespace chatforge::cli {

#ifdef CF_HAVE_TOKENIZER

namespace {

struct TokenizeFlags {
  data::TokenizeOptions options;
  std::string shard_tokens = "100M";
  bool no_progress = false;
  int64_t max_record_mb = data::kDefaultMaxRecordBytes >> 20;
};

void run_tokenize(TokenizeFlags f) {
  f.options.shard_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  f.options.input.max_record_bytes = data::max_record_bytes_from_mb(f.max_record_mb);
  f.options.progress = !f.no_progress;
  f.options.threads = resolve_threads(f.options.threads);
  std::fputs(data::format_tokenize_summary(data::tokenize_to_shards(f.options)).c_str(), stdout);
}

}  // namespace

void add_data_tokenize_command(CLI::App& data) {
  auto f = std::make_shared<TokenizeFlags>();
  f->options.threads = 0;  // 0: default_threads(), see run_tokenize
  CLI::App* c = data.add_subcommand("tokenize", "encode documents into token shards for training (parallel)");
  c->add_option("--tokenizer,-t", f->options.tokenizer, "tokenizer directory (from `chatforge tokenizer train`)")
      ->type_name(kPath)
      ->required();
  c->add_option("--input,-i", f->options.inputs, "cleaned JSONL (train.jsonl, val.jsonl) or any .txt/.md/.jsonl[.gz|.zst]")
      ->type_name(kPath)
      ->required();
  c->add_option("--out,-o", f->options.out, "output directory: train_NNNNNN.bin, val_NNNNNN.bin, meta.json")
      ->type_name(kDir)
      ->required();
  c->add_option("--text-field", f->options.input.text_field, "JSONL field with the text")->capture_default_str();
  c->add_option("--txt-split", f->options.input.txt_split, "documents in .txt/.md files: file, paragraph or line")
      ->capture_default_str();
  c->add_flag("--strict", f->options.input.strict, "stop at the first malformed input line");
  c->add_option("--max-record-mb", f->max_record_mb,
                "largest input record (a line, paragraph or whole-file document) in MiB; 0 = no limit")
      ->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  c->add_flag("--allow-special", f->options.allow_special, "encode special-token spellings in the text as special tokens");
  add_threads_option(*c, f->options.threads);
  c->add_flag("--no-progress", f->no_progress, "no progress bar");
  set_ranges(*c, {{"--max-record-mb", "[0, 2^20]"}});
  add_config_option(*c);
  c->callback([f] { run_tokenize(*f); });
}

std::string decode_for_inspect(const std::string& tokenizer_path, const std::vector<int32_t>& tokens,
                               const std::string& shard_fingerprint, std::string* note) {
  const tok::Tokenizer tk = tok::Tokenizer::load(tokenizer_path);
  const std::string fp = tk.fingerprint().substr(0, 16);
  if (note != nullptr && !shard_fingerprint.empty() && fp != shard_fingerprint)
    *note = fmt::format("tokenizer fingerprint {} differs from the shard's {}: the text below may be wrong", fp,
                        shard_fingerprint);
  return tk.decode(tokens);
}

#else  // no tokenizer in this build

void add_data_tokenize_command(CLI::App&) {}

std::string decode_for_inspect(const std::string&, const std::vector<int32_t>&, const std::string&, std::string*) {
  fail("this chatforge was built without the tokenizer: --tokenizer is not available");
}

#endif

}  // namespace chatforge::cli
