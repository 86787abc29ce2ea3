// The model-based tasks of `chatforge eval` (perplexity, generate, choice): flags only;
// the evaluations are eval::run_perplexity_eval, run_generation_eval and run_choice_eval.
// Each setup function adds one subcommand to the `eval` command (see cmd_eval.cpp).
#pragma once
#include <CLI/CLI.hpp>

#include "cli/generation_options.h"
#include "eval/answer_generation.h"

namespace chatforge::cli {

void setup_eval_perplexity(CLI::App& eval);
void setup_eval_generate(CLI::App& eval);
void setup_eval_choice(CLI::App& eval);

// The generation flags' values as eval::AnswerOptions (also `eval human-kit --model`).
eval::AnswerOptions answer_options(const GenerationOptions& g, int batch);

}  // namespace chatforge::cli
