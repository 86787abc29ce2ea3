// Evaluation items from JSONL: a prompt (or messages), one or more references and an
// optional group label per line. Shared by `chatforge metrics --data` and, later,
// `chatforge eval generate`. Bad items fail with the file, line and item id.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace chatforge::eval {

struct EvalItem {
  size_t line = 0;      // 1-based line in the file
  std::string id;       // "id" field, else the line number
  std::string prompt;   // "prompt", or the turns of "messages" before a final assistant turn
  std::vector<std::string> references;  // non-empty strings
  std::string group;    // value of the group field ("" when no group field was asked for)
  // (role, content) of the "messages" turns before a final assistant turn; empty for a
  // "prompt" item. Lets model evals render chat prompts with the chat template.
  std::vector<std::pair<std::string, std::string>> messages;
  // Key facts a right answer states ("facts": string or array); empty when absent.
  std::vector<std::string> facts;
};

struct EvalItemFields {
  // Reference field; empty = the first present of "references", "reference", "answers",
  // "answer", "target", "output", or the final assistant turn of "messages".
  std::string reference;
  std::string group;  // empty = no groups; otherwise every item needs a non-empty value
  bool need_prompt = false;
};

// A reference field may be a string or an array of strings; empty strings are dropped and
// an item left without references is an error ("FILE:LINE: item 'ID': references missing").
// Group values may be strings, numbers or booleans.
std::vector<EvalItem> load_eval_items(const std::string& path, const EvalItemFields& fields);

}  // namespace chatforge::eval
