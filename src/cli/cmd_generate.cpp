// `chatforge generate`: continue a text prompt with a checkpoint, streaming the answer to
// stdout as it is generated (UTF-8 safe); token counts and speeds go to stderr, or
// everything (text, ids, logprobs, usage, timings) as one JSON object with --json.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/generation_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"

namespace chatforge::cli {
namespace {

struct GenerateArgs {
  GenerationOptions gen;
  std::string prompt, prompt_file;
  bool allow_special = false, json = false, quiet = false, prompt_logprobs = false;
  int logprobs = -1;  // -1 off; 0 chosen token only; N also the top N
};

void generate_command(GenerateArgs& a) {
  if (a.prompt.empty() == a.prompt_file.empty()) usage_fail("give exactly one of --prompt TEXT or --prompt-file FILE");
  LoadedModel lm = load_model_and_tokenizer(a.gen);
  a.gen.sampling.logprobs = a.logprobs >= 0;
  a.gen.sampling.top_logprobs = a.logprobs > 0 ? a.logprobs : 0;
  a.gen.validate(lm.tokenizer->vocab_size());
  const std::string text = a.prompt_file.empty() ? a.prompt : read_file(a.prompt_file);
  infer::GenerationRequest req;
  req.prompt = lm.tokenizer->encode(text, a.allow_special);
  CF_CHECK(!req.prompt.empty(), "the prompt is empty");
  req.sampling = a.gen.sampling;
  req.max_new_tokens = a.gen.max_tokens;
  req.stop_ids = lm.stop_ids;
  req.context_policy = a.gen.policy();
  req.sample_vocab_size = lm.tokenizer->vocab_size();
  req.prompt_logprobs = a.prompt_logprobs;
  TextStreamer streamer(*lm.tokenizer, a.gen.stop, a.json ? nullptr : stdout);
  req.on_token = [&](int32_t id, const infer::SampledLogprobs*) { return streamer.on_token(id); };
  const std::vector<int32_t> req_prompt = req.prompt;
  infer::Engine engine(*lm.model, 1, 0, a.gen.weight_format());
  const infer::GenerationResult r = engine.generate(std::move(req));
  streamer.finish();
  const double prefill_tok_s = r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0;
  const double decode_tok_s =
      r.decode_seconds > 0 && r.completion_tokens > 1 ? (r.completion_tokens - 1) / r.decode_seconds : 0;
  if (a.json) {
    nlohmann::json j;
    j["text"] = streamer.text();
    j["tokens"] = r.tokens;
    j["finish_reason"] = infer::finish_reason_name(r.finish);
    j["usage"] = {{"prompt_tokens", r.prompt_tokens},
                  {"completion_tokens", r.completion_tokens},
                  {"truncated_prompt_tokens", r.truncated_tokens}};
    j["timings"] = {{"prefill_seconds", r.prefill_seconds},
                    {"decode_seconds", r.decode_seconds},
                    {"prefill_tok_s", prefill_tok_s},
                    {"decode_tok_s", decode_tok_s}};
    if (a.logprobs >= 0) {
      nlohmann::json lps = nlohmann::json::array();
      for (const auto& lp : r.logprobs) {
        nlohmann::json top = nlohmann::json::array();
        for (const auto& t : lp.top)
          top.push_back({{"id", t.id}, {"token", lm.tokenizer->decode({t.id})}, {"logprob", t.logprob}});
        lps.push_back({{"id", lp.chosen.id},
                       {"token", lm.tokenizer->decode({lp.chosen.id})},
                       {"logprob", lp.chosen.logprob},
                       {"top_logprobs", top}});
      }
      j["logprobs"] = lps;
    }
    if (a.prompt_logprobs) {
      const int32_t* ids = req_prompt.data() + r.truncated_tokens;  // the prompt the model saw
      nlohmann::json p = nlohmann::json::array();
      p.push_back({{"id", ids[0]}, {"token", lm.tokenizer->decode({ids[0]})}, {"logprob", nullptr}});
      for (size_t i = 0; i < r.prompt_logprobs.size(); ++i)
        p.push_back({{"id", ids[i + 1]}, {"token", lm.tokenizer->decode({ids[i + 1]})}, {"logprob", r.prompt_logprobs[i]}});
      j["prompt_logprobs"] = p;
    }
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("\n");
  if (!a.quiet)
    std::fprintf(stderr, "[%d prompt + %d completion tokens, finish %s; prefill %.1f tok/s, decode %.1f tok/s]\n",
                 r.prompt_tokens, r.completion_tokens, infer::finish_reason_name(r.finish), prefill_tok_s,
                 decode_tok_s);
}

void setup_generate(CLI::App& cmd) {
  auto a = std::make_shared<GenerateArgs>();
  add_generation_options(cmd, a->gen);
  cmd.add_option("--prompt", a->prompt, "prompt text (this or --prompt-file; default: none)");
  cmd.add_option("--prompt-file", a->prompt_file, "read the prompt from this file (this or --prompt; default: none)")
      ->type_name(kFile);
  cmd.add_flag("--allow-special", a->allow_special, "spellings of special tokens in the prompt become those tokens");
  cmd.add_option("--logprobs", a->logprobs, "with --json: log-probabilities of each token and of the top N (0..20; default: none)")
      ->check(in_range(infer::sampling_range::kTopLogprobs));
  cmd.add_flag("--prompt-logprobs", a->prompt_logprobs,
               "with --json: log-probability of every prompt token given the ones before it");
  cmd.add_flag("--json", a->json, "print one JSON object (text, tokens, usage, timings, logprobs) instead of text");
  cmd.add_flag("--quiet", a->quiet, "no statistics line on stderr");
  add_config_option(cmd);
  cmd.callback([a] { generate_command(*a); });
}

}  // namespace
CF_REGISTER_COMMAND({"generate", "continue a prompt with a model (KV-cached, streaming)", setup_generate, 60});
}  // namespace chatforge::cli
