// Multiple-choice items from JSONL: {"prompt": ..., "choices": [...], "answer": index}
// with an optional "id" and group field. Bad items fail with "FILE:LINE: item 'ID': ...".
#pragma once
#include <string>
#include <vector>

namespace chatforge::eval {

struct ChoiceItem {
  size_t line = 0;                   // 1-based line in the file
  std::string id;                    // "id" field, else the line number
  std::string prompt;                // non-empty
  std::vector<std::string> choices;  // at least two, each non-empty
  size_t answer = 0;                 // index into choices
  std::string group;                 // value of the group field ("" without one)
};

// `group_field` empty = no groups; otherwise every item needs a non-empty value.
std::vector<ChoiceItem> load_choice_items(const std::string& path, const std::string& group_field);

}  // namespace chatforge::eval
