// The two large tables of a byte-level BPE file, taken out of the JSON while it is parsed:
// model.vocab's entries and model.merges' items of a Hugging Face tokenizer.json, or the
// entries of a GPT-2 vocab.json (the whole file is the vocab). Building them into the DOM
// first (a std::map of 150k keys, an array of 150k strings, then freeing both) was more than
// half of loading a Llama 3 or Qwen3 tokenizer. Everything else of the file stays in the DOM;
// the tables' own objects and arrays stay there too, empty, so type checks still read them.
// Internal to src/tokenizer (tokenizer_io.cpp).
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chatforge::tok {

struct BpeTables {
  // Entries in file order, values as written (an object or array value: json's `discarded`
  // kind is never stored; such entries hold an empty object, which is no integer id).
  std::vector<std::pair<std::string, nlohmann::json>> vocab;
  std::vector<nlohmann::json> merges;  // items in file order: "a b", ["a", "b"] or anything else
  int vocab_tables = 0, merges_tables = 0, models = 0;  // how often a tokenizer.json gives each
};

enum class BpeLayout {
  kTokenizerJson,  // {"model": {"vocab": {...}, "merges": [...]}, ...}
  kVocabJson,      // {"spelling": id, ...}
};

// Parses `text` as parse_json does (depth check, errors naming `where`), moving the tables'
// entries into `tables`.
nlohmann::json parse_taking_bpe_tables(std::string_view text, const std::string& where, BpeLayout layout,
                                       BpeTables& tables);

}  // namespace chatforge::tok
