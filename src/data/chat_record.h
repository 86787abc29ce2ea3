// Supervised chat data readers: OpenAI messages JSONL, ShareGPT, Alpaca, prompt/completion
// JSONL (or a .json array of such records), and plain question/answer CSV/TSV, all turned
// into one Conversation type. A bad record (broken JSON, unknown role, empty content, no
// assistant turn) is skipped and reported with file:line, or thrown when strict.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/input.h"
#include "tokenizer/chat_format.h"

namespace chatforge::data {

enum class ChatInputFormat { kAuto, kMessages, kShareGpt, kAlpaca, kPromptCompletion, kCsv, kTsv };

// "auto", "messages", "sharegpt", "alpaca", "prompt-completion", "csv", "tsv"; UsageError otherwise.
ChatInputFormat parse_chat_format(const std::string& name);
const char* chat_format_name(ChatInputFormat f);

struct Conversation {
  std::vector<tok::ChatMessage> messages;
  std::string file;    // where it came from
  uint64_t line = 0;   // 1-based line (JSONL/CSV row start) or record number in a .json array
  std::string task;    // mixture task ("" without a mixture)
};

struct ChatIssue {
  std::string file;
  uint64_t line = 0;
  std::string reason;
};

// Converts one parsed JSON record to messages. `format` kAuto picks by the keys present
// (messages | conversations | instruction | prompt+completion). Throws chatforge::Error with
// the reason (no file/line; the caller adds them) for anything malformed, including an
// unknown role, empty content or no assistant turn.
std::vector<tok::ChatMessage> conversation_from_json(const nlohmann::json& record, ChatInputFormat format);

// Checks the rules every format shares: known roles, system only first, non-empty content,
// at least one assistant turn. Throws chatforge::Error naming the message.
void validate_conversation(const std::vector<tok::ChatMessage>& messages);

// Splits CSV text (RFC 4180: quoted fields, "" escapes, newlines inside quotes) or TSV
// (tab-separated, no quoting) into rows; row_lines gets each row's 1-based first line.
std::vector<std::vector<std::string>> parse_delimited(const std::string& text, char sep,
                                                      std::vector<uint64_t>* row_lines);

// Reads every record of one file (plain, .gz or .zst). `on_conversation` gets each valid
// conversation; `on_issue` each skipped one (strict: the first one throws "file:line: reason").
// A JSONL line longer than max_record_bytes (0: no limit) is an error naming file:line.
void read_chat_file(const std::string& path, ChatInputFormat format, bool strict,
                    const std::function<void(Conversation&&)>& on_conversation,
                    const std::function<void(ChatIssue&&)>& on_issue,
                    uint64_t max_record_bytes = kDefaultMaxRecordBytes);

// Files and directories (recursive, sorted; each file once, whatever links lead to it) ->
// chat input files (.jsonl .json .csv .tsv, optionally .gz/.zst). A missing argument is an
// error naming it.
std::vector<std::string> expand_chat_inputs(const std::vector<std::string>& args);

}  // namespace chatforge::data
