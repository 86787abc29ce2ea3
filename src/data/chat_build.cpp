// The chat dataset build, stage by stage: options check, tasks, tokenizer, reading,
// split + system prompts, paraphrases, render + fit (parallel), the train plan; the
// writing stages are in chat_build_write.cpp.
#include "data/chat_build.h"

#include <fmt/format.h>

#include <algorithm>
#include <exception>
#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/chat_build_stages.h"
#include "data/chat_dataset.h"
#include "data/row_packing.h"

namespace chatforge::data {

using chat_build::Example;
using chat_build::Pools;

void check_chat_build_options(const ChatBuildOptions& o, bool has_paraphraser) {
  if (!o.augment_model.empty() && !o.augment_command.empty())
    usage_fail("give --augment-model or --augment-command, not both");
  if (o.max_len < 8) usage_fail("--max-len must be at least 8, got {}", o.max_len);
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) usage_fail("--val-fraction must be in [0, 1), got {}", o.val_fraction);
  if (!(o.paraphrase_rate >= 0 && o.paraphrase_rate <= 1))
    usage_fail("--paraphrase-rate must be in [0, 1], got {}", o.paraphrase_rate);
  if (o.paraphrase_rate > 0 && !has_paraphraser)
    usage_fail("--paraphrase-rate needs --augment-command \"CMD\" (a program reading stdin, writing stdout) or "
               "--augment-model DIR (a chatforge chat model)");
  if (!(o.augment_timeout > 0)) usage_fail("--augment-timeout must be positive");
  if (o.threads < 1) usage_fail("--threads must be at least 1");
  if (o.shard_tokens == 0) usage_fail("--shard-tokens must be positive");
  max_record_bytes_from_mb(o.max_record_mb);  // validates
  parse_truncate_policy(o.truncate);          // validates
  parse_chat_format(o.format);                // validates
  if (!o.mixture.empty() && !o.inputs.empty())
    usage_fail("give --input or --mixture, not both (list every dataset in the mixture file)");
  if (o.mixture.empty() && o.inputs.empty()) usage_fail("give --input FILES... or --mixture FILE");
  if (o.tokenizer.empty()) usage_fail("--tokenizer is required");
  if (o.out.empty()) usage_fail("--out is required");
}

namespace {

// The tasks: the mixture file's (system prompt and format defaulting to the options'),
// or one task "default" over the inputs.
std::vector<MixtureTask> chat_tasks(const ChatBuildOptions& o) {
  if (!o.mixture.empty()) {
    auto tasks = load_mixture(o.mixture);
    for (auto& t : tasks) {
      if (t.system.empty()) t.system = o.system;
      if (t.format == "auto") t.format = o.format;  // --format is the default for the tasks
      parse_chat_format(t.format);                  // validates
    }
    return tasks;
  }
  MixtureTask t;
  t.task = "default";
  t.paths = o.inputs;
  t.epochs = 1;
  t.system = o.system;
  t.format = o.format;
  return {t};
}

// Adds <|endoftext|>, <|im_start|>, <|im_end|> when missing (only when asked).
void prepare_tokenizer(tok::Tokenizer& tk, bool add_chat_tokens, const std::string& path) {
  const bool has_chat = tk.special_token_id(tok::kImStart) && tk.special_token_id(tok::kImEnd);
  const bool has_eot = tk.special_token_id(tok::kEndOfText).has_value();
  if (has_chat && has_eot) return;
  if (!add_chat_tokens)
    fail("tokenizer {} lacks {}: add --add-chat-tokens to append them (the extended tokenizer is written to --out)", path,
         has_eot ? "<|im_start|>/<|im_end|>" : "<|endoftext|>");
  std::vector<std::string> add;
  if (!has_eot) add.push_back(tok::kEndOfText);
  add.push_back(tok::kImStart);
  add.push_back(tok::kImEnd);
  tk.add_special_tokens(add);
}

// The format conversations render with (ChatBuildOptions::chat_template); ChatML extends
// the tokenizer with the chat tokens when asked to.
std::unique_ptr<tok::ChatFormat> chat_format_for(const ChatBuildOptions& o, tok::Tokenizer& tk) {
  if (o.chat_template != "chatml") {
    const bool auto_ = o.chat_template == "auto";
    const std::string place =
        auto_ ? (is_directory(o.tokenizer) ? o.tokenizer : std::filesystem::path(o.tokenizer).parent_path().string())
              : o.chat_template;
    CF_CHECK(auto_ || file_exists(place), "--chat-template {}: no such file or folder", place);
    auto f = tok::load_chat_format(tk, {place.empty() ? "." : place});
    if (f && f->kind() == tok::ChatFormat::Kind::kModelTemplate) return f;
    CF_CHECK(auto_ || f, "--chat-template {}: no chat_template there", place);
  }
  prepare_tokenizer(tk, o.add_chat_tokens, o.tokenizer);
  return std::make_unique<tok::ChatFormat>(tk);
}

// 1. Every task's conversations; bad records are skipped and counted with file:line.
std::vector<std::vector<Conversation>> read_tasks(const ChatBuildOptions& o, ChatBuildResult& r) {
  const uint64_t max_record_bytes = max_record_bytes_from_mb(o.max_record_mb);
  std::vector<std::vector<Conversation>> convs(r.tasks.size());
  for (uint32_t t = 0; t < r.tasks.size(); ++t) {
    const auto files = expand_chat_inputs(r.tasks[t].paths);
    const auto fmt_t = parse_chat_format(r.tasks[t].format);
    for (const auto& file : files)
      read_chat_file(
          file, fmt_t, o.strict, [&](Conversation&& c) { convs[t].push_back(std::move(c)); },
          [&](ChatIssue&& i) {
            ++r.n_issues;
            ++r.counts[t].skipped;
            if (r.issue_examples.size() < 20) r.issue_examples.push_back(std::move(i));
          },
          max_record_bytes);
    r.counts[t].read = convs[t].size();
  }
  return convs;
}

// A conversation on its way to the output.
struct Pending {
  uint32_t task;
  std::vector<tok::ChatMessage> messages;
  uint64_t hash;
  bool val, paraphrased;
};

// 2. Split by hash (of the user/assistant turns, so the system prompt does not move a
// conversation between splits), then the task's system prompt where there is none.
std::vector<Pending> split_conversations(const ChatBuildOptions& o, const std::vector<MixtureTask>& tasks,
                                         std::vector<std::vector<Conversation>>&& convs) {
  std::vector<Pending> pending;
  for (uint32_t t = 0; t < tasks.size(); ++t)
    for (auto& c : convs[t]) {
      const uint64_t h = conversation_hash(c.messages);
      const bool val = is_validation_hash(h, o.seed, o.val_fraction);
      if (!tasks[t].system.empty() && c.messages[0].role != "system")
        c.messages.insert(c.messages.begin(), {"system", tasks[t].system});
      pending.push_back({t, std::move(c.messages), h, val, false});
    }
  return pending;
}

// 3. Train conversations picked by a seeded coin of paraphrase_rate gain a copy whose
// user turns are paraphrased, appended after all originals.
void paraphrase_train(const ChatBuildOptions& o, const Paraphraser& paraphrase, std::vector<Pending>& pending,
                      ChatBuildResult& r) {
  const size_t n = pending.size();
  ProgressBar bar("paraphrase", n, "conv", o.progress);
  for (size_t i = 0; i < n; ++i) {
    bar.update(i);
    if (pending[i].val) continue;
    Rng rng(chat_build::pick_seed(o.seed, pending[i].hash, 0x70617261));
    if (rng.uniform() >= o.paraphrase_rate) continue;
    Pending p = pending[i];
    for (auto& m : p.messages)
      if (m.role == "user") {
        m.content = paraphrase(m.content);
        ++r.paraphrase_calls;
      }
    p.paraphrased = true;
    ++r.counts[p.task].paraphrased;
    pending.push_back(std::move(p));
  }
  bar.finish();
}

// 4. Render and fit (parallel, in chunks; the chat template builds ids and mask together),
// then sort into the train and val pools, counting what was dropped or truncated.
// Takes `pending` by value so that it is freed before the writing stages.
Pools render_and_fit(const ChatBuildOptions& o, const tok::ChatFormat& chat_format, std::vector<Pending> pending,
                     ChatBuildResult& r) {
  const TruncatePolicy policy = parse_truncate_policy(o.truncate);
  const size_t budget = static_cast<size_t>(o.max_len) - 1;  // the end-of-text separator takes one
  std::vector<FitResult> fits(pending.size());
  ProgressBar bar("render", pending.size(), "conv", o.progress);
  const long n = static_cast<long>(pending.size());
  const long kChunk = 4096;
  for (long start = 0; start < n; start += kChunk) {
    const long end = std::min(n, start + kChunk);
    std::vector<std::string> errors(static_cast<size_t>(end - start));
#pragma omp parallel for schedule(dynamic, 16) num_threads(o.threads)
    for (long i = start; i < end; ++i) {
      try {  // an exception must not leave an OpenMP region
        fits[i] = fit_conversation(chat_format, pending[i].messages, budget, policy);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(i - start)] = e.what();
      }
    }
    for (const auto& e : errors) CF_CHECK(e.empty(), "rendering a conversation: {}", e);
    bar.update(static_cast<uint64_t>(end));
  }
  bar.finish();
  Pools pools{std::vector<std::vector<Example>>(r.tasks.size()), std::vector<std::vector<Example>>(r.tasks.size())};
  for (size_t i = 0; i < pending.size(); ++i) {
    auto& c = r.counts[pending[i].task];
    if (!fits[i].kept) {
      ++c.too_long;
      continue;
    }
    if (fits[i].exchanges_dropped > 0) ++c.truncated;
    Example e{pending[i].task, std::move(fits[i].messages), std::move(fits[i].chat), pending[i].hash,
              pending[i].paraphrased};
    (pending[i].val ? pools.val : pools.train)[pending[i].task].push_back(std::move(e));
  }
  return pools;
}

// 5. The train sequence: every example once in input order, or the mixture plan.
std::vector<MixturePick> plan_train(const ChatBuildOptions& o, const std::vector<MixtureTask>& tasks,
                                    const Pools& pools) {
  std::vector<uint64_t> sizes;
  for (const auto& p : pools.train) sizes.push_back(p.size());
  if (!o.mixture.empty()) return plan_mixture(tasks, sizes, o.mixture_size, o.seed);
  std::vector<MixturePick> picks;
  for (uint64_t i = 0; i < sizes[0]; ++i) picks.push_back({0, i});
  return picks;
}

}  // namespace

ChatBuildResult build_chat_dataset(const ChatBuildOptions& o, const Paraphraser& paraphrase) {
  Timer timer;
  check_chat_build_options(o, static_cast<bool>(paraphrase));
  ChatBuildResult r;
  r.tasks = chat_tasks(o);
  r.counts.resize(r.tasks.size());
  r.max_len = o.max_len;
  r.packed = o.pack;
  r.out = o.out;

  tok::Tokenizer tk = tok::Tokenizer::load(o.tokenizer);
  const std::unique_ptr<tok::ChatFormat> format = chat_format_for(o, tk);
  const tok::ChatFormat& chat_format = *format;
  NoiseOptions noise = o.noise;
  if (noise.mask_rate > 0) noise.mask_id = resolve_mask_token(tk, o.mask_token);
  check_noise_options(noise, tk.vocab_size());
  r.noise_on = noise.any();

  std::vector<Pending> pending = split_conversations(o, r.tasks, read_tasks(o, r));
  if (o.paraphrase_rate > 0) paraphrase_train(o, paraphrase, pending, r);
  const Pools pools = render_and_fit(o, chat_format, std::move(pending), r);
  const std::vector<MixturePick> picks = plan_train(o, r.tasks, pools);
  chat_build::write_chat_shards(o, chat_format, noise, pools, picks, r);
  chat_build::write_chat_meta(o, chat_format, noise, r);
  r.seconds = timer.seconds();
  return r;
}

std::string format_chat_build_summary(const ChatBuildResult& r) {
  std::string s;
  for (uint32_t t = 0; t < r.tasks.size(); ++t) {
    const auto& c = r.counts[t];
    s += fmt::format("task {:<12} read {}, train {} (rows {}), val {}, dropped too long {}, truncated {}\n",
                     r.tasks[t].task, c.read, c.train, c.train_out, c.val, c.too_long, c.truncated);
  }
  const ShardSplitSummary& train = r.splits.at(0);
  const ShardSplitSummary& val = r.splits.at(1);
  s += fmt::format("train: {} conversations, {} tokens ({} trained) in {} shards\n", train.n_docs, train.n_tokens,
                   r.trained_tokens, train.files.size());
  s += fmt::format("val:   {} conversations, {} tokens in {} shards\n", val.n_docs, val.n_tokens, val.files.size());
  const auto cap = static_cast<uint64_t>(r.max_len);
  auto pack_line = [&](const char* name, const ChatPackStats& st) {
    return fmt::format("pack {:<5} {} conversations -> {} rows of {} tokens; padding {:.1f}% -> {:.1f}%\n", name,
                       st.docs, st.rows, r.max_len, 100 * padding_fraction(st.tokens, st.docs, cap),
                       100 * padding_fraction(st.tokens, st.rows, cap));
  };
  if (r.packed) s += pack_line("train", r.train_pack) + pack_line("val", r.val_pack);
  if (r.noise_on) s += fmt::format("noise: {} of {} touchable tokens changed\n", r.noise.changed(), r.noise.touchable);
  if (r.paraphrase_calls > 0) s += fmt::format("paraphrase: {} command calls\n", r.paraphrase_calls);
  if (r.n_issues > 0)
    s += fmt::format("skipped {} records (first: {}:{}: {})\n", r.n_issues, r.issue_examples[0].file,
                     r.issue_examples[0].line, r.issue_examples[0].reason);
  s += fmt::format("time {:.2f}s; wrote {}\n", r.seconds, r.out);
  return s;
}

}  // namespace chatforge::data
