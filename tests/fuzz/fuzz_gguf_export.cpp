// Fuzz target: the GGUF writer's inputs, as `convert --to gguf` gets them: a model's
// config.json and a tokenizer.json. A pair that loads is exported (export_gguf) to a
// scratch file. Input: one byte choosing the weight type, then "config.json \0
// tokenizer.json". Configs above 2^20 parameters are skipped (the harness allocates
// the model; the size limits of config.json have their own checks and tests).
#include "fuzz_util.h"
#include "interop/gguf_export.h"
#include "model/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  static const char* const kTypes[] = {"f32", "f16", "q8_0"};
  const char* type = kTypes[fuzz::take_choice(in, 3)];
  const auto parts = fuzz::split_parts(in, 2);
  fuzz::write_scratch("model/config.json", parts[0]);
  const std::string tok_path = fuzz::write_scratch("model/tokenizer.json", parts.size() > 1 ? parts[1] : "");
  fuzz::expect_clean([&] {
    const model::GptConfig cfg = model::load_config(fuzz::scratch_dir() + "/model");
    if (cfg.n_embd > 1024 || cfg.n_layer > 8 || cfg.vocab_size > 65536 || cfg.n_ctx > 4096) return;
    if (cfg.num_parameters() > (size_t{1} << 20)) return;
    const tok::Tokenizer t = tok::Tokenizer::load(tok_path);
    model::Gpt gpt(cfg);
    gpt.init_weights(1);
    interop::export_gguf(fuzz::scratch_dir() + "/model.gguf", gpt, t, interop::parse_gguf_weight_type(type), "fuzz");
  });
  return 0;
}
