// Implementation of generation_options.h.
#include "cli/generation_options.h"

#include <algorithm>
#include <charconv>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "infer/stop_strings.h"

namespace chatforge::cli {

void add_generation_options(CLI::App& cmd, GenerationOptions& o) {
  cmd.add_option("--model", o.model_dir, "checkpoint directory (config.json, model.safetensors)")
      ->type_name(kDir)
      ->required();
  cmd.add_option("--tokenizer", o.tokenizer, "tokenizer directory or tokenizer.json (default: the model's)")
      ->type_name(kPath);
  auto& s = o.sampling;
  cmd.add_option("--temperature", s.temperature, "sampling temperature; 0 = greedy")->capture_default_str();
  cmd.add_option("--top-k", s.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd.add_option("--top-p", s.top_p, "nucleus sampling mass in (0, 1]")->capture_default_str();
  cmd.add_option("--min-p", s.min_p, "drop tokens below min-p x the top probability")->capture_default_str();
  cmd.add_option("--repetition-penalty", s.repetition_penalty, "HF-style penalty on seen tokens (1 = off)")
      ->capture_default_str();
  cmd.add_option("--frequency-penalty", s.frequency_penalty, "OpenAI frequency penalty [-2, 2]")->capture_default_str();
  cmd.add_option("--presence-penalty", s.presence_penalty, "OpenAI presence penalty [-2, 2]")->capture_default_str();
  cmd.add_option("--seed", s.seed, "seed of the sampling (same seed, same output)")->capture_default_str();
  cmd.add_option("--logit-bias", o.logit_bias, "ID=BIAS added to a token's logit (repeatable; default: none)");
  cmd.add_option("--max-tokens", o.max_tokens, "maximum new tokens per answer (0 = up to the context)")
      ->capture_default_str();
  cmd.add_option("--stop", o.stop, "stop when this text is generated (repeatable; default: none)");
  cmd.add_option("--context-policy", o.context_policy, "when the input does not fit the context")
      ->check(CLI::IsMember({"error", "truncate-oldest"}))
      ->capture_default_str();
  add_threads_option(cmd, o.threads);
  add_weights_dtype_option(cmd, o.weights_dtype);
  add_lora_option(cmd, o.lora);
  add_sampling_ranges(cmd);
  set_ranges(cmd, {{"--max-tokens", "[0, 2^20]"}});  // 2^20: the longest context a config allows
}

void add_sampling_ranges(CLI::App& cmd) {
  namespace r = infer::sampling_range;
  for (const auto& [flag, spec] : std::initializer_list<std::pair<const char*, const char*>>{
           {"--temperature", r::kTemperature}, {"--top-k", r::kTopK}, {"--top-p", r::kTopP}, {"--min-p", r::kMinP},
           {"--repetition-penalty", r::kRepetitionPenalty}, {"--frequency-penalty", r::kFrequencyPenalty},
           {"--presence-penalty", r::kPresencePenalty}, {"--seed", r::kSeed}, {"--sampling-seed", r::kSeed}})
    if (cmd.get_option_no_throw(flag) != nullptr) set_ranges(cmd, {{flag, spec}});
}

void add_lora_option(CLI::App& cmd, std::vector<std::string>& value) {
  cmd.add_option("--lora", value,
                 "LoRA adapter directory (PEFT: adapter_config.json, adapter_model.safetensors), optionally :SCALE "
                 "(default 1); repeatable, merged into the weights at load (default: none)")
      ->type_name("DIR[:SCALE]");
}

void add_weights_dtype_option(CLI::App& cmd, std::string& value) {
  cmd.add_option("--weights-dtype", value,
                 "weight storage while generating: f32 | f16 | bf16 | int8 (converted at load; fp32 math; "
                 "f16/bf16 read half the bytes, int8 a quarter)")
      ->capture_default_str();
}

ops::WeightFormat GenerationOptions::weight_format() const {
  ops::WeightFormat f;
  if (!ops::parse_weight_format(weights_dtype.c_str(), &f))
    usage_fail("invalid --weights-dtype '{}': use f32, f16, bf16 or int8", weights_dtype);
  return f;
}

infer::ContextPolicy GenerationOptions::policy() const {
  return context_policy == "truncate-oldest" ? infer::ContextPolicy::kTruncateOldest : infer::ContextPolicy::kError;
}

void GenerationOptions::validate(int vocab_size) {
  if (context_policy != "error" && context_policy != "truncate-oldest")
    usage_fail("invalid --context-policy '{}': use error or truncate-oldest", context_policy);
  if (max_tokens < 0) usage_fail("invalid --max-tokens {}: must be >= 0", max_tokens);
  if (threads < 0 || threads > kMaxThreads) usage_fail("invalid --threads {}: use 0 to {}", threads, kMaxThreads);
  weight_format();
  sampling.logit_bias.clear();
  for (const std::string& lb : logit_bias) {
    const size_t eq = lb.find('=');
    int32_t id = 0;
    float bias = 0;
    const char* end = lb.data() + lb.size();
    if (eq == std::string::npos || std::from_chars(lb.data(), lb.data() + eq, id).ptr != lb.data() + eq ||
        std::from_chars(lb.data() + eq + 1, end, bias).ptr != end)
      usage_fail("invalid --logit-bias '{}': expected ID=BIAS, e.g. 50256=-100", lb);
    sampling.logit_bias[id] = bias;
  }
  sampling.validate(vocab_size);
}

void set_generation_value(GenerationOptions& o, const std::string& name_in, const std::string& value, int vocab_size) {
  std::string name = name_in;
  std::replace(name.begin(), name.end(), '_', '-');
  auto num = [&](auto& field) {
    using T = std::remove_reference_t<decltype(field)>;
    T v{};
    const char* end = value.data() + value.size();
    auto [ptr, ec] = std::from_chars(value.data(), end, v);
    if (value.empty() || ec != std::errc() || ptr != end) usage_fail("invalid value '{}' for {}", value, name);
    field = v;
  };
  GenerationOptions next = o;
  auto& s = next.sampling;
  if (name == "temperature") num(s.temperature);
  else if (name == "top-k") num(s.top_k);
  else if (name == "top-p") num(s.top_p);
  else if (name == "min-p") num(s.min_p);
  else if (name == "repetition-penalty") num(s.repetition_penalty);
  else if (name == "frequency-penalty") num(s.frequency_penalty);
  else if (name == "presence-penalty") num(s.presence_penalty);
  else if (name == "seed") num(s.seed);
  else if (name == "max-tokens") num(next.max_tokens);
  else if (name == "context-policy") next.context_policy = value;
  else
    usage_fail("unknown setting '{}' (temperature, top-k, top-p, min-p, repetition-penalty, frequency-penalty, "
               "presence-penalty, seed, max-tokens, context-policy)", name_in);
  next.validate(vocab_size);
  o = next;
}

std::string describe_generation_values(const GenerationOptions& o) {
  const auto& s = o.sampling;
  return fmt::format(
      "temperature={} top-k={} top-p={} min-p={} repetition-penalty={} frequency-penalty={} presence-penalty={} "
      "seed={} max-tokens={} context-policy={}",
      s.temperature, s.top_k, s.top_p, s.min_p, s.repetition_penalty, s.frequency_penalty, s.presence_penalty, s.seed,
      o.max_tokens, o.context_policy);
}

LoadedModel load_model_and_tokenizer(const GenerationOptions& o) {
  interop::LoadOptions lo;
  lo.model_dir = o.model_dir;
  lo.tokenizer = o.tokenizer;
  lo.weights = o.weight_format();
  lo.threads = o.threads;
  lo.lora = o.lora;
  return interop::load_model_and_tokenizer(lo);
}

TextStreamer::TextStreamer(const tok::Tokenizer& t, const std::vector<std::string>& stops, std::FILE* out)
    : decoder_(t), matcher_(stops), out_(out) {}

void TextStreamer::emit(const std::string& s) {
  if (s.empty()) return;
  text_ += s;
  if (sink_) {
    sink_(s);
  } else if (out_ != nullptr) {
    std::fwrite(s.data(), 1, s.size(), out_);
    std::fflush(out_);
  }
}

bool TextStreamer::on_token(int32_t id) {
  emit(matcher_.push(decoder_.push(id)));
  return !matcher_.matched();
}

void TextStreamer::finish() {
  if (!matcher_.matched()) emit(matcher_.push(decoder_.flush()));
  emit(matcher_.flush());
}

}  // namespace chatforge::cli
