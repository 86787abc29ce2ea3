// Implementation of generation_eval.h: prepare the prompts, generate, score, probe the
// counterfactuals, then assemble results.json, the summary and the report.
#include "eval/generation_eval.h"

#include <fmt/format.h>

#include "core/error.h"
#include "core/progress.h"
#include "eval/bleu_tokenize.h"
#include "eval/counterfactual.h"
#include "eval/eval_items.h"
#include "eval/model_scoring.h"

namespace chatforge::eval {
namespace {

using nlohmann::json;

// The items with their prompts as specs and token ids.
struct Prepared {
  std::vector<EvalItem> items;
  Groups groups;
  std::vector<TermPair> pairs;
  std::vector<PromptSpec> specs;
  std::vector<std::vector<int32_t>> prompts;
};

Prepared prepare(const interop::LoadedModel& lm, const GenerationEvalOptions& o) {
  const bool chat_tokens = lm.chat != nullptr;
  if (o.chat && !chat_tokens)
    usage_fail("--chat: the model has no chat template (no chat_template in tokenizer_config.json, no "
               "<|im_start|>/<|im_end|> tokens)");
  parse_bleu_tokenizer(o.bleu_tokenize);  // a bad name fails before the answers are generated
  Prepared p;
  EvalItemFields f;
  f.reference = o.reference_field;
  f.group = o.group_field;
  f.need_prompt = true;
  p.items = load_eval_items(o.data, f);
  std::vector<std::string> labels;
  for (const auto& it : p.items) labels.push_back(it.group);
  p.groups = make_groups(o.data, o.group_field, o.expect_groups, labels);
  if (!o.counterfactual.empty()) p.pairs = read_term_pairs(o.counterfactual);
  // Chat items use the template when the tokenizer has it.
  for (const auto& it : p.items) {
    p.specs.push_back({it.prompt, it.messages, chat_tokens && (o.chat || !it.messages.empty())});
    p.prompts.push_back(encode_prompt(*lm.tokenizer, lm.chat.get(), p.specs.back()));
    CF_CHECK(!p.prompts.back().empty(), "{}:{}: item '{}': the prompt encodes to no tokens", o.data, it.line, it.id);
  }
  return p;
}

struct Scores {
  std::vector<CorpusMetric> metrics;
  std::vector<GroupMetric> per_group;
  json details;  // the metrics' own details (BLEU signature, ...)
  std::string bleu_line;
};

Scores score(const Prepared& p, const std::vector<std::string>& outputs, const GenerationEvalOptions& o) {
  BleuOptions bleu_opt;
  bleu_opt.tokenizer = parse_bleu_tokenizer(o.bleu_tokenize);
  std::vector<std::vector<std::string>> refs;
  for (const auto& it : p.items) refs.push_back(it.references);
  Scores s;
  BleuScore bleu_total;
  s.metrics = bleu_metrics(outputs, refs, bleu_opt, s.details, &bleu_total);
  for (auto& m : rouge_metrics(outputs, refs, RougeOptions{}, s.details)) s.metrics.push_back(std::move(m));
  for (auto& m : qa_metrics(outputs, refs, QaOptions{}, s.details)) s.metrics.push_back(std::move(m));
  // Items with key facts: all of them or none (a partial set would score a subset silently).
  size_t with_facts = 0;
  for (const auto& it : p.items) with_facts += !it.facts.empty();
  if (with_facts > 0) {
    for (const auto& it : p.items)
      CF_CHECK(!it.facts.empty(), "{}:{}: item '{}': 'facts' missing ({} other items have facts)", o.data, it.line,
               it.id, with_facts);
    std::vector<std::vector<std::string>> facts;
    for (const auto& it : p.items) facts.push_back(it.facts);
    for (auto& m : fact_metrics(outputs, facts, QaOptions{})) s.metrics.push_back(std::move(m));
  }
  s.per_group = finish_metrics(s.metrics, p.items.size(), p.groups, o.bootstrap);
  s.bleu_line = "BLEU|" + s.details["bleu"]["signature"].get<std::string>() + bleu_total.format(2).substr(4);
  return s;
}

json outputs_json(const Prepared& p, const std::vector<std::string>& outputs) {
  json outs = json::array();
  for (size_t i = 0; i < p.items.size(); ++i) {
    const EvalItem& it = p.items[i];
    json o = {{"id", it.id},         {"line", it.line},       {"prompt", it.prompt},
              {"chat", p.specs[i].chat}, {"output", outputs[i]}, {"references", it.references}};
    if (!it.facts.empty()) {
      o["facts"] = it.facts;
      o["facts_match"] = facts_match(outputs[i], it.facts) > 0;
    }
    if (!it.group.empty()) o["group"] = it.group;
    outs.push_back(std::move(o));
  }
  return outs;
}

// The prompts holding a term of a pair, with the terms swapped.
struct Probes {
  std::vector<size_t> items;  // indices of the probed items
  std::vector<PromptSpec> specs;
  std::vector<std::vector<int32_t>> prompts;
};

Probes swapped_prompts(const interop::LoadedModel& lm, const Prepared& p, const GenerationEvalOptions& o) {
  Probes pr;
  for (size_t i = 0; i < p.items.size(); ++i) {
    PromptSpec s = p.specs[i];
    const SwapResult r = swap_terms(s.text, p.pairs);
    size_t swaps = r.swaps;
    s.text = r.text;
    for (auto& [role, content] : s.messages) {
      const SwapResult mr = swap_terms(content, p.pairs);
      swaps += mr.swaps;
      content = mr.text;
    }
    if (swaps == 0) continue;
    pr.items.push_back(i);
    pr.prompts.push_back(encode_prompt(*lm.tokenizer, lm.chat.get(), s));
    pr.specs.push_back(std::move(s));
  }
  CF_CHECK(!pr.items.empty(), "--counterfactual {}: no prompt in {} holds any of its terms", o.counterfactual, o.data);
  return pr;
}

json changes_json(const std::vector<PairChange>& changes) {
  json cj = json::array();
  for (const auto& ch : changes) {
    json e = {{"pair", ch.pair},
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
  return cj;
}

// Counterfactual probes: swap the terms in each prompt, answer again, and score the
// original answer under both prompts. Adds "counterfactual" to the probed outputs and
// to results; returns the per-pair changes.
std::vector<PairChange> probe_counterfactuals(const interop::LoadedModel& lm, const Prepared& p,
                                              const std::vector<GeneratedAnswer>& answers,
                                              const GenerationEvalOptions& o, json& outs, json& results) {
  const Probes pr = swapped_prompts(lm, p, o);
  AnswerOptions ao = o.answers;
  ao.label = "counterfactual";
  const auto swapped = generate_answers(lm, ao, pr.prompts);
  std::vector<CounterfactualItem> cf;
  ProgressBar bar("log-likelihoods", pr.items.size(), "items");
  for (size_t k = 0; k < pr.items.size(); ++k) {
    const size_t i = pr.items[k];
    CounterfactualItem c;
    c.prompt = p.items[i].prompt;
    c.output_original = answers[i].text;
    c.output_swapped = swapped[k].text;
    // Log-likelihood of the original answer's tokens (with the stop id that ended it,
    // so "stop here" counts too) under the original and the swapped prompt.
    const std::vector<int32_t>& answer = answers[i].tokens;
    if (!answer.empty() && answer.size() < static_cast<size_t>(lm.model->config().n_ctx)) {
      c.loglik_original = -continuation_nll(*lm.model, p.prompts[i], answer);
      c.loglik_swapped = -continuation_nll(*lm.model, pr.prompts[k], answer);
    }
    const PromptSpec& s = pr.specs[k];
    outs[i]["counterfactual"] = {{"swapped_prompt", s.messages.empty() ? s.text : s.messages.back().second},
                                 {"swapped_output", c.output_swapped}};
    if (c.loglik_original) {
      outs[i]["counterfactual"]["loglik_original"] = *c.loglik_original;
      outs[i]["counterfactual"]["loglik_swapped"] = *c.loglik_swapped;
    }
    cf.push_back(std::move(c));
    bar.advance();
  }
  bar.finish();
  auto changes = counterfactual_changes(cf, p.pairs, o.bootstrap);
  results["counterfactual"] = {
      {"pairs_file", o.counterfactual}, {"probes", pr.items.size()}, {"per_pair", changes_json(changes)}};
  return changes;
}

std::string loglik_diff_text(const PairChange& ch, const char* format) {
  return ch.mean_loglik_diff ? fmt::format(fmt::runtime(format), *ch.mean_loglik_diff, ch.loglik_diff_ci->lo,
                                           ch.loglik_diff_ci->hi)
                             : std::string();
}

std::string summary_text(const Scores& s, const std::vector<PairChange>& changes) {
  std::string out = s.bleu_line + "\n" + format_metrics(s.metrics, s.per_group);
  for (const auto& ch : changes) {
    out += cformat("counterfactual %-12s n=%-4zu changed %5.1f%%  output F1 %.3f%s\n", ch.pair.c_str(), ch.items,
                   100 * ch.changed_rate, ch.mean_output_f1,
                   loglik_diff_text(ch, "  loglik diff {:+.3f} [{:+.3f}, {:+.3f}]").c_str());
  }
  return out;
}

void add_counterfactual_section(HtmlReport& rep, const std::vector<PairChange>& changes, const std::string& file) {
  rep.heading("Counterfactual term swaps");
  rep.paragraph("Each prompt holding a term of " + file +
                " is asked again with the terms swapped. Changed = the answer differs after swapping the terms "
                "back; loglik diff = log P(original answer | swapped prompt) - log P(original answer | prompt).");
  std::vector<std::vector<std::string>> rows;
  std::vector<Bar> bars;
  for (const auto& ch : changes) {
    const std::string diff = loglik_diff_text(ch, "{:+.3f} [{:+.3f}, {:+.3f}]");
    rows.push_back({ch.pair, std::to_string(ch.items), fmt::format("{:.1f}%", 100 * ch.changed_rate),
                    fmt::format("{:.3f} [{:.3f}, {:.3f}]", ch.mean_output_f1, ch.output_f1_ci.lo, ch.output_f1_ci.hi),
                    ch.mean_loglik_diff ? diff : "n/a"});
    bars.push_back({ch.pair, 100 * ch.changed_rate, std::nullopt, std::nullopt});
  }
  rep.table({"pair", "probes", "answers changed", "output F1 (95% CI)", "loglik diff (95% CI)"}, rows);
  rep.bar_chart("Answers changed by the swap (%)", bars);
}

HtmlReport build_report(const Prepared& p, const std::vector<std::string>& outputs, const Scores& s,
                        const std::vector<PairChange>& changes, const GenerationEvalOptions& o) {
  const auto& smp = o.answers.sampling;
  HtmlReport rep("Generation eval: " + o.model_name);
  const std::string decoding =
      smp.temperature == 0 ? std::string("greedy") : fmt::format("temperature {}", smp.temperature);
  rep.paragraph(fmt::format("{} items from {}; {} decoding, at most {} new tokens.", p.items.size(), o.data, decoding,
                            o.answers.max_tokens));
  rep.paragraph(s.bleu_line);
  add_metric_sections(rep, s.metrics, s.per_group);
  if (!changes.empty()) add_counterfactual_section(rep, changes, o.counterfactual);
  rep.heading("Outputs");
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < p.items.size() && i < 200; ++i) {
    const EvalItem& it = p.items[i];
    rows.push_back({it.id, it.group, shorten(it.prompt), shorten(outputs[i]), shorten(it.references[0])});
  }
  rep.table({"id", "group", "prompt", "output", "reference"}, rows);
  if (p.items.size() > 200) rep.paragraph(fmt::format("(first 200 of {}; all are in results.json)", p.items.size()));
  return rep;
}

}  // namespace

EvalOutput run_generation_eval(const interop::LoadedModel& lm, const GenerationEvalOptions& o) {
  const Prepared p = prepare(lm, o);
  AnswerOptions ao = o.answers;
  ao.label = "generate";
  const auto answers = generate_answers(lm, ao, p.prompts);
  std::vector<std::string> outputs;
  for (const auto& ans : answers) outputs.push_back(ans.text);
  const Scores s = score(p, outputs, o);

  json j = s.details;
  const auto& smp = o.answers.sampling;
  j["task"] = "generate";
  j["model"] = o.model_name;
  j["data"] = o.data;
  j["items"] = p.items.size();
  j["generation"] = {{"temperature", smp.temperature}, {"top_k", smp.top_k},
                     {"top_p", smp.top_p},             {"seed", smp.seed},
                     {"max_tokens", o.answers.max_tokens}, {"batch", o.answers.batch}};
  j["metrics"] = metrics_json(s.metrics);
  if (!s.per_group.empty()) j["per_group"] = groups_json(s.per_group);
  j["bleu_line"] = s.bleu_line;
  json outs = outputs_json(p, outputs);
  std::vector<PairChange> changes;
  if (!p.pairs.empty()) changes = probe_counterfactuals(lm, p, answers, o, outs, j);
  j["outputs"] = std::move(outs);
  HtmlReport rep = build_report(p, outputs, s, changes, o);
  return {std::move(j), std::move(rep), summary_text(s, changes)};
}

}  // namespace chatforge::eval
