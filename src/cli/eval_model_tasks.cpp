// `chatforge eval perplexity | generate | choice`: the evaluations that run a model.
// perplexity scores held-out text or token shards in strided context windows; generate
// answers JSONL items and scores them with BLEU/ROUGE/EM/F1 (per group, counterfactual
// term swaps); choice ranks multiple-choice options by log-likelihood. Each writes
// results.json and report.html to --out.
#include "cli/eval_model_tasks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/option_checks.h"
#include "serve/feedback_store.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "data/shard.h"
#include "eval/choice_items.h"
#include "eval/corpus_metrics.h"
#include "eval/counterfactual.h"
#include "eval/eval_items.h"
#include "eval/model_scoring.h"
#include "eval/report_html.h"
#include "eval/text_files.h"
#include "infer/stop_strings.h"
#include "tokenizer/chat_format.h"

namespace chatforge::cli {

using namespace chatforge::eval;

bool has_chat_tokens(const LoadedModel& lm) {
  return lm.tokenizer->special_token_id(tok::kImStart).has_value() &&
         lm.tokenizer->special_token_id(tok::kImEnd).has_value();
}

std::vector<int32_t> encode_prompt(const LoadedModel& lm, const PromptSpec& p) {
  if (p.chat) {
    std::vector<tok::ChatMessage> msgs;
    if (p.messages.empty()) {
      msgs.push_back({"user", p.text});
    } else {
      for (const auto& [role, content] : p.messages) msgs.push_back({role, content});
    }
    return tok::ChatFormat(*lm.tokenizer).render(msgs, true).ids;
  }
  return lm.tokenizer->encode(p.text);
}

std::vector<GeneratedAnswer> generate_answers(const LoadedModel& lm, const GenerationOptions& g,
                                          const std::vector<std::vector<int32_t>>& prompts, int batch,
                                          const std::string& label) {
  infer::Engine engine(*lm.model, std::max(1, std::min<int>(batch, static_cast<int>(prompts.size()))), 0,
                       g.weight_format());
  std::vector<GeneratedAnswer> out;
  out.reserve(prompts.size());
  ProgressBar bar(label, prompts.size(), "answers");
  for (size_t start = 0; start < prompts.size(); start += engine.max_batch()) {
    const size_t end = std::min(prompts.size(), start + engine.max_batch());
    std::vector<infer::GenerationRequest> reqs;
    for (size_t i = start; i < end; ++i) {
      CF_CHECK(!prompts[i].empty(), "prompt {} encodes to no tokens", i + 1);
      infer::GenerationRequest r;
      r.prompt = prompts[i];
      r.sampling = g.sampling;
      r.sampling.seed = g.sampling.seed + i;
      r.max_new_tokens = g.max_tokens;
      r.stop_ids = lm.stop_ids;
      r.context_policy = g.policy();
      r.sample_vocab_size = lm.tokenizer->vocab_size();
      reqs.push_back(std::move(r));
    }
    for (auto& r : engine.generate_batch(std::move(reqs))) {
      // Stop strings cut the decoded text (the engine stops on ids only).
      infer::StopStringMatcher matcher(g.stop);
      std::string text = matcher.push(lm.tokenizer->decode(r.tokens));
      if (!matcher.matched()) text += matcher.flush();
      if (r.stop_id >= 0) r.tokens.push_back(r.stop_id);
      out.push_back({std::move(text), std::move(r.tokens)});
    }
    bar.update(end);
  }
  bar.finish();
  return out;
}

namespace {

// ---------------------------------------------------------------- shared pieces

struct CommonEvalArgs {
  std::string data, group_field, out;
  std::vector<std::string> expect_groups;
  int bootstrap = 1000;
  uint64_t bootstrap_seed = 1234;
  bool json = false;
  std::string feedback_db;  // chatforge serve's SQLite store: its approval statistics join the results
};

void add_common_eval_options(CLI::App* sub, CommonEvalArgs& a, bool groups) {
  sub->add_option("--data", a.data, "evaluation data (see `chatforge eval <task> --help` and docs/eval.md)")->required();
  sub->add_option("--out", a.out, "directory for results.json and report.html (created)")->required();
  if (groups) {
    sub->add_option("--group-field", a.group_field, "JSONL field with each item's group: every metric per group");
    sub->add_option("--expect-groups", a.expect_groups, "groups that must be present (comma-separated)")->delimiter(',');
  }
  sub->add_option("--bootstrap", a.bootstrap, "bootstrap resamples for the 95% intervals")->capture_default_str();
  sub->add_option("--bootstrap-seed", a.bootstrap_seed, "seed of the bootstrap resampling")->capture_default_str();
  set_ranges(*sub, {{"--bootstrap", kBootstrapRange}, {"--bootstrap-seed", kSeedRange}});
  sub->add_flag("--json", a.json, "print results.json to stdout as well");
  sub->add_option("--feedback-db", a.feedback_db,
                  "add the user-feedback statistics of a `chatforge serve --db` store (approval per model and day)");
}

BootstrapOptions bootstrap_options(const CommonEvalArgs& a) {
  BootstrapOptions bo;
  bo.resamples = a.bootstrap;
  bo.seed = a.bootstrap_seed;
  return bo;
}

Groups make_groups(const CommonEvalArgs& a, const std::vector<std::string>& labels) {
  if (a.group_field.empty()) {
    if (!a.expect_groups.empty()) usage_fail("--expect-groups needs --group-field");
    return {};
  }
  try {
    return group_items(labels, a.expect_groups);
  } catch (const Error& e) {
    fail("{}: {}", a.data, e.what());
  }
}

// Intervals for every metric, per-group values and gaps.
std::vector<GroupMetric> finish_metrics(std::vector<CorpusMetric>& metrics, size_t n_items, const Groups& g,
                                        const BootstrapOptions& bo) {
  add_confidence_intervals(metrics, n_items, bo);
  return g.names.empty() ? std::vector<GroupMetric>{} : group_metrics(metrics, g, bo);
}

void print_metrics(const std::vector<CorpusMetric>& metrics, const std::vector<GroupMetric>& groups) {
  for (const auto& m : metrics) {
    std::printf("%-20s %8.2f  95%% CI [%.2f, %.2f]\n", m.name.c_str(), m.value, m.ci.lo, m.ci.hi);
  }
  for (const auto& g : groups) {
    if (g.groups.size() < 2) continue;
    std::printf("%-20s largest gap %s - %s = %.2f  95%% CI [%.2f, %.2f]%s\n", g.metric.c_str(),
                g.gap.high_group.c_str(), g.gap.low_group.c_str(), g.gap.gap, g.gap.ci.lo, g.gap.ci.hi,
                g.gap.too_few_items ? "  (too few items to judge)" : (g.gap.significant() ? "  (significant)" : ""));
  }
}

void add_metric_sections(HtmlReport& rep, const std::vector<CorpusMetric>& metrics,
                         const std::vector<GroupMetric>& groups) {
  rep.heading("Overall");
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : metrics)
    rows.push_back({m.name, fmt::format("{:.2f}", m.value), fmt::format("[{:.2f}, {:.2f}]", m.ci.lo, m.ci.hi)});
  rep.table({"metric", "value", "95% CI (bootstrap)"}, rows);
  if (groups.empty()) return;
  rep.heading("Per group");
  rep.paragraph("Largest gap = best group minus worst group; its interval comes from resampling both groups. "
                "An interval that excludes 0 marks a difference unlikely to be chance.");
  rows.clear();
  for (const auto& g : groups) {
    if (g.groups.size() < 2) continue;
    rows.push_back({g.metric, g.gap.high_group + " - " + g.gap.low_group, fmt::format("{:.2f}", g.gap.gap),
                    fmt::format("[{:.2f}, {:.2f}]", g.gap.ci.lo, g.gap.ci.hi),
                    g.gap.too_few_items ? "too few items" : (g.gap.significant() ? "yes" : "no")});
  }
  rep.table({"metric", "largest gap", "value", "95% CI", "significant"}, rows);
  rows.clear();
  for (const auto& g : groups)
    for (const auto& v : g.groups)
      rows.push_back({g.metric, v.group, std::to_string(v.count), fmt::format("{:.2f}", v.value),
                      fmt::format("[{:.2f}, {:.2f}]", v.ci.lo, v.ci.hi)});
  rep.table({"metric", "group", "n", "value", "95% CI"}, rows);
  for (const auto& g : groups) {
    std::vector<Bar> bars;
    for (const auto& v : g.groups) bars.push_back({v.group, v.value, v.ci.lo, v.ci.hi});
    rep.bar_chart(g.metric + " by group", bars);
  }
}

// The approval statistics of the web page's ratings (`chatforge serve --db F`), added to
// results.json as "user_feedback" and to the report as a table and a per-model chart.
void add_user_feedback(const std::string& db, nlohmann::json& results, HtmlReport& rep) {
  CF_CHECK(file_exists(db), "--feedback-db {}: no such file (the database `chatforge serve --db` writes)", db);
  serve::FeedbackStore store(db);
  const nlohmann::json st = store.stats();
  results["user_feedback"] = st;
  auto rate = [](const nlohmann::json& r) {
    return r.contains("approval_rate") && r["approval_rate"].is_number()
               ? fmt::format("{:.1f}%", 100 * r["approval_rate"].get<double>())
               : std::string("-");
  };
  rep.heading("User feedback");
  rep.paragraph(fmt::format("From {}: thumbs up/down given to answers in the web chat page.", db));
  std::vector<std::vector<std::string>> rows;
  std::vector<Bar> bars;
  for (const auto& r : st.value("per_model", nlohmann::json::array())) {
    rows.push_back({r.value("key", ""), std::to_string(r.value("answers", 0)), std::to_string(r.value("thumbs_up", 0)),
                    std::to_string(r.value("thumbs_down", 0)), rate(r)});
    if (r["approval_rate"].is_number())
      bars.push_back({r.value("key", ""), 100 * r["approval_rate"].get<double>(), std::nullopt, std::nullopt});
  }
  rows.push_back({"all models", std::to_string(st.value("answers", 0)), std::to_string(st.value("thumbs_up", 0)),
                  std::to_string(st.value("thumbs_down", 0)), rate(st)});
  rep.table({"model", "answers", "thumbs up", "thumbs down", "approval"}, rows);
  if (!bars.empty()) rep.bar_chart("approval rate by model (%)", bars);
}

void write_outputs(const CommonEvalArgs& a, const nlohmann::json& results_in, const HtmlReport& rep_in) {
  nlohmann::json results = results_in;
  HtmlReport rep = rep_in;
  if (!a.feedback_db.empty()) add_user_feedback(a.feedback_db, results, rep);
  make_output_dir(a.out);
  const std::string text = results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  write_file_atomic(a.out + "/results.json", text);
  write_file_atomic(a.out + "/report.html", rep.html());
  if (a.json) std::printf("%s", text.c_str());
  std::fprintf(stderr, "wrote %s/results.json and %s/report.html\n", a.out.c_str(), a.out.c_str());
}

std::string shorten(const std::string& s, size_t n = 160) {
  if (s.size() <= n) return s;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "…";
}

// A mean of per-item values (0..100) as a CorpusMetric.
CorpusMetric mean_metric(const std::string& name, std::shared_ptr<const std::vector<double>> values) {
  CorpusMetric m;
  m.name = name;
  m.statistic = [values](std::span<const size_t> idx) {
    double s = 0;
    for (size_t i : idx) s += (*values)[i];
    return idx.empty() ? 0.0 : s / idx.size();
  };
  std::vector<size_t> all(values->size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  m.value = m.statistic(all);
  return m;
}

// ---------------------------------------------------------------- perplexity

struct PerplexityArgs {
  GenerationOptions gen;  // model, tokenizer, threads
  CommonEvalArgs common;
  std::string text_field = "text", split = "val";
  int window = 0, stride = 0;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The token stream to score and its UTF-8 byte count (documents only, no separators).
struct Corpus {
  std::vector<int32_t> tokens;  // eot, doc1, eot, doc2, eot, ...
  uint64_t bytes = 0;
  size_t documents = 0;
  std::string kind;
};

Corpus load_corpus(const PerplexityArgs& a, const LoadedModel& lm) {
  Corpus c;
  const std::string& path = a.common.data;
  const auto eot = lm.tokenizer->special_token_id("<|endoftext|>");
  if (is_directory(path) || ends_with(path, ".bin")) {
    std::vector<std::unique_ptr<data::ShardReader>> readers;
    if (is_directory(path)) {
      const auto files = data::list_shards(path, a.split);
      CF_CHECK(!files.empty(), "{}: no {}_*.bin shards (choose the split with --split)", path, a.split);
      for (const auto& f : files) readers.push_back(std::make_unique<data::ShardReader>(f));
    } else {
      CF_CHECK(file_exists(path), "{} does not exist", path);
      readers.push_back(std::make_unique<data::ShardReader>(path));
    }
    c.kind = "shards";
    c.tokens.push_back(readers[0]->eot_id());  // so the first document's first token is scored too
    for (const auto& r : readers) {
      CF_CHECK(r->vocab_size() <= static_cast<uint32_t>(lm.model->config().vocab_size),
               "{}: shard vocabulary {} exceeds the model's {}", r->path(), r->vocab_size(),
               lm.model->config().vocab_size);
      CF_CHECK(r->fingerprint().empty() ||
                   lm.tokenizer->fingerprint().compare(0, r->fingerprint().size(), r->fingerprint()) == 0,
               "{} was tokenized with another tokenizer than {}'s", r->path(), a.gen.model_dir);
      std::vector<int32_t> doc;
      for (uint64_t i = 0; i < r->n_tokens(); ++i) {
        const auto t = static_cast<int32_t>(r->tokens(i));
        c.tokens.push_back(t);
        if (t == r->eot_id()) {
          c.bytes += lm.tokenizer->decode(doc).size();
          ++c.documents;
          doc.clear();
        } else {
          doc.push_back(t);
        }
      }
      if (!doc.empty()) c.bytes += lm.tokenizer->decode(doc).size(), ++c.documents;
    }
    return c;
  }
  CF_CHECK(file_exists(path), "{} does not exist", path);
  std::vector<std::string> docs;
  if (ends_with(path, ".jsonl")) {
    c.kind = "jsonl";
    for (const auto& rec : read_jsonl(path)) {
      CF_CHECK(rec.value.is_object() && rec.value.contains(a.text_field) && rec.value[a.text_field].is_string(),
               "{}:{}: needs a string '{}' field (choose it with --text-field)", path, rec.line, a.text_field);
      docs.push_back(rec.value[a.text_field].get<std::string>());
    }
  } else {
    c.kind = "text";
    docs.push_back(read_file(path));
  }
  if (eot) c.tokens.push_back(*eot);
  for (const auto& d : docs) {
    if (d.empty()) continue;
    const auto ids = lm.tokenizer->encode(d);
    c.tokens.insert(c.tokens.end(), ids.begin(), ids.end());
    if (eot) c.tokens.push_back(*eot);
    c.bytes += d.size();
    ++c.documents;
  }
  return c;
}

void run_perplexity(PerplexityArgs& a) {
  LoadedModel lm = load_model_and_tokenizer(a.gen);
  const int n_ctx = lm.model->config().n_ctx;
  const int window = a.window > 0 ? a.window : n_ctx;
  if (window > n_ctx) usage_fail("--window {} exceeds the model's context of {}", window, n_ctx);
  const int stride = a.stride > 0 ? a.stride : std::max(1, window / 2);
  if (stride > window) usage_fail("--stride {} exceeds the window of {}", stride, window);
  const Corpus c = load_corpus(a, lm);
  CF_CHECK(c.tokens.size() >= 2, "{}: too little text to score (fewer than 2 tokens)", a.common.data);
  ProgressBar bar("perplexity", c.tokens.size() - 1, "tok");
  const StreamLoss s = score_token_stream(*lm.model, c.tokens, window, stride, &bar);
  bar.finish();
  const double loss = s.nats / s.tokens;
  const double ppl = std::exp(loss);
  const double bpb = c.bytes > 0 ? s.nats / std::log(2.0) / c.bytes : 0;
  nlohmann::json j = {{"task", "perplexity"},
                      {"model", a.gen.model_dir},
                      {"data", a.common.data},
                      {"input", c.kind},
                      {"documents", c.documents},
                      {"tokens_scored", s.tokens},
                      {"bytes", c.bytes},
                      {"window", window},
                      {"stride", stride},
                      {"nll_nats", s.nats},
                      {"loss", loss},
                      {"perplexity", ppl},
                      {"bits_per_byte", bpb},
                      {"bits_per_token", loss / std::log(2.0)}};
  std::printf("loss %.6f  perplexity %.4f  bits/byte %.4f  (%llu tokens, %llu bytes, window %d, stride %d)\n", loss,
              ppl, bpb, static_cast<unsigned long long>(s.tokens), static_cast<unsigned long long>(c.bytes), window,
              stride);
  HtmlReport rep("Perplexity: " + a.gen.model_dir);
  rep.paragraph(fmt::format("{} ({}, {} documents): {} tokens scored in windows of {} tokens with stride {}.",
                            a.common.data, c.kind, c.documents, s.tokens, window, stride));
  rep.table({"measure", "value"}, {{"loss (nats/token)", fmt::format("{:.6f}", loss)},
                                   {"perplexity", fmt::format("{:.4f}", ppl)},
                                   {"bits per byte", fmt::format("{:.4f}", bpb)},
                                   {"bits per token", fmt::format("{:.4f}", loss / std::log(2.0))},
                                   {"UTF-8 bytes", std::to_string(c.bytes)}});
  write_outputs(a.common, j, rep);
}

// ---------------------------------------------------------------- generate

struct GenerateEvalArgs {
  GenerationOptions gen;
  CommonEvalArgs common;
  std::string reference_field, counterfactual, bleu_tokenize = "13a";
  bool chat = false;
  int batch = 8;
};

PromptSpec prompt_of(const EvalItem& it, bool chat) {
  PromptSpec p;
  p.text = it.prompt;
  p.messages = it.messages;
  p.chat = chat;
  return p;
}

void run_generate(GenerateEvalArgs& a) {
  LoadedModel lm = load_model_and_tokenizer(a.gen);
  a.gen.validate(lm.tokenizer->vocab_size());
  const bool chat_tokens = has_chat_tokens(lm);
  if (a.chat && !chat_tokens)
    usage_fail("--chat: the tokenizer has no <|im_start|>/<|im_end|> tokens, so there is no chat template");
  const BleuOptions bleu_opt = [&] {
    BleuOptions o;
    o.tokenizer = parse_bleu_tokenizer(a.bleu_tokenize);
    return o;
  }();
  EvalItemFields f;
  f.reference = a.reference_field;
  f.group = a.common.group_field;
  f.need_prompt = true;
  const auto items = load_eval_items(a.common.data, f);
  std::vector<std::string> labels;
  for (const auto& it : items) labels.push_back(it.group);
  const Groups groups = make_groups(a.common, labels);
  std::vector<TermPair> pairs;
  if (!a.counterfactual.empty()) pairs = read_term_pairs(a.counterfactual);

  // Prompts; chat items use the template when the tokenizer has it.
  std::vector<PromptSpec> specs;
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& it : items) {
    specs.push_back(prompt_of(it, chat_tokens && (a.chat || !it.messages.empty())));
    prompts.push_back(encode_prompt(lm, specs.back()));
    CF_CHECK(!prompts.back().empty(), "{}:{}: item '{}': the prompt encodes to no tokens", a.common.data, it.line,
             it.id);
  }
  const auto answers = generate_answers(lm, a.gen, prompts, a.batch, "generate");
  std::vector<std::string> outputs;
  for (const auto& ans : answers) outputs.push_back(ans.text);

  std::vector<std::vector<std::string>> refs;
  for (const auto& it : items) refs.push_back(it.references);
  nlohmann::json details;
  BleuScore bleu_total;
  std::vector<CorpusMetric> metrics = bleu_metrics(outputs, refs, bleu_opt, details, &bleu_total);
  for (auto& m : rouge_metrics(outputs, refs, RougeOptions{}, details)) metrics.push_back(std::move(m));
  for (auto& m : qa_metrics(outputs, refs, QaOptions{}, details)) metrics.push_back(std::move(m));
  // Items with key facts: all of them or none (a partial set would score a subset silently).
  size_t with_facts = 0;
  for (const auto& it : items) with_facts += !it.facts.empty();
  if (with_facts > 0) {
    for (const auto& it : items)
      CF_CHECK(!it.facts.empty(), "{}:{}: item '{}': 'facts' missing ({} other items have facts)", a.common.data,
               it.line, it.id, with_facts);
    std::vector<std::vector<std::string>> facts;
    for (const auto& it : items) facts.push_back(it.facts);
    for (auto& m : fact_metrics(outputs, facts, QaOptions{})) metrics.push_back(std::move(m));
  }
  const BootstrapOptions bo = bootstrap_options(a.common);
  const auto per_group = finish_metrics(metrics, items.size(), groups, bo);

  nlohmann::json j = details;
  j["task"] = "generate";
  j["model"] = a.gen.model_dir;
  j["data"] = a.common.data;
  j["items"] = items.size();
  j["generation"] = {{"temperature", a.gen.sampling.temperature},
                     {"top_k", a.gen.sampling.top_k},
                     {"top_p", a.gen.sampling.top_p},
                     {"seed", a.gen.sampling.seed},
                     {"max_tokens", a.gen.max_tokens},
                     {"batch", a.batch}};
  j["metrics"] = metrics_json(metrics);
  if (!per_group.empty()) j["per_group"] = groups_json(per_group);
  const std::string bleu_line = "BLEU|" + details["bleu"]["signature"].get<std::string>() + bleu_total.format(2).substr(4);
  j["bleu_line"] = bleu_line;
  nlohmann::json outs = nlohmann::json::array();
  for (size_t i = 0; i < items.size(); ++i) {
    nlohmann::json o = {{"id", items[i].id},
                        {"line", items[i].line},
                        {"prompt", items[i].prompt},
                        {"chat", specs[i].chat},
                        {"output", outputs[i]},
                        {"references", items[i].references}};
    if (!items[i].facts.empty()) {
      o["facts"] = items[i].facts;
      o["facts_match"] = facts_match(outputs[i], items[i].facts) > 0;
    }
    if (!items[i].group.empty()) o["group"] = items[i].group;
    outs.push_back(std::move(o));
  }

  // Counterfactual probes: swap the terms in each prompt, answer again, and score the
  // original answer under both prompts.
  std::vector<PairChange> changes;
  if (!pairs.empty()) {
    std::vector<size_t> probed;
    std::vector<PromptSpec> swapped_specs;
    std::vector<std::vector<int32_t>> swapped_prompts;
    for (size_t i = 0; i < items.size(); ++i) {
      PromptSpec s = specs[i];
      const SwapResult r = swap_terms(s.text, pairs);
      size_t swaps = r.swaps;
      s.text = r.text;
      for (auto& [role, content] : s.messages) {
        const SwapResult mr = swap_terms(content, pairs);
        swaps += mr.swaps;
        content = mr.text;
      }
      if (swaps == 0) continue;
      probed.push_back(i);
      swapped_prompts.push_back(encode_prompt(lm, s));
      swapped_specs.push_back(std::move(s));
    }
    CF_CHECK(!probed.empty(), "--counterfactual {}: no prompt in {} holds any of its terms", a.counterfactual,
             a.common.data);
    const auto swapped_outputs = generate_answers(lm, a.gen, swapped_prompts, a.batch, "counterfactual");
    std::vector<CounterfactualItem> cf;
    ProgressBar bar("log-likelihoods", probed.size(), "items");
    for (size_t k = 0; k < probed.size(); ++k) {
      const size_t i = probed[k];
      CounterfactualItem c;
      c.prompt = items[i].prompt;
      c.output_original = outputs[i];
      c.output_swapped = swapped_outputs[k].text;
      // Log-likelihood of the original answer's tokens (with the stop id that ended it,
      // so "stop here" counts too) under the original and the swapped prompt.
      const std::vector<int32_t>& answer = answers[i].tokens;
      if (!answer.empty() && answer.size() < static_cast<size_t>(lm.model->config().n_ctx)) {
        c.loglik_original = -continuation_nll(*lm.model, prompts[i], answer);
        c.loglik_swapped = -continuation_nll(*lm.model, swapped_prompts[k], answer);
      }
      outs[i]["counterfactual"] = {{"swapped_prompt", swapped_specs[k].messages.empty()
                                                          ? swapped_specs[k].text
                                                          : swapped_specs[k].messages.back().second},
                                   {"swapped_output", c.output_swapped}};
      if (c.loglik_original) {
        outs[i]["counterfactual"]["loglik_original"] = *c.loglik_original;
        outs[i]["counterfactual"]["loglik_swapped"] = *c.loglik_swapped;
      }
      cf.push_back(std::move(c));
      bar.advance();
    }
    bar.finish();
    changes = counterfactual_changes(cf, pairs, bo);
    nlohmann::json cj = nlohmann::json::array();
    for (const auto& ch : changes) {
      nlohmann::json e = {{"pair", ch.pair},
                          {"items", ch.items},
                          {"changed_rate", ch.changed_rate},
                          {"mean_output_f1", ch.mean_output_f1},
                          {"output_f1_ci95", {ch.output_f1_ci.lo, ch.output_f1_ci.hi}}};
      if (ch.mean_loglik_diff) {
        e["mean_loglik_diff"] = *ch.mean_loglik_diff;
        e["loglik_diff_ci95"] = {ch.loglik_diff_ci->lo, ch.loglik_diff_ci->hi};
      }
      cj.push_back(std::move(e));
    }
    j["counterfactual"] = {{"pairs_file", a.counterfactual}, {"probes", probed.size()}, {"per_pair", cj}};
  }
  j["outputs"] = outs;

  std::printf("%s\n", bleu_line.c_str());
  print_metrics(metrics, per_group);
  for (const auto& ch : changes) {
    std::printf("counterfactual %-12s n=%-4zu changed %5.1f%%  output F1 %.3f%s\n", ch.pair.c_str(), ch.items,
                100 * ch.changed_rate, ch.mean_output_f1,
                ch.mean_loglik_diff ? fmt::format("  loglik diff {:+.3f} [{:+.3f}, {:+.3f}]", *ch.mean_loglik_diff,
                                                  ch.loglik_diff_ci->lo, ch.loglik_diff_ci->hi)
                                          .c_str()
                                    : "");
  }

  HtmlReport rep("Generation eval: " + a.gen.model_dir);
  rep.paragraph(fmt::format("{} items from {}; {} decoding, at most {} new tokens.", items.size(), a.common.data,
                            a.gen.sampling.temperature == 0 ? std::string("greedy")
                                                            : fmt::format("temperature {}", a.gen.sampling.temperature),
                            a.gen.max_tokens));
  rep.paragraph(bleu_line);
  add_metric_sections(rep, metrics, per_group);
  if (!changes.empty()) {
    rep.heading("Counterfactual term swaps");
    rep.paragraph("Each prompt holding a term of " + a.counterfactual +
                  " is asked again with the terms swapped. Changed = the answer differs after swapping the terms "
                  "back; loglik diff = log P(original answer | swapped prompt) - log P(original answer | prompt).");
    std::vector<std::vector<std::string>> rows;
    std::vector<Bar> bars;
    for (const auto& ch : changes) {
      rows.push_back({ch.pair, std::to_string(ch.items), fmt::format("{:.1f}%", 100 * ch.changed_rate),
                      fmt::format("{:.3f} [{:.3f}, {:.3f}]", ch.mean_output_f1, ch.output_f1_ci.lo, ch.output_f1_ci.hi),
                      ch.mean_loglik_diff ? fmt::format("{:+.3f} [{:+.3f}, {:+.3f}]", *ch.mean_loglik_diff,
                                                        ch.loglik_diff_ci->lo, ch.loglik_diff_ci->hi)
                                          : "n/a"});
      bars.push_back({ch.pair, 100 * ch.changed_rate, std::nullopt, std::nullopt});
    }
    rep.table({"pair", "probes", "answers changed", "output F1 (95% CI)", "loglik diff (95% CI)"}, rows);
    rep.bar_chart("Answers changed by the swap (%)", bars);
  }
  rep.heading("Outputs");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < items.size() && i < 200; ++i) {
    rows.push_back({items[i].id, items[i].group, shorten(items[i].prompt), shorten(outputs[i]),
                    shorten(items[i].references[0])});
  }
  rep.table({"id", "group", "prompt", "output", "reference"}, rows);
  if (items.size() > 200) rep.paragraph(fmt::format("(first 200 of {}; all are in results.json)", items.size()));
  write_outputs(a.common, j, rep);
}

// ---------------------------------------------------------------- choice

struct ChoiceEvalArgs {
  GenerationOptions gen;  // model, tokenizer, threads
  CommonEvalArgs common;
  bool chat = false;
};

void run_choice(ChoiceEvalArgs& a) {
  LoadedModel lm = load_model_and_tokenizer(a.gen);
  if (a.chat && !has_chat_tokens(lm))
    usage_fail("--chat: the tokenizer has no <|im_start|>/<|im_end|> tokens, so there is no chat template");
  const auto items = load_choice_items(a.common.data, a.common.group_field);
  std::vector<std::string> labels;
  for (const auto& it : items) labels.push_back(it.group);
  const Groups groups = make_groups(a.common, labels);
  auto correct_norm = std::make_shared<std::vector<double>>();
  auto correct_raw = std::make_shared<std::vector<double>>();
  nlohmann::json outs = nlohmann::json::array();
  size_t options = 0;
  for (const auto& it : items) options += it.choices.size();
  ProgressBar bar("choice", options, "options");
  for (const auto& it : items) {
    PromptSpec p;
    p.text = it.prompt;
    p.chat = a.chat;
    const auto prompt = encode_prompt(lm, p);
    CF_CHECK(!prompt.empty(), "{}:{}: item '{}': the prompt encodes to no tokens", a.common.data, it.line, it.id);
    nlohmann::json opts = nlohmann::json::array();
    size_t best_raw = 0, best_norm = 0;
    double top_raw = -INFINITY, top_norm = -INFINITY;
    for (size_t c = 0; c < it.choices.size(); ++c) {
      const auto cont = lm.tokenizer->encode(it.choices[c]);
      double ll = 0;
      try {
        ll = -continuation_nll(*lm.model, prompt, cont);
      } catch (const Error& e) {
        fail("{}:{}: item '{}': choices[{}]: {}", a.common.data, it.line, it.id, c, e.what());
      }
      const double norm = ll / static_cast<double>(cont.size());
      if (ll > top_raw) top_raw = ll, best_raw = c;
      if (norm > top_norm) top_norm = norm, best_norm = c;
      opts.push_back({{"text", it.choices[c]}, {"tokens", cont.size()}, {"loglik", ll}, {"loglik_per_token", norm}});
      bar.advance();
    }
    correct_norm->push_back(best_norm == it.answer ? 100.0 : 0.0);
    correct_raw->push_back(best_raw == it.answer ? 100.0 : 0.0);
    nlohmann::json o = {{"id", it.id},     {"line", it.line},          {"answer", it.answer},
                        {"predicted", best_norm}, {"predicted_unnormalised", best_raw}, {"options", opts}};
    if (!it.group.empty()) o["group"] = it.group;
    outs.push_back(std::move(o));
  }
  bar.finish();
  std::vector<CorpusMetric> metrics = {mean_metric("accuracy", correct_norm),
                                       mean_metric("accuracy_unnormalised", correct_raw)};
  const auto per_group = finish_metrics(metrics, items.size(), groups, bootstrap_options(a.common));
  nlohmann::json j = {{"task", "choice"},
                      {"model", a.gen.model_dir},
                      {"data", a.common.data},
                      {"items", items.size()},
                      {"normalisation", "log-likelihood per option token"},
                      {"metrics", metrics_json(metrics)}};
  if (!per_group.empty()) j["per_group"] = groups_json(per_group);
  j["outputs"] = outs;
  print_metrics(metrics, per_group);
  HtmlReport rep("Multiple choice: " + a.gen.model_dir);
  rep.paragraph(fmt::format("{} items from {}. accuracy picks the option with the highest log-likelihood per token; "
                            "accuracy_unnormalised the highest total log-likelihood. Values in %.",
                            items.size(), a.common.data));
  add_metric_sections(rep, metrics, per_group);
  write_outputs(a.common, j, rep);
}

void add_model_options(CLI::App* sub, GenerationOptions& g) {
  sub->add_option("--model", g.model_dir, "checkpoint directory (config.json, model.safetensors)")->required();
  sub->add_option("--tokenizer", g.tokenizer, "tokenizer directory or tokenizer.json (default: the model's)");
  sub->add_option("--threads", g.threads, "CPU threads (default: OMP_NUM_THREADS or all cores)")
      ->check(threads_range(true));
}

}  // namespace

void setup_eval_perplexity(CLI::App& eval) {
  auto a = std::make_shared<PerplexityArgs>();
  CLI::App* sub = eval.add_subcommand(
      "perplexity", "loss, perplexity and bits per byte on held-out text (.txt, .jsonl) or token shards (dir, .bin)");
  add_model_options(sub, a->gen);
  add_common_eval_options(sub, a->common, false);
  sub->add_option("--text-field", a->text_field, ".jsonl: field holding each document")->capture_default_str();
  sub->add_option("--split", a->split, "shard directory: which split's shards (SPLIT_*.bin)")->capture_default_str();
  sub->add_option("--window", a->window, "tokens of context per forward pass (default: the model's context)");
  sub->add_option("--stride", a->stride, "tokens scored per window (default: window/2)");
  set_ranges(*sub, {{"--window", "[1, 2^20]"}, {"--stride", "[1, 2^20]"}});
  add_config_option(*sub);
  sub->callback([a] { run_perplexity(*a); });
}

void setup_eval_generate(CLI::App& eval) {
  auto a = std::make_shared<GenerateEvalArgs>();
  a->gen.sampling.temperature = 0;  // greedy unless asked
  a->gen.max_tokens = 64;
  CLI::App* sub = eval.add_subcommand(
      "generate", "answer JSONL prompts with a model and score BLEU, ROUGE, exact match and F1 (per group)");
  add_generation_options(*sub, a->gen);
  add_common_eval_options(sub, a->common, true);
  sub->add_option("--reference-field", a->reference_field,
                  "field with the reference(s) (default: references, reference, answers, answer, target, output, or "
                  "the final assistant turn of messages)");
  sub->add_flag("--chat", a->chat, "render plain prompts as a user turn of the chat template");
  sub->add_option("--tokenize", a->bleu_tokenize, "BLEU tokenizer: 13a, zh, char or none")->capture_default_str();
  sub->add_option("--batch", a->batch, "sequences generated together per forward pass")->capture_default_str();
  set_ranges(*sub, {{"--batch", "[1, 256]"}});
  sub->add_option("--counterfactual", a->counterfactual,
                  "TSV of term pairs (he<TAB>she): swap them in the prompts and report how answers change");
  add_config_option(*sub);
  sub->callback([a] { run_generate(*a); });
}

void setup_eval_choice(CLI::App& eval) {
  auto a = std::make_shared<ChoiceEvalArgs>();
  CLI::App* sub = eval.add_subcommand(
      "choice", "multiple-choice accuracy: options ranked by the model's log-likelihood (per token and total)");
  add_model_options(sub, a->gen);
  add_common_eval_options(sub, a->common, true);
  sub->add_flag("--chat", a->chat, "render prompts as a user turn of the chat template (options are the answer)");
  add_config_option(*sub);
  sub->callback([a] { run_choice(*a); });
}

}  // namespace chatforge::cli
