// Fuzz target: GPT-2's vocab.json + merges.txt pair, loaded from a folder by
// Tokenizer::load. Input: "vocab.json bytes \0 merges.txt bytes" (no NUL: no merges).
#include "fuzz_util.h"
#include "tokenizer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  const auto parts = fuzz::split_parts(fuzz::as_view(data, size), 2);
  fuzz::write_scratch("gpt2/vocab.json", parts[0]);
  fuzz::write_scratch("gpt2/merges.txt", parts.size() > 1 ? parts[1] : std::string_view());
  fuzz::expect_clean([&] { fuzz::check_tokenizer(tok::Tokenizer::load(fuzz::scratch_dir() + "/gpt2")); });
  return 0;
}
