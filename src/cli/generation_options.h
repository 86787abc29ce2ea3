// Flags shared by `chatforge generate` and `chatforge chat`: the model and tokenizer to
// load, sampling values, stop strings, length and the context policy; plus the pieces
// both commands use to stream an answer (UTF-8 safe, stop strings) through the engine.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "interop/loaded_model.h"
#include "infer/stop_strings.h"
#include "model/gpt.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::cli {

struct GenerationOptions {
  std::string model_dir;
  std::string tokenizer;  // default: the model directory's tokenizer.json
  infer::SamplingParams sampling;
  int max_tokens = 256;
  std::vector<std::string> stop;
  std::vector<std::string> logit_bias;  // "ID=BIAS"
  std::string context_policy = "error";
  int threads = 0;
  std::string weights_dtype = "f32";  // storage of the weight matrices while generating
  std::vector<std::string> lora;      // --lora DIR[:SCALE] (repeatable): adapters merged at load
  // Checks every value (UsageError naming the flag) and fills sampling.logit_bias.
  void validate(int vocab_size);
  infer::ContextPolicy policy() const;
  ops::WeightFormat weight_format() const;  // UsageError for an unknown --weights-dtype
};

// --lora DIR[:SCALE] on a command (generate, chat, eval): PEFT adapters merged at load.
void add_lora_option(CLI::App& cmd, std::vector<std::string>& value);

// --weights-dtype on a command (generate, chat, serve, eval).
void add_weights_dtype_option(CLI::App& cmd, std::string& value);

void add_generation_options(CLI::App& cmd, GenerationOptions& o);
// The sampling ranges (infer::sampling_range) on whichever of the sampling flags cmd has
// (--temperature, --top-p, ..., --seed or --sampling-seed).
void add_sampling_ranges(CLI::App& cmd);

// Sets one sampling/length value by name (chat's `/set NAME VALUE`); names as the flags,
// with '-' or '_'. Throws UsageError for an unknown name or a bad value.
void set_generation_value(GenerationOptions& o, const std::string& name, const std::string& value, int vocab_size);
std::string describe_generation_values(const GenerationOptions& o);

using interop::LoadedModel;
// interop::load_model_and_tokenizer with the flags' values (--model, --tokenizer,
// --weights-dtype, --threads); an unknown --weights-dtype is a UsageError.
LoadedModel load_model_and_tokenizer(const GenerationOptions& o);

// Streams one generation to a FILE*: ids -> UTF-8-safe text -> stop strings -> out.
// text() is the full shown answer.
class TextStreamer {
 public:
  TextStreamer(const tok::Tokenizer& t, const std::vector<std::string>& stops, std::FILE* out);
  bool on_token(int32_t id);  // false when a stop string matched
  void finish();
  // Shown text goes to `sink` instead of `out` (chat splits off a reasoning block).
  void set_sink(std::function<void(const std::string&)> sink) { sink_ = std::move(sink); }
  const std::string& text() const { return text_; }

 private:
  void emit(const std::string& s);
  tok::StreamDecoder decoder_;
  infer::StopStringMatcher matcher_;
  std::FILE* out_;
  std::function<void(const std::string&)> sink_;
  std::string text_;
};

}  // namespace chatforge::cli
