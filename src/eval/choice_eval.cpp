// Implementation of choice_eval.h.
#include "eval/choice_eval.h"

#include <fmt/format.h>

#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/progress.h"
#include "eval/answer_generation.h"
#include "eval/choice_items.h"
#include "eval/model_scoring.h"

namespace chatforge::eval {
namespace {

using nlohmann::json;

struct Picks {
  std::shared_ptr<std::vector<double>> correct_norm = std::make_shared<std::vector<double>>();
  std::shared_ptr<std::vector<double>> correct_raw = std::make_shared<std::vector<double>>();
  json outputs = json::array();
};

// Scores every option of one item; records whether each pick is right and the item's output.
void score_item(const interop::LoadedModel& lm, const ChoiceItem& it, const ChoiceEvalOptions& o, ProgressBar& bar,
                Picks& picks) {
  const auto prompt = encode_prompt(*lm.tokenizer, lm.chat.get(), {it.prompt, {}, o.chat});
  CF_CHECK(!prompt.empty(), "{}:{}: item '{}': the prompt encodes to no tokens", o.data, it.line, it.id);
  json opts = json::array();
  size_t best_raw = 0, best_norm = 0;
  double top_raw = -INFINITY, top_norm = -INFINITY;
  for (size_t c = 0; c < it.choices.size(); ++c) {
    const auto cont = lm.tokenizer->encode(it.choices[c]);
    double ll = 0;
    try {
      ll = -continuation_nll(*lm.model, prompt, cont);
    } catch (const Error& e) {
      fail("{}:{}: item '{}': choices[{}]: {}", o.data, it.line, it.id, c, e.what());
    }
    const double norm = ll / static_cast<double>(cont.size());
    if (ll > top_raw) top_raw = ll, best_raw = c;
    if (norm > top_norm) top_norm = norm, best_norm = c;
    opts.push_back({{"text", it.choices[c]}, {"tokens", cont.size()}, {"loglik", ll}, {"loglik_per_token", norm}});
    bar.advance();
  }
  picks.correct_norm->push_back(best_norm == it.answer ? 100.0 : 0.0);
  picks.correct_raw->push_back(best_raw == it.answer ? 100.0 : 0.0);
  json out = {{"id", it.id},           {"line", it.line},
              {"answer", it.answer},   {"predicted", best_norm},
              {"predicted_unnormalised", best_raw}, {"options", opts}};
  if (!it.group.empty()) out["group"] = it.group;
  picks.outputs.push_back(std::move(out));
}

}  // namespace

EvalOutput run_choice_eval(const interop::LoadedModel& lm, const ChoiceEvalOptions& o) {
  if (o.chat && !lm.chat)
    usage_fail("--chat: the model has no chat template (no chat_template in tokenizer_config.json, no "
               "<|im_start|>/<|im_end|> tokens)");
  const auto items = load_choice_items(o.data, o.group_field);
  std::vector<std::string> labels;
  for (const auto& it : items) labels.push_back(it.group);
  const Groups groups = make_groups(o.data, o.group_field, o.expect_groups, labels);
  size_t options = 0;
  for (const auto& it : items) options += it.choices.size();
  Picks picks;
  ProgressBar bar("choice", options, "options");
  for (const auto& it : items) score_item(lm, it, o, bar, picks);
  bar.finish();
  std::vector<CorpusMetric> metrics = {mean_metric("accuracy", picks.correct_norm),
                                       mean_metric("accuracy_unnormalised", picks.correct_raw)};
  const auto per_group = finish_metrics(metrics, items.size(), groups, o.bootstrap);
  json j = {{"task", "choice"},
            {"model", o.model_name},
            {"data", o.data},
            {"items", items.size()},
            {"normalisation", "log-likelihood per option token"},
            {"metrics", metrics_json(metrics)}};
  if (!per_group.empty()) j["per_group"] = groups_json(per_group);
  j["outputs"] = std::move(picks.outputs);
  HtmlReport rep("Multiple choice: " + o.model_name);
  rep.paragraph(fmt::format("{} items from {}. accuracy picks the option with the highest log-likelihood per token; "
                            "accuracy_unnormalised the highest total log-likelihood. Values in %.",
                            items.size(), o.data));
  add_metric_sections(rep, metrics, per_group);
  return {std::move(j), std::move(rep), format_metrics(metrics, per_group)};
}

}  // namespace chatforge::eval
