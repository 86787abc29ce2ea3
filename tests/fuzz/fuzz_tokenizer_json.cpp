// Fuzz target: a Hugging Face tokenizer.json loaded by Tokenizer::load (vocab, merges,
// pre_tokenizer with a Split regex, normalizer, added_tokens), then encoded, decoded and
// saved as the commands do (tokenizer_checks.h).
#include "fuzz_util.h"
#include "tokenizer_checks.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  const std::string path = fuzz::write_scratch("tokenizer.json", fuzz::as_view(data, size));
  fuzz::expect_clean([&] { fuzz::check_tokenizer(tok::Tokenizer::load(path)); });
  return 0;
}
