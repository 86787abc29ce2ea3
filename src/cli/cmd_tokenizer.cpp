// `chatforge tokenizer train|encode|decode|inspect`: thin wrappers over src/tokenizer.
// encode/decode/inspect read FILE (or stdin) as one text; train streams files and dirs:
// plain text directly, JSONL (a text field) and .gz/.zst through the data layer's reader.
#include <omp.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/timer.h"
#include "data/input.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::cli {
namespace {

struct TrainArgs {
  std::vector<std::string> inputs;
  int32_t vocab_size = 0;
  std::string out;
  std::string pattern = "gpt2";
  std::vector<std::string> special_tokens;
  int64_t min_frequency = 2;
  int threads = 0;
  std::string text_field = "text";
  int64_t max_record_mb = data::kDefaultMaxRecordBytes >> 20;
};

struct UseArgs {
  std::string tokenizer;
  std::string file;  // empty: stdin
  bool allow_special = false;
  int threads = 0;  // encode: 0 = default_threads()
};

std::string read_input(const std::string& file) {
  if (file.empty() || file == "-") {
    std::string s;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) s.append(buf, n);
    return s;
  }
  CF_CHECK(file_exists(file), "{}: no such file", file);
  CF_CHECK(!is_directory(file), "{}: is a directory, expected a file", file);
  return read_file(file);
}

void write_stdout(std::string_view s) {
  if (!s.empty()) CF_CHECK(std::fwrite(s.data(), 1, s.size(), stdout) == s.size(), "cannot write to stdout");
}

std::string escape_for_display(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const tok::DecodedChar d = tok::decode_utf8(s, i);
    if (d.cp == tok::kInvalidCodepoint) out += fmt::format("\\x{:02x}", c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out.append(s.substr(i, d.len));
    i += d.len;
  }
  return out;
}

bool needs_document_reader(const std::string& path) {
  for (const char* ext : {".jsonl", ".json", ".gz", ".zst"})
    if (path.ends_with(ext)) return true;
  return false;
}

// Pre-token counts of JSONL/compressed inputs: documents are read in batches of about
// 16 MB and each batch is counted on the threads (one count table per thread, merged).
tok::PieceCounts count_document_pieces(const std::vector<std::string>& inputs, const std::string& text_field,
                                       const tok::PreTokenizer& pretok, int threads, uint64_t max_record_bytes) {
  data::InputOptions io;
  io.text_field = text_field;
  io.max_record_bytes = max_record_bytes;
  data::DocumentStream stream(data::expand_inputs(inputs), io);
  ProgressBar bar("count", stream.total_bytes(), "B");
  tok::PieceCounts total;
  std::vector<std::string> batch(static_cast<size_t>(threads));
  data::RawDocument doc;
  bool more = true;
  while (more) {
    for (auto& b : batch) b.clear();
    size_t bytes = 0, k = 0;
    while (bytes < (16u << 20) && (more = stream.next(doc))) {
      (batch[k++ % batch.size()] += doc.text) += "\n\n";
      bytes += doc.text.size();
    }
    std::vector<tok::PieceCounts> local(batch.size());
    std::string first_error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (size_t i = 0; i < batch.size(); ++i) {
      try {  // an exception must not leave an OpenMP region
        tok::count_pieces_in_text(batch[i], pretok, local[i]);
      } catch (const std::exception& e) {
#pragma omp critical
        first_error = e.what();
      }
    }
    if (!first_error.empty()) fail("{}", first_error);
    for (auto& l : local)
      for (auto& [piece, n] : l) total[piece] += n;
    bar.update(stream.bytes_consumed());
  }
  bar.finish();
  if (stream.n_issues() > 0)
    std::fprintf(stderr, "note: skipped %llu malformed input lines (first: %s:%llu: %s)\n",
                 static_cast<unsigned long long>(stream.n_issues()), stream.issues()[0].file.c_str(),
                 static_cast<unsigned long long>(stream.issues()[0].line), stream.issues()[0].reason.c_str());
  return total;
}

void run_train(const TrainArgs& a) {
  tok::TrainOptions o;
  o.vocab_size = a.vocab_size;
  o.pattern = a.pattern;
  o.special_tokens = a.special_tokens;
  o.min_frequency = a.min_frequency;
  o.threads = resolve_threads(a.threads);
  o.progress = true;
  tok::validate_train_options(o);
  try {
    (void)tok::PreTokenizer::from_name(o.pattern);
  } catch (const Error& e) {
    usage_fail("--pattern: {}", e.what());
  }
  Timer timer;
  bool documents = false;
  for (const auto& f : tok::list_input_files(a.inputs)) documents |= needs_document_reader(f);
  const tok::Tokenizer t = [&] {
    if (!documents) return tok::train_bpe(a.inputs, o);
    const tok::PreTokenizer pretok = tok::PreTokenizer::from_name(o.pattern);
    const uint64_t max_record = data::max_record_bytes_from_mb(a.max_record_mb);
    return tok::train_from_counts(count_document_pieces(a.inputs, a.text_field, pretok, o.threads, max_record), pretok,
                                  o);
  }();
  make_output_dir(a.out);  // also removes temps a killed earlier run left there
  t.save(a.out);
  std::fprintf(stderr, "trained %d tokens (%zu merges, %zu special) in %.1fs; wrote %s/tokenizer.json and %s/vocab.txt\n",
               t.vocab_size(), t.merges().size(), t.special_tokens().size(), timer.seconds(), a.out.c_str(),
               a.out.c_str());
  if (t.vocab_size() < a.vocab_size)
    std::fprintf(stderr, "note: vocabulary is %d, below --vocab-size %d: no pair occurs --min-frequency %lld times\n",
                 t.vocab_size(), a.vocab_size, static_cast<long long>(a.min_frequency));
  std::printf("fingerprint %s\n", t.fingerprint().c_str());
}

struct TokenizerConvertArgs {
  std::string tokenizer;
  std::string out;
  std::vector<std::string> special_tokens;
};

void run_convert(const TokenizerConvertArgs& a) {
  tok::Tokenizer t = tok::Tokenizer::load(a.tokenizer);
  t.add_special_tokens(a.special_tokens);
  make_output_dir(a.out);
  t.save(a.out);
  std::printf("wrote %s/tokenizer.json (%d tokens); fingerprint %s\n", a.out.c_str(), t.vocab_size(),
              t.fingerprint().c_str());
}

void run_encode(const UseArgs& a) {
  const tok::Tokenizer t = tok::Tokenizer::load(a.tokenizer);
  const std::string text = read_input(a.file);
  const auto ids = t.encode_parallel(text, resolve_threads(a.threads), a.allow_special);
  std::string out;
  out.reserve(ids.size() * 6);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(' ');
    fmt::format_to(std::back_inserter(out), "{}", ids[i]);
  }
  out.push_back('\n');
  write_stdout(out);
}

void run_decode(const UseArgs& a) {
  const tok::Tokenizer t = tok::Tokenizer::load(a.tokenizer);
  const std::string text = read_input(a.file);
  std::vector<int32_t> ids;
  const char* p = text.c_str();
  const char* end = p + text.size();
  size_t index = 0;
  while (p < end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r' || *p == ',')) ++p;
    if (p >= end) break;
    char* stop = nullptr;
    const long long v = std::strtoll(p, &stop, 10);
    if (stop == p) {
      const char* word_end = p;
      while (word_end < end && word_end - p < 20 && !std::isspace(static_cast<unsigned char>(*word_end))) ++word_end;
      fail("{}: item {} is not a token id: \"{}\"", a.file.empty() ? "stdin" : a.file, index, std::string(p, word_end));
    }
    if (v < 0 || v >= t.vocab_size())
      fail("decode: token id {} (item {}) is out of range (vocab size {})", v, index, t.vocab_size());
    ids.push_back(static_cast<int32_t>(v));
    p = stop;
    ++index;
  }
  write_stdout(t.decode(ids));
}

void run_inspect(const UseArgs& a) {
  const tok::Tokenizer t = tok::Tokenizer::load(a.tokenizer);
  const std::string text = read_input(a.file);
  const auto ids = t.encode(text, a.allow_special);
  std::string out;
  for (int32_t id : ids)
    out += fmt::format("{:>7}  '{}'{}\n", id, escape_for_display(t.token_bytes(id)), t.is_special(id) ? "  (special)" : "");
  size_t chars = 0;
  for (size_t i = 0; i < text.size(); ++chars) i += tok::decode_utf8(text, i).len;
  const double n = ids.empty() ? 1.0 : static_cast<double>(ids.size());
  out += fmt::format("tokens {}  chars {}  bytes {}  chars/token {:.3f}  bytes/token {:.3f}\n", ids.size(), chars,
                     text.size(), static_cast<double>(chars) / n, static_cast<double>(text.size()) / n);
  write_stdout(out);
}

void add_use_options(CLI::App& sub, UseArgs& a, bool with_special) {
  sub.add_option("--tokenizer", a.tokenizer, "directory with tokenizer.json (or vocab.json+merges.txt), or a tokenizer.json")
      ->type_name(kPath)
      ->required();
  sub.add_option("file", a.file, "input file (default: stdin)")->type_name(kFile);
  if (with_special)
    sub.add_flag("--allow-special", a.allow_special, "encode special-token spellings as their special ids");
  add_config_option(sub);
}

void setup_tokenizer(CLI::App& cmd) {
  cmd.require_subcommand(1);
  static TrainArgs train;
  static UseArgs enc, dec, ins;
  static TokenizerConvertArgs conv;

  CLI::App* t = cmd.add_subcommand("train", "learn a byte-level BPE vocabulary from text files");
  t->add_option("--input", train.inputs, "text, JSONL or .gz/.zst files, or directories (read recursively)")
      ->type_name(kPath)
      ->required()
      ->expected(1, -1);
  t->add_option("--text-field", train.text_field, "JSONL field with the text")->capture_default_str();
  t->add_option("--max-record-mb", train.max_record_mb,
                "largest JSONL line or compressed-text document in MiB; 0 = no limit")
      ->capture_default_str();
  t->add_option("--vocab-size", train.vocab_size, "total vocabulary size: 256 bytes + merges + special tokens")
      ->required();
  t->add_option("--out", train.out, "output directory (tokenizer.json, vocab.txt)")->type_name(kDir)->required();
  t->add_option("--pattern", train.pattern,
                fmt::format("pre-tokenizer: {}, or a regex (gpt4 = cl100k = llama3; cjk: gpt2 with every Han "
                            "character a piece of its own)",
                            tok::kPreTokenizerNames))
      ->capture_default_str();
  t->add_option("--special-tokens", train.special_tokens, "special tokens besides <|endoftext|> (default: none)")
      ->expected(0, -1);
  t->add_option("--min-frequency", train.min_frequency, "never merge a pair seen fewer times")->capture_default_str();
  add_threads_option(*t, train.threads);
  set_ranges(*t, {{"--vocab-size", "[256, 2^20]"}, {"--min-frequency", "[1, 2^62]"}, {"--max-record-mb", "[0, 2^20]"}});
  add_config_option(*t);
  t->callback([] { run_train(train); });

  CLI::App* e = cmd.add_subcommand("encode", "print the token ids of a text (FILE or stdin), separated by spaces");
  add_use_options(*e, enc, true);
  add_threads_option(*e, enc.threads);  // large inputs are cut at line starts
  e->callback([] { run_encode(enc); });

  CLI::App* d = cmd.add_subcommand("decode", "print the exact bytes of token ids (FILE or stdin)");
  add_use_options(*d, dec, false);
  d->callback([] { run_decode(dec); });

  CLI::App* c = cmd.add_subcommand("convert", "load any supported tokenizer files and save them as tokenizer.json");
  c->add_option("--tokenizer", conv.tokenizer, "directory with tokenizer.json, vocab.json+merges.txt or encoder.json+vocab.bpe")
      ->type_name(kPath)
      ->required();
  c->add_option("--out", conv.out, "output directory")->type_name(kDir)->required();
  c->add_option("--special-tokens", conv.special_tokens, "special tokens to append (default: none)")->expected(0, -1);
  add_config_option(*c);
  c->callback([] { run_convert(conv); });

  CLI::App* i = cmd.add_subcommand("inspect", "show each token with its id, then chars/token and bytes/token");
  add_use_options(*i, ins, true);
  i->callback([] { run_inspect(ins); });
}

}  // namespace
CF_REGISTER_COMMAND({"tokenizer", "train, use and inspect byte-level BPE tokenizers", setup_tokenizer, 20});
}  // namespace chatforge::cli
