// The model-based tasks of `chatforge eval` (perplexity, generate, choice) and the
// answer generation that `eval human-kit --model A --model B` shares with them. Each
// setup function adds one subcommand to the `eval` command (see cmd_eval.cpp).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/generation_options.h"

namespace chatforge::cli {

void setup_eval_perplexity(CLI::App& eval);
void setup_eval_generate(CLI::App& eval);
void setup_eval_choice(CLI::App& eval);

// A prompt to answer: plain text, or chat turns (role, content) rendered with the chat
// template when `chat` is set.
struct PromptSpec {
  std::string text;
  std::vector<std::pair<std::string, std::string>> messages;
  bool chat = false;
};

// Token ids of a prompt: the chat template with a generation prompt, or the encoded text.
std::vector<int32_t> encode_prompt(const LoadedModel& lm, const PromptSpec& p);
// Whether the tokenizer has <|im_start|> and <|im_end|>.
bool has_chat_tokens(const LoadedModel& lm);

struct GeneratedAnswer {
  std::string text;             // decoded, cut at the first stop string
  std::vector<int32_t> tokens;  // generated ids, plus the stop id that ended the answer (if any)
};

// Answers to every prompt with infer::Engine::generate_batch (`batch` sequences per
// forward pass), with the sampling, length, stop strings and context policy of `g`.
// Request i samples with seed g.sampling.seed + i, so reruns give the same answers.
std::vector<GeneratedAnswer> generate_answers(const LoadedModel& lm, const GenerationOptions& g,
                                          const std::vector<std::vector<int32_t>>& prompts, int batch,
                                          const std::string& label);

}  // namespace chatforge::cli
