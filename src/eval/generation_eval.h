// `eval generate` as a library call: a loaded model answers JSONL items (eval_items.h) and
// the answers are scored against the references with BLEU, ROUGE, exact match and F1 (and
// key facts where items have them), overall and per group, with bootstrap intervals.
// Optional counterfactual probes swap term pairs (he/she) in every prompt holding one,
// answer again, and score the original answer under both prompts.
#pragma once
#include <string>
#include <vector>

#include "eval/answer_generation.h"
#include "eval/bootstrap.h"
#include "eval/eval_output.h"
#include "interop/loaded_model.h"

namespace chatforge::eval {

struct GenerationEvalOptions {
  std::string data;             // JSONL items: prompt or messages, references, optional group and facts
  std::string model_name;       // shown in results and the report (the model directory)
  std::string reference_field;  // "" = the default fields (eval_items.h)
  std::string group_field;      // "" = no groups
  std::vector<std::string> expect_groups;  // groups that must be present (needs group_field)
  std::string counterfactual;   // TSV of term pairs; "" = no probes
  std::string bleu_tokenize = "13a";
  bool chat = false;            // plain prompts as a user turn of the chat template
  AnswerOptions answers;        // sampling, length, stop strings, batch (answers.label is ignored)
  BootstrapOptions bootstrap;
};

// The whole evaluation: results.json ("metrics", "per_group", "outputs", "bleu_line",
// "counterfactual", the metric details), report.html and the printed summary (the BLEU
// line, one line per metric and group gap, one per counterfactual pair). Chat items
// (messages) use the chat template when the tokenizer has one; with opt.chat and no chat
// tokens it is a UsageError.
EvalOutput run_generation_eval(const interop::LoadedModel& lm, const GenerationEvalOptions& o);

}  // namespace chatforge::eval
