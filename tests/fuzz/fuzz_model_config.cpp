// Fuzz target: a model folder's config.json read by model::load_config (GptConfig::
// from_hf_json with validation). A config that loads must survive to_hf_json() and load
// again as the same configuration (every field: the written JSON is compared).
#include "fuzz_util.h"
#include "model/checkpoint.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  fuzz::write_scratch("model/config.json", fuzz::as_view(data, size));
  fuzz::expect_clean([&] {
    const model::GptConfig c = model::load_config(fuzz::scratch_dir() + "/model");
    (void)c.num_parameters();
    (void)c.padded_vocab_size();
    const model::GptConfig again = model::GptConfig::from_hf_json(c.to_hf_json(), "roundtrip");
    if (again.to_hf_json() != c.to_hf_json() || again.num_parameters() != c.num_parameters())
      fuzz::finding("config.json written by to_hf_json() reads back differently");
  });
  return 0;
}
