// Preference data -> token shards the preference stages train on (`chatforge data prefs`).
// Input: JSONL records in the layouts TRL and the feedback export use:
//   pairs    {"prompt": P, "chosen": A, "rejected": B}  (what `feedback export --format
//            preference` writes), P a string (one user turn) or a message list, A and B a
//            string (one assistant turn) or a message list (its assistant turns); without
//            "prompt", chosen and rejected are whole conversations (TRL's implicit prompt).
//   unpaired {"prompt": P, "completion": A, "label": true|false}  (KTO; `feedback export
//            --format kto`).
// Kind "dpo" needs pairs; kind "kto" takes both (a pair gives a desirable and an
// undesirable example). Each example is rendered with the model's chat format (the one
// render: ids and the assistant mask), the loss mask kept on the final answer only.
// Output: packed shards (data/shard.h version 2), one training row per example:
//   dpo: [prompt+chosen][prompt+rejected]        (documents 0 and 1 of the row)
//   kto: [prompt+answer][prompt+other answer]     (document 1: the mismatched pair of the
//        KL estimate, the next example's answer, as TRL cycles completions); the label
//        is the mask value on document 0's answer: 1 desirable, 2 undesirable.
// plus meta.json, preference.json (kind, counts, longest row) and the tokenizer. Bad
// records (broken JSON, missing fields, identical chosen and rejected, too long for
// --max-len) are skipped and counted with file:line, or thrown when strict.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_format.h"

namespace chatforge::data {

struct PreferenceBuildOptions {
  std::vector<std::string> inputs;  // JSONL files
  std::string tokenizer;            // tokenizer / model folder (its chat template, else ChatML)
  std::string out;
  std::string kind = "dpo";         // dpo | kto
  int max_len = 1024;               // most tokens of a row (both documents with their end-of-text)
  double val_fraction = 0.1;        // share of records for validation, by a hash of the line
  uint64_t seed = 1;
  bool strict = false;
};

// One example before rendering: the prompt turns and the answer turns (assistant).
struct PreferenceRecord {
  std::vector<tok::ChatMessage> prompt;
  std::vector<tok::ChatMessage> chosen, rejected;  // pairs
  std::vector<tok::ChatMessage> completion;         // unpaired
  bool paired = true;
  bool label = true;  // unpaired: desirable
};

// Parses one JSON record (either layout); throws Error with the reason (no file/line).
PreferenceRecord preference_record_from_json(const nlohmann::json& j);

// prompt + answer rendered, mask 1 only on the answer's assistant tokens (times `value`).
tok::RenderedChat render_answer(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& prompt,
                                const std::vector<tok::ChatMessage>& answer, uint8_t value = 1);

struct PreferenceBuildResult {
  uint64_t read = 0, skipped = 0, too_long = 0;
  uint64_t train_rows = 0, val_rows = 0;
  uint64_t desirable = 0, undesirable = 0;  // kto
  uint64_t longest_row = 0;
  std::vector<std::string> issues;  // "file:line: reason", the first 20
};
PreferenceBuildResult build_preference_dataset(const PreferenceBuildOptions& o);
std::string format_preference_summary(const PreferenceBuildOptions& o, const PreferenceBuildResult& r);

}  // namespace chatforge::data
