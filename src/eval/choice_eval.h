// `eval choice` as a library call: each multiple-choice item's options ranked by the
// model's log-likelihood of the option after the prompt, per token (accuracy) and in
// total (accuracy_unnormalised), overall and per group.
#pragma once
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/eval_output.h"
#include "interop/loaded_model.h"

namespace chatforge::eval {

struct ChoiceEvalOptions {
  std::string data;         // JSONL choice items (choice_items.h)
  std::string model_name;   // shown in results and the report (the model directory)
  std::string group_field;  // "" = no groups
  std::vector<std::string> expect_groups;
  bool chat = false;        // prompts as a user turn of the chat template (UsageError without chat tokens)
  BootstrapOptions bootstrap;
};

// results.json ("metrics", "per_group", "outputs": every option's loglik and the picks),
// report.html and the printed metric lines.
EvalOutput run_choice_eval(const interop::LoadedModel& lm, const ChoiceEvalOptions& o);

}  // namespace chatforge::eval
