// `chatforge data chat`: supervised chat data (messages JSONL, ShareGPT, Alpaca,
// prompt/completion, Q/A CSV/TSV, or a task mixture of them) -> SFT token shards with a
// loss mask (assistant tokens only), per-task validation shards, meta.json, and the
// tokenizer with its Jinja chat template. Also the masked view used by `data inspect`.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "core/rng.h"
#include "core/timer.h"
#include "data/augment.h"
#include "data/chat_dataset.h"
#include "data/chat_record.h"
#include "data/mixture.h"
#include "data/row_packing.h"
#include "data/shard.h"
#include "infer/engine.h"
#include "model/checkpoint.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct ChatFlags {
  std::string tokenizer, out, format = "auto", mixture, system, truncate = "drop", shard_tokens = "100M";
  std::vector<std::string> inputs;
  int max_len = 1024;
  double val_fraction = 0.05;
  uint64_t seed = 0;
  std::string mixture_size;
  bool strict = false, pack = false, add_chat_tokens = false, no_progress = false;
  data::NoiseOptions noise;
  std::string mask_token = "_";
  std::string augment_command, augment_model, augment_instruction;
  double paraphrase_rate = 0, augment_timeout = 60;
  std::string dump_text;
  int threads = 2;
  int64_t max_record_mb = data::kDefaultMaxRecordBytes >> 20;
};

// One example kept for output.
struct Example {
  uint32_t task = 0;
  std::vector<tok::ChatMessage> messages;  // as rendered (system prompt added, truncated)
  tok::RenderedChat chat;
  uint64_t hash = 0;
  bool paraphrased = false;
};

struct TaskCounts {
  uint64_t read = 0, skipped = 0, train = 0, val = 0, train_out = 0, too_long = 0, truncated = 0, paraphrased = 0;
  uint64_t train_tokens = 0, val_tokens = 0;
};

uint64_t pick_seed(uint64_t seed, uint64_t hash, uint64_t salt) {
  return seed * 0x9e3779b97f4a7c15ULL ^ hash ^ (salt * 0xd1b54a32d192ed03ULL);
}

std::vector<data::MixtureTask> tasks_from_flags(const ChatFlags& f) {
  if (!f.mixture.empty()) {
    if (!f.inputs.empty()) usage_fail("give --input or --mixture, not both (list every dataset in the mixture file)");
    auto tasks = data::load_mixture(f.mixture);
    for (auto& t : tasks) {
      if (t.system.empty()) t.system = f.system;
      if (t.format == "auto") t.format = f.format;  // --format is the default for the tasks
      data::parse_chat_format(t.format);          // validates
    }
    return tasks;
  }
  if (f.inputs.empty()) usage_fail("give --input FILES... or --mixture FILE");
  data::MixtureTask t;
  t.task = "default";
  t.paths = f.inputs;
  t.epochs = 1;
  t.system = f.system;
  t.format = f.format;
  return {t};
}

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

// tokenizer.json + vocab.txt, and tokenizer_config.json with the chat template and the
// special tokens Hugging Face tools need (generation stops at <|im_end|>).
void save_chat_tokenizer(const tok::Tokenizer& tk, const std::string& out) {
  tk.save(out);
  ordered_json c = parse_ordered_json(tk.to_hf_config_json(), "tokenizer_config.json");
  c["bos_token"] = tok::kEndOfText;
  c["eos_token"] = tok::kImEnd;
  c["pad_token"] = tok::kEndOfText;
  c["unk_token"] = tok::kEndOfText;
  c["chat_template"] = tok::ChatFormat::jinja_template();
  write_file_atomic((fs::path(out) / "tokenizer_config.json").string(), c.dump(1) + "\n");
}

int32_t resolve_mask_token(const tok::Tokenizer& tk, const std::string& spelling) {
  if (auto id = tk.special_token_id(spelling)) return *id;
  const auto ids = tk.encode(spelling);
  if (ids.size() != 1) usage_fail("--mask-token '{}' is {} tokens; it must be one token or a special token", spelling, ids.size());
  return ids[0];
}

void run_chat(const ChatFlags& f) {
  Timer timer;
  if (!f.augment_model.empty() && !f.augment_command.empty())
    usage_fail("give --augment-model or --augment-command, not both");
  if (f.max_len < 8) usage_fail("--max-len must be at least 8, got {}", f.max_len);
  if (!(f.val_fraction >= 0 && f.val_fraction < 1)) usage_fail("--val-fraction must be in [0, 1), got {}", f.val_fraction);
  if (!(f.paraphrase_rate >= 0 && f.paraphrase_rate <= 1))
    usage_fail("--paraphrase-rate must be in [0, 1], got {}", f.paraphrase_rate);
  if (f.paraphrase_rate > 0 && f.augment_command.empty() && f.augment_model.empty())
    usage_fail("--paraphrase-rate needs --augment-command \"CMD\" (a program reading stdin, writing stdout) or "
               "--augment-model DIR (a chatforge chat model)");
  if (!(f.augment_timeout > 0)) usage_fail("--augment-timeout must be positive");
  if (f.threads < 1) usage_fail("--threads must be at least 1");
  const uint64_t max_record_bytes = data::max_record_bytes_from_mb(f.max_record_mb);
  const data::TruncatePolicy policy = data::parse_truncate_policy(f.truncate);
  const uint64_t max_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  const uint64_t mixture_size = f.mixture_size.empty() ? 0 : parse_count_flag("--mixture-size", f.mixture_size);
  data::parse_chat_format(f.format);
  const auto tasks = tasks_from_flags(f);
  const bool mixture = !f.mixture.empty();

  tok::Tokenizer tk = tok::Tokenizer::load(f.tokenizer);
  prepare_tokenizer(tk, f.add_chat_tokens, f.tokenizer);
  const tok::ChatFormat chat_format(tk);
  data::NoiseOptions noise = f.noise;
  if (noise.mask_rate > 0) noise.mask_id = resolve_mask_token(tk, f.mask_token);
  data::check_noise_options(noise, tk.vocab_size());

  // 1. Read every task's conversations; bad records are skipped and counted with file:line.
  std::vector<TaskCounts> counts(tasks.size());
  std::vector<data::ChatIssue> issue_examples;
  uint64_t n_issues = 0;
  std::vector<std::vector<data::Conversation>> convs(tasks.size());
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    const auto files = data::expand_chat_inputs(tasks[t].paths);
    const auto fmt_t = data::parse_chat_format(tasks[t].format);
    for (const auto& file : files)
      data::read_chat_file(
          file, fmt_t, f.strict, [&](data::Conversation&& c) { convs[t].push_back(std::move(c)); },
          [&](data::ChatIssue&& i) {
            ++n_issues;
            ++counts[t].skipped;
            if (issue_examples.size() < 20) issue_examples.push_back(std::move(i));
          },
          max_record_bytes);
    counts[t].read = convs[t].size();
  }

  // 2. Split by hash (of the user/assistant turns), system prompts, paraphrases (train only).
  struct Pending {
    uint32_t task;
    std::vector<tok::ChatMessage> messages;
    uint64_t hash;
    bool val, paraphrased;
  };
  std::vector<Pending> pending;
  for (uint32_t t = 0; t < tasks.size(); ++t)
    for (auto& c : convs[t]) {
      const uint64_t h = data::conversation_hash(c.messages);
      const bool val = data::is_validation_hash(h, f.seed, f.val_fraction);
      if (!tasks[t].system.empty() && c.messages[0].role != "system")
        c.messages.insert(c.messages.begin(), {"system", tasks[t].system});
      pending.push_back({t, std::move(c.messages), h, val, false});
    }
  convs.clear();
  uint64_t paraphrase_calls = 0;
  if (f.paraphrase_rate > 0) {
    // The paraphraser: an external program, or a chatforge chat model answering the text
    // as a user turn (after an optional --augment-instruction system prompt), greedily.
    std::function<std::string(const std::string&)> paraphrase;
    std::unique_ptr<model::Gpt> pmodel;
    std::unique_ptr<tok::Tokenizer> ptok;
    std::unique_ptr<tok::ChatFormat> pchat;
    std::unique_ptr<infer::Engine> pengine;
    if (!f.augment_model.empty()) {
      pmodel = model::load_model(f.augment_model);
      ptok = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(f.augment_model));
      pchat = std::make_unique<tok::ChatFormat>(*ptok);
      pengine = std::make_unique<infer::Engine>(*pmodel, 1);
      paraphrase = [&](const std::string& text) {
        std::vector<tok::ChatMessage> msgs;
        if (!f.augment_instruction.empty()) msgs.push_back({"system", f.augment_instruction});
        msgs.push_back({"user", text});
        infer::GenerationRequest req;
        req.prompt = pchat->render(msgs, true).ids;
        req.sampling.temperature = 0.0f;
        req.max_new_tokens = static_cast<int>(std::min<size_t>(2 * req.prompt.size() + 16, 512));
        req.stop_ids = {pchat->end_of_turn_id(), ptok->eot_id()};
        req.context_policy = infer::ContextPolicy::kTruncateOldest;
        req.sample_vocab_size = ptok->vocab_size();
        const std::string out = ptok->decode(pengine->generate(std::move(req)).tokens);
        return out.empty() ? text : out;  // an empty answer keeps the original
      };
    } else {
      paraphrase = [&](const std::string& text) {
        return data::run_text_command(f.augment_command, text, f.augment_timeout);
      };
    }
    const size_t n = pending.size();
    ProgressBar bar("paraphrase", n, "conv", !f.no_progress);
    for (size_t i = 0; i < n; ++i) {
      bar.update(i);
      if (pending[i].val) continue;
      Rng rng(pick_seed(f.seed, pending[i].hash, 0x70617261));
      if (rng.uniform() >= f.paraphrase_rate) continue;
      Pending p = pending[i];
      for (auto& m : p.messages)
        if (m.role == "user") {
          m.content = paraphrase(m.content);
          ++paraphrase_calls;
        }
      p.paraphrased = true;
      ++counts[p.task].paraphrased;
      pending.push_back(std::move(p));
    }
    bar.finish();
  }

  // 3. Render and fit (parallel; the chat template builds ids and mask together).
  const size_t budget = static_cast<size_t>(f.max_len) - 1;  // the end-of-text separator takes one
  std::vector<data::FitResult> fits(pending.size());
  {
    ProgressBar bar("render", pending.size(), "conv", !f.no_progress);
    const long n = static_cast<long>(pending.size());
    const long kChunk = 4096;
    for (long start = 0; start < n; start += kChunk) {
      const long end = std::min(n, start + kChunk);
      std::vector<std::string> errors(static_cast<size_t>(end - start));
#pragma omp parallel for schedule(dynamic, 16) num_threads(f.threads)
      for (long i = start; i < end; ++i) {
        try {  // an exception must not leave an OpenMP region
          fits[i] = data::fit_conversation(chat_format, pending[i].messages, budget, policy);
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(i - start)] = e.what();
        }
      }
      for (const auto& e : errors) CF_CHECK(e.empty(), "rendering a conversation: {}", e);
      bar.update(static_cast<uint64_t>(end));
    }
    bar.finish();
  }
  std::vector<std::vector<Example>> train_pool(tasks.size()), val_pool(tasks.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    auto& c = counts[pending[i].task];
    if (!fits[i].kept) {
      ++c.too_long;
      continue;
    }
    if (fits[i].exchanges_dropped > 0) ++c.truncated;
    Example e{pending[i].task, std::move(fits[i].messages), std::move(fits[i].chat), pending[i].hash,
              pending[i].paraphrased};
    (pending[i].val ? val_pool : train_pool)[pending[i].task].push_back(std::move(e));
  }
  pending.clear();
  fits.clear();

  // 4. The train sequence: every example once in input order, or the mixture plan.
  std::vector<data::MixturePick> picks;
  std::vector<uint64_t> sizes;
  for (const auto& p : train_pool) sizes.push_back(p.size());
  if (mixture) {
    picks = data::plan_mixture(tasks, sizes, mixture_size, f.seed);
  } else {
    for (uint64_t i = 0; i < sizes[0]; ++i) picks.push_back({0, i});
  }

  // 5. Write shards (noise on train rows only, seeded per row).
  make_output_dir(f.out);
  data::ShardSpec spec;
  spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
  spec.eot_id = tk.eot_id();
  spec.tokenizer_fingerprint = tk.fingerprint();
  spec.has_mask = true;
  data::ShardSetWriter train(f.out, "train", spec, max_tokens), val(f.out, "val", spec, max_tokens);
  std::vector<std::unique_ptr<data::ShardSetWriter>> task_val;
  if (mixture)
    for (const auto& t : tasks) task_val.push_back(std::make_unique<data::ShardSetWriter>(f.out, "val-" + t.task, spec, max_tokens));
  std::unique_ptr<AtomicFile> dump;
  if (!f.dump_text.empty()) dump = std::make_unique<AtomicFile>(f.dump_text);
  auto dump_example = [&](const Example& e, const char* split) {
    if (!dump) return;
    ordered_json j;
    j["split"] = split;
    j["task"] = tasks[e.task].task;
    j["messages"] = ordered_json::array();
    for (const auto& m : e.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
    j["text"] = tok::ChatFormat::render_text(e.messages);
    dump->write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  };
  // --pack: conversations are collected per split, then packed first-fit into rows of
  // --max-len tokens (the eot of each included) and written row by row.
  struct PackStats {
    uint64_t docs = 0, rows = 0, tokens = 0;
  };
  auto write_packed = [&](data::ShardSetWriter& w, const std::vector<const tok::RenderedChat*>& docs) {
    std::vector<uint64_t> lengths(docs.size());
    PackStats st;
    for (size_t i = 0; i < docs.size(); ++i) {
      lengths[i] = docs[i]->ids.size() + 1;
      st.tokens += lengths[i];
    }
    const auto rows = data::pack_first_fit(lengths, static_cast<uint64_t>(f.max_len));
    for (const auto& row : rows) {
      uint64_t n = 0;
      for (uint32_t d : row) n += lengths[d];
      w.begin_row(n);
      for (uint32_t d : row) w.add_document(docs[d]->ids.data(), docs[d]->ids.size(), docs[d]->mask.data(), 0);
      w.end_row();
    }
    st.docs = docs.size();
    st.rows = rows.size();
    return st;
  };
  std::vector<tok::RenderedChat> train_rows;  // --pack: the train conversations as written (after noise)
  data::NoiseStats noise_stats;
  uint64_t mask_tokens = 0;
  ProgressBar bar("write", picks.size(), "conv", !f.no_progress);
  for (uint64_t k = 0; k < picks.size(); ++k) {
    const Example& e = train_pool[picks[k].task][picks[k].index];
    tok::RenderedChat row = e.chat;
    if (noise.any()) {
      Rng rng(pick_seed(f.seed, e.hash, k + 1));
      data::apply_chat_noise(row, e.messages, noise, tk, rng, &noise_stats);
    }
    for (uint8_t m : row.mask) mask_tokens += m;
    if (f.pack)
      train_rows.push_back(std::move(row));
    else
      train.add_document(row.ids.data(), row.ids.size(), row.mask.data(), 0);
    ++counts[e.task].train_out;
    counts[e.task].train_tokens += row.ids.size() + 1;
    dump_example(e, "train");
    if (k % 1024 == 0) bar.update(k);
  }
  bar.update(picks.size());
  bar.finish();
  PackStats train_pack, val_pack;
  std::vector<const tok::RenderedChat*> val_docs;
  if (f.pack) {
    std::vector<const tok::RenderedChat*> docs;
    for (const auto& r : train_rows) docs.push_back(&r);
    train_pack = write_packed(train, docs);
  }
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    counts[t].train = train_pool[t].size();
    counts[t].val = val_pool[t].size();
    std::vector<const tok::RenderedChat*> task_docs;
    for (const auto& e : val_pool[t]) {
      if (f.pack) {
        val_docs.push_back(&e.chat);
        task_docs.push_back(&e.chat);
      } else {
        val.add_document(e.chat.ids.data(), e.chat.ids.size(), e.chat.mask.data(), 0);
        if (mixture) task_val[t]->add_document(e.chat.ids.data(), e.chat.ids.size(), e.chat.mask.data(), 0);
      }
      counts[t].val_tokens += e.chat.ids.size() + 1;
      dump_example(e, "val");
    }
    if (f.pack && mixture) write_packed(*task_val[t], task_docs);
  }
  if (f.pack) val_pack = write_packed(val, val_docs);
  train_rows.clear();
  if (dump) dump->commit();

  std::vector<data::ShardSplitSummary> splits;
  auto summarize = [&](data::ShardSetWriter& w, const std::string& name) {
    data::ShardSplitSummary s;
    s.split = name;
    s.n_tokens = w.n_tokens();
    s.n_docs = w.n_docs();
    s.n_rows = w.n_rows();
    for (const auto& p : w.finish()) s.files.push_back(fs::path(p).filename().string());
    splits.push_back(std::move(s));
  };
  summarize(train, "train");
  summarize(val, "val");
  for (uint32_t t = 0; t < task_val.size(); ++t) summarize(*task_val[t], "val-" + tasks[t].task);
  data::write_shard_meta(f.out, spec, splits);
  save_chat_tokenizer(tk, f.out);

  // 6. meta.json: add what this command did.
  const std::string meta_path = (fs::path(f.out) / "meta.json").string();
  ordered_json meta = parse_ordered_json(read_file(meta_path), meta_path);
  ordered_json chat;
  chat["kind"] = "sft-chat";
  chat["template"] = "chatml";
  chat["chat_template"] = tok::ChatFormat::jinja_template();
  chat["loss_mask"] = "assistant content and its <|im_end|>; end-of-text separator 0";
  ordered_json opts;
  opts["format"] = f.format;
  opts["max_len"] = f.max_len;
  opts["truncate"] = f.truncate;
  opts["val_fraction"] = f.val_fraction;
  opts["seed"] = f.seed;
  opts["system"] = f.system;
  opts["mixture"] = f.mixture;
  opts["mixture_size"] = mixture_size;
  opts["pack"] = f.pack;
  opts["add_chat_tokens"] = f.add_chat_tokens;
  opts["augment"] = {{"mask_rate", noise.mask_rate},
                     {"delete_rate", noise.delete_rate},
                     {"substitute_rate", noise.substitute_rate},
                     {"shuffle_rate", noise.shuffle_rate},
                     {"mask_token", noise.mask_rate > 0 ? f.mask_token : ""},
                     {"targets", noise.targets ? "user and assistant turns" : "user turns only"},
                     {"paraphrase_rate", f.paraphrase_rate},
                     {"augment_command", f.augment_command}};
  chat["options"] = opts;
  ordered_json tj = ordered_json::object();
  uint64_t too_long = 0, truncated = 0;
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    const auto& c = counts[t];
    ordered_json e;
    e["paths"] = tasks[t].paths;
    if (tasks[t].weight > 0) e["weight"] = tasks[t].weight;
    if (tasks[t].epochs > 0) e["epochs"] = tasks[t].epochs;
    e["system"] = tasks[t].system;
    e["conversations_read"] = c.read;
    e["skipped"] = c.skipped;
    e["paraphrased"] = c.paraphrased;
    e["dropped_too_long"] = c.too_long;
    e["truncated"] = c.truncated;
    e["train_conversations"] = c.train;
    e["val_conversations"] = c.val;
    e["train_rows"] = c.train_out;
    e["train_tokens"] = c.train_tokens;
    e["val_tokens"] = c.val_tokens;
    tj[tasks[t].task] = e;
    too_long += c.too_long;
    truncated += c.truncated;
  }
  chat["tasks"] = tj;
  ordered_json sk;
  sk["count"] = n_issues;
  sk["examples"] = ordered_json::array();
  for (const auto& i : issue_examples)
    sk["examples"].push_back({{"file", i.file}, {"line", i.line}, {"reason", i.reason}});
  chat["skipped"] = sk;
  chat["truncation"] = {{"policy", f.truncate}, {"dropped_too_long", too_long}, {"truncated", truncated}};
  chat["noise"] = {{"touchable_tokens", noise_stats.touchable}, {"masked", noise_stats.masked},
                   {"deleted", noise_stats.deleted},          {"substituted", noise_stats.substituted},
                   {"shuffled", noise_stats.shuffled}};
  if (f.pack) {
    const uint64_t cap = static_cast<uint64_t>(f.max_len);
    auto pack_json = [&](const PackStats& st) {
      return ordered_json{{"conversations", st.docs},
                          {"rows_before", st.docs},
                          {"rows_after", st.rows},
                          {"padding_before", data::padding_fraction(st.tokens, st.docs, cap)},
                          {"padding_after", data::padding_fraction(st.tokens, st.rows, cap)}};
    };
    chat["pack"] = {{"row_tokens", cap}, {"train", pack_json(train_pack)}, {"val", pack_json(val_pack)}};
  }
  chat["paraphrase_calls"] = paraphrase_calls;
  chat["trained_tokens"] = mask_tokens;
  meta["chat"] = chat;
  write_file_atomic(meta_path, meta.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");

  // 7. Summary.
  for (uint32_t t = 0; t < tasks.size(); ++t) {
    const auto& c = counts[t];
    std::printf("task %-12s read %llu, train %llu (rows %llu), val %llu, dropped too long %llu, truncated %llu\n",
                tasks[t].task.c_str(), static_cast<unsigned long long>(c.read), static_cast<unsigned long long>(c.train),
                static_cast<unsigned long long>(c.train_out), static_cast<unsigned long long>(c.val),
                static_cast<unsigned long long>(c.too_long), static_cast<unsigned long long>(c.truncated));
  }
  std::printf("train: %llu conversations, %llu tokens (%llu trained) in %zu shards\n",
              static_cast<unsigned long long>(splits[0].n_docs), static_cast<unsigned long long>(splits[0].n_tokens),
              static_cast<unsigned long long>(mask_tokens), splits[0].files.size());
  std::printf("val:   %llu conversations, %llu tokens in %zu shards\n", static_cast<unsigned long long>(splits[1].n_docs),
              static_cast<unsigned long long>(splits[1].n_tokens), splits[1].files.size());
  auto print_pack = [&](const char* name, const PackStats& st) {
    std::printf("pack %-5s %llu conversations -> %llu rows of %d tokens; padding %.1f%% -> %.1f%%\n", name,
                static_cast<unsigned long long>(st.docs), static_cast<unsigned long long>(st.rows), f.max_len,
                100 * data::padding_fraction(st.tokens, st.docs, static_cast<uint64_t>(f.max_len)),
                100 * data::padding_fraction(st.tokens, st.rows, static_cast<uint64_t>(f.max_len)));
  };
  if (f.pack) {
    print_pack("train", train_pack);
    print_pack("val", val_pack);
  }
  if (noise.any())
    std::printf("noise: %llu of %llu touchable tokens changed\n", static_cast<unsigned long long>(noise_stats.changed()),
                static_cast<unsigned long long>(noise_stats.touchable));
  if (paraphrase_calls > 0) std::printf("paraphrase: %llu command calls\n", static_cast<unsigned long long>(paraphrase_calls));
  if (n_issues > 0)
    std::printf("skipped %llu records (first: %s:%llu: %s)\n", static_cast<unsigned long long>(n_issues),
                issue_examples[0].file.c_str(), static_cast<unsigned long long>(issue_examples[0].line),
                issue_examples[0].reason.c_str());
  std::printf("time %.2fs; wrote %s\n", timer.seconds(), f.out.c_str());
}

}  // namespace

void add_data_chat_command(CLI::App& data) {
  auto f = std::make_shared<ChatFlags>();
  f->threads = default_threads();
  CLI::App* c = data.add_subcommand("chat", "chat / Q&A data -> SFT shards with an assistant-only loss mask");
  c->add_option("--tokenizer,-t", f->tokenizer, "tokenizer directory (with <|im_start|> and <|im_end|>)")->required();
  c->add_option("--input,-i", f->inputs, "JSONL/JSON/CSV/TSV files or directories (also .gz/.zst)");
  c->add_option("--out,-o", f->out, "output directory: train_*.bin, val_*.bin, val-<task>_*.bin, meta.json, tokenizer")
      ->required();
  c->add_option("--format", f->format, "auto, messages, sharegpt, alpaca, prompt-completion, csv or tsv")
      ->capture_default_str();
  c->add_option("--mixture", f->mixture, "task mixture file (JSON or YAML): task, path, weight|epochs, system");
  c->add_option("--mixture-size", f->mixture_size, "train examples to sample for a weighted mixture (default: natural)");
  c->add_option("--system", f->system, "system prompt for conversations that have none");
  c->add_option("--max-len", f->max_len, "most tokens per conversation, end-of-text included")->capture_default_str();
  c->add_option("--truncate", f->truncate, "too long: drop, or keep-last-turns")->capture_default_str();
  c->add_flag("--pack", f->pack,
              "pack several conversations per training row of --max-len tokens (first-fit; attention and positions "
              "stay per conversation)");
  c->add_option("--val-fraction", f->val_fraction, "share of conversations for validation (by hash)")
      ->capture_default_str();
  c->add_option("--seed", f->seed, "seed of the split, mixture sampling and augmentation")->capture_default_str();
  c->add_flag("--strict", f->strict, "stop at the first bad record (default: skip and count it)");
  c->add_option("--max-record-mb", f->max_record_mb, "largest JSONL line in MiB; 0 = no limit")->capture_default_str();
  c->add_flag("--add-chat-tokens", f->add_chat_tokens, "append <|im_start|>/<|im_end|> to a tokenizer lacking them");
  c->add_option("--mask-rate", f->noise.mask_rate, "noise: share of touchable tokens replaced by --mask-token")
      ->capture_default_str();
  c->add_option("--mask-token", f->mask_token, "the mask token (a special token or a one-token text)")
      ->capture_default_str();
  c->add_option("--delete-rate", f->noise.delete_rate, "noise: share of touchable tokens deleted")->capture_default_str();
  c->add_option("--substitute-rate", f->noise.substitute_rate, "noise: share replaced by a random token")
      ->capture_default_str();
  c->add_option("--shuffle-rate", f->noise.shuffle_rate, "noise: share swapped with their neighbour")
      ->capture_default_str();
  c->add_flag("--augment-targets", f->noise.targets, "noise also on assistant turns (default: user turns only)");
  c->add_option("--augment-command", f->augment_command, "paraphrase/translate program: text on stdin -> stdout");
  c->add_option("--augment-model", f->augment_model,
                 "chatforge chat model that paraphrases/translates each user text (answers it as a user turn)");
  c->add_option("--augment-instruction", f->augment_instruction,
                "system prompt for --augment-model, e.g. \"Translate into Chinese.\"");
  c->add_option("--paraphrase-rate", f->paraphrase_rate, "share of train conversations paraphrased as extra examples")
      ->capture_default_str();
  c->add_option("--augment-timeout", f->augment_timeout, "seconds one --augment-command call may take")
      ->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  c->add_option("--dump-text", f->dump_text, "also write every output conversation with its rendered text (JSONL)");
  c->add_option("--threads", f->threads, "worker threads")->check(threads_range(false))->capture_default_str();
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
