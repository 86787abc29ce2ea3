// Answers of a loaded model to a list of prompts, for the evaluations that generate
// (`eval generate`, `eval human-kit --model`): prompts rendered through the chat template
// or encoded as text, then answered in batches by infer::Engine::generate_batch with stop
// strings cut from the decoded text. Request i samples with seed sampling.seed + i, so a
// rerun gives the same answers whatever the batch size.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "infer/engine.h"
#include "interop/loaded_model.h"
#include "infer/sampler.h"

namespace chatforge::eval {

// A prompt to answer: plain text, or chat turns (role, content) rendered with the chat
// template when `chat` is set (a plain text then becomes one user turn).
struct PromptSpec {
  std::string text;
  std::vector<std::pair<std::string, std::string>> messages;
  bool chat = false;
};

// Token ids of a prompt: the chat format with a generation prompt, or the encoded text. A
// chat prompt without a chat format (null) is an error.
std::vector<int32_t> encode_prompt(const tok::Tokenizer& t, const tok::ChatFormat* chat, const PromptSpec& p);

struct AnswerOptions {
  infer::SamplingParams sampling;  // request i uses seed sampling.seed + i
  int max_tokens = 256;            // per answer; 0 = up to the context
  std::vector<std::string> stop;   // stop strings, cut from the text (the engine stops on ids)
  infer::ContextPolicy context_policy = infer::ContextPolicy::kError;
  int batch = 8;                   // sequences per forward pass
  std::string label = "generate";  // progress bar label
};

struct GeneratedAnswer {
  std::string text;             // decoded, cut at the first stop string
  std::vector<int32_t> tokens;  // generated ids, plus the stop id that ended the answer (if any)
};

// One answer per prompt (every prompt non-empty, else an Error naming its 1-based index),
// generated with lm.stop_ids, sampling only ids below the tokenizer's vocabulary, and
// the Engine storing weights as lm.weights.
std::vector<GeneratedAnswer> generate_answers(const interop::LoadedModel& lm, const AnswerOptions& o,
                                              const std::vector<std::vector<int32_t>>& prompts);

}  // namespace chatforge::eval
