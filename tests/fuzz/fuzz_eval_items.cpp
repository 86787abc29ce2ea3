// Fuzz target: the evaluation inputs: JSONL items (load_eval_items: prompt or messages,
// references, facts, group) and the CSV tables of the eval tools (parse_csv). Input: one
// byte choosing the reader and the item fields, then the file.
#include "eval/eval_items.h"
#include "eval/text_files.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 16);
  const std::string path = fuzz::write_scratch("items.jsonl", in);
  fuzz::expect_clean([&] {
    if (choice == 15) {
      const eval::CsvTable t = eval::parse_csv(std::string(in), path);
      if (t.rows.size() != t.row_line.size()) fuzz::finding("CSV rows without line numbers");
      (void)t.column("answer", path);
      return;
    }
    eval::EvalItemFields f;
    f.reference = (choice & 1) != 0 ? "answer" : "";
    f.group = (choice & 2) != 0 ? "group" : "";
    f.need_prompt = (choice & 4) != 0;
    const auto items = eval::load_eval_items(path, f);
    for (const auto& it : items)
      if (it.references.empty() || it.id.empty()) fuzz::finding("an item without references or id");
  });
  return 0;
}
