// Fuzz target: the whole `data clean` pipeline (run_clean) on one input file: reading,
// UTF-8 repair and normalisation, quality filters, PII scrubbing, exact and near dedup,
// rebalancing, the train/val JSONL and the report. Input: one byte choosing the file
// name and options, then the file.
#include "data/clean.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 256);
  static const char* const kNames[] = {"docs.jsonl", "docs.txt"};
  fuzz::remove_scratch("clean");
  const std::string path = fuzz::write_scratch(std::string("clean/in/") + kNames[choice & 1], in);
  data::CleanOptions o;
  o.inputs = {path};
  o.out_dir = fuzz::scratch_dir() + "/clean/out";
  o.input.txt_split = (choice & 2) != 0 ? "line" : "paragraph";
  o.normal_form = (choice & 4) != 0 ? data::NormalForm::kNfkc : data::NormalForm::kNfc;
  o.drop_invalid_utf8 = (choice & 8) != 0;
  o.near_dedup = (choice & 16) != 0;
  o.rebalance.by = (choice & 32) != 0 ? "label" : "source";
  if ((choice & 64) != 0) {
    o.rebalance.max_share = 0.5;
    o.rebalance.upsample = true;
  }
  o.val_fraction = (choice & 128) != 0 ? 0.5 : 0.0;
  o.threads = 1;
  o.progress = false;
  fuzz::expect_clean([&] {
    const data::CleanReport r = data::run_clean(o);
    if (r.docs_kept > r.docs_in) fuzz::finding("more documents kept than read");
    data::write_clean_report(o.out_dir, r);
  });
  return 0;
}
