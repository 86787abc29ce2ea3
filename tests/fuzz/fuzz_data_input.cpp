// Fuzz target: the document reader of `data clean` / `data tokenize` (DocumentStream):
// JSONL lines with text/source/label fields, or text files split by file, paragraph or
// line. Input: one byte choosing the file name and split, then the file.
#include "data/input.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  static const char* const kNames[] = {"docs.jsonl", "docs.json", "docs.txt", "docs.md"};
  static const char* const kSplits[] = {"file", "paragraph", "line"};
  const unsigned choice = fuzz::take_choice(in, 4 * 3 * 2);
  fuzz::remove_scratch("input");
  const std::string path = fuzz::write_scratch(std::string("input/") + kNames[choice % 4], in);
  data::InputOptions opts;
  opts.txt_split = kSplits[choice / 4 % 3];
  opts.strict = choice / 12 != 0;
  fuzz::expect_clean([&] {
    data::DocumentStream s(data::expand_inputs({fuzz::scratch_dir() + "/input"}), opts);
    data::RawDocument doc;
    uint64_t docs = 0;
    while (s.next(doc)) {
      ++docs;
      if (doc.text.size() > in.size()) fuzz::finding("a document larger than its file");
    }
    if (s.raw_bytes() != in.size()) fuzz::finding("the reader did not read the whole file");
    if (s.n_issues() + docs > in.size() + 1) fuzz::finding("more documents and issues than bytes");
  });
  return 0;
}
