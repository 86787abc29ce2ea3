// Implementation of chat_record.h.
#include "data/chat_record.h"

#include <algorithm>
#include <filesystem>

#include "core/dir_walk.h"
#include "core/error.h"
#include "core/json_util.h"
#include "data/input.h"

namespace chatforge::data {

namespace fs = std::filesystem;
using nlohmann::json;

ChatInputFormat parse_chat_format(const std::string& n) {
  if (n == "auto") return ChatInputFormat::kAuto;
  if (n == "messages" || n == "openai") return ChatInputFormat::kMessages;
  if (n == "sharegpt") return ChatInputFormat::kShareGpt;
  if (n == "alpaca") return ChatInputFormat::kAlpaca;
  if (n == "prompt-completion") return ChatInputFormat::kPromptCompletion;
  if (n == "csv") return ChatInputFormat::kCsv;
  if (n == "tsv") return ChatInputFormat::kTsv;
  usage_fail("--format must be auto, messages, sharegpt, alpaca, prompt-completion, csv or tsv; got '{}'", n);
}

const char* chat_format_name(ChatInputFormat f) {
  switch (f) {
    case ChatInputFormat::kAuto: return "auto";
    case ChatInputFormat::kMessages: return "messages";
    case ChatInputFormat::kShareGpt: return "sharegpt";
    case ChatInputFormat::kAlpaca: return "alpaca";
    case ChatInputFormat::kPromptCompletion: return "prompt-completion";
    case ChatInputFormat::kCsv: return "csv";
    case ChatInputFormat::kTsv: return "tsv";
  }
  return "?";
}

namespace {

std::string string_field(const json& obj, const char* key, bool required) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    CF_CHECK(!required, "missing field '{}'", key);
    return "";
  }
  CF_CHECK(it->is_string(), "field '{}' is not a string", key);
  return it->get<std::string>();
}

// ShareGPT speaker names -> our roles; anything else is kept as is (and then rejected).
std::string sharegpt_role(const std::string& from) {
  if (from == "human" || from == "user") return "user";
  if (from == "gpt" || from == "assistant" || from == "chatgpt" || from == "bing" || from == "bard" || from == "model")
    return "assistant";
  return from;
}

std::vector<tok::ChatMessage> message_list(const json& list, const char* list_key, const char* role_key,
                                           const char* content_key, bool sharegpt) {
  CF_CHECK(list.is_array(), "field '{}' is not an array", list_key);
  std::vector<tok::ChatMessage> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    CF_CHECK(m.is_object(), "{}[{}] is not an object", list_key, i);
    const auto r = m.find(role_key);
    CF_CHECK(r != m.end() && r->is_string(), "{}[{}] has no string '{}'", list_key, i, role_key);
    const auto c = m.find(content_key);
    CF_CHECK(c != m.end() && (c->is_string() || c->is_null()), "{}[{}] has no string '{}'", list_key, i, content_key);
    tok::ChatMessage msg;
    msg.role = sharegpt ? sharegpt_role(r->get<std::string>()) : r->get<std::string>();
    msg.content = c->is_null() ? "" : c->get<std::string>();
    out.push_back(std::move(msg));
  }
  return out;
}

ChatInputFormat detect(const json& rec) {
  if (rec.contains("messages")) return ChatInputFormat::kMessages;
  if (rec.contains("conversations")) return ChatInputFormat::kShareGpt;
  if (rec.contains("instruction")) return ChatInputFormat::kAlpaca;
  if (rec.contains("prompt") && rec.contains("completion")) return ChatInputFormat::kPromptCompletion;
  fail("unrecognised record: expected 'messages', 'conversations', 'instruction' or 'prompt'+'completion'");
}

std::string read_all(const std::string& path) {
  auto src = ByteSource::open(path);
  std::string out, buf(1 << 16, '\0');  // 64 KiB chunks: no fresh megabyte per small file
  while (size_t n = src->read(buf.data(), buf.size())) out.append(buf.data(), n);
  return out;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Column indexes of question/answer (and optional system) by header names; -1 if absent.
bool find_qa_header(const std::vector<std::string>& header, int& q, int& a, int& sys) {
  q = a = sys = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string h = ascii_lower(header[i]);
    if (q < 0 && (h == "question" || h == "q" || h == "prompt" || h == "instruction" || h == "input" || h == "user"))
      q = static_cast<int>(i);
    else if (a < 0 && (h == "answer" || h == "a" || h == "response" || h == "completion" || h == "output" ||
                       h == "assistant"))
      a = static_cast<int>(i);
    else if (sys < 0 && h == "system")
      sys = static_cast<int>(i);
  }
  return q >= 0 && a >= 0;
}

}  // namespace

void validate_conversation(const std::vector<tok::ChatMessage>& messages) {
  CF_CHECK(!messages.empty(), "no messages");
  bool assistant = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    CF_CHECK(tok::is_chat_role(m.role), "message {}: unknown role '{}'", i, m.role);
    CF_CHECK(m.role != "system" || i == 0, "message {}: a system message may only come first", i);
    CF_CHECK(m.content.find_first_not_of(" \t\r\n") != std::string::npos, "message {} ({}): empty content", i, m.role);
    assistant = assistant || m.role == "assistant";
  }
  CF_CHECK(assistant, "no assistant turn");
}

std::vector<tok::ChatMessage> conversation_from_json(const json& rec, ChatInputFormat format) {
  CF_CHECK(rec.is_object(), "record is not a JSON object");
  if (format == ChatInputFormat::kAuto) format = detect(rec);
  std::vector<tok::ChatMessage> msgs;
  switch (format) {
    case ChatInputFormat::kMessages: {
      const auto it = rec.find("messages");
      CF_CHECK(it != rec.end(), "missing field 'messages'");
      msgs = message_list(*it, "messages", "role", "content", false);
      break;
    }
    case ChatInputFormat::kShareGpt: {
      const auto it = rec.find("conversations");
      CF_CHECK(it != rec.end(), "missing field 'conversations'");
      msgs = message_list(*it, "conversations", "from", "value", true);
      const std::string sys = string_field(rec, "system", false);
      if (!sys.empty() && (msgs.empty() || msgs[0].role != "system")) msgs.insert(msgs.begin(), {"system", sys});
      break;
    }
    case ChatInputFormat::kAlpaca: {
      std::string user = string_field(rec, "instruction", true);
      const std::string input = string_field(rec, "input", false);
      if (!input.empty()) user += "\n\n" + input;
      const std::string sys = string_field(rec, "system", false);
      if (!sys.empty()) msgs.push_back({"system", sys});
      msgs.push_back({"user", user});
      msgs.push_back({"assistant", string_field(rec, "output", true)});
      break;
    }
    case ChatInputFormat::kPromptCompletion: {
      const std::string sys = string_field(rec, "system", false);
      if (!sys.empty()) msgs.push_back({"system", sys});
      msgs.push_back({"user", string_field(rec, "prompt", true)});
      msgs.push_back({"assistant", string_field(rec, "completion", true)});
      break;
    }
    default: fail("format {} is not a JSON format", chat_format_name(format));
  }
  validate_conversation(msgs);
  return msgs;
}

std::vector<std::vector<std::string>> parse_delimited(const std::string& text, char sep,
                                                      std::vector<uint64_t>* row_lines) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  uint64_t line = 1, row_line = 1;
  bool quoted = false, field_started = false;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    const bool blank = row.size() == 1 && row[0].empty();
    if (!blank) {
      rows.push_back(std::move(row));
      if (row_lines != nullptr) row_lines->push_back(row_line);
    }
    row.clear();
    field_started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field += '"';
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"' && sep == ',' && !field_started) {
      quoted = true;
      field_started = true;
    } else if (c == sep) {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_row();
      ++line;
      row_line = line;
    } else {
      field += c;
      field_started = true;
    }
  }
  CF_CHECK(!quoted, "line {}: unterminated quoted field", row_line);
  if (!field.empty() || !row.empty()) end_row();
  return rows;
}

void read_chat_file(const std::string& path, ChatInputFormat format, bool strict,
                    const std::function<void(Conversation&&)>& on_conversation,
                    const std::function<void(ChatIssue&&)>& on_issue, uint64_t max_record_bytes) {
  auto issue = [&](uint64_t line, std::string reason) {
    if (strict) fail("{}:{}: {}", path, line, reason);
    on_issue({path, line, std::move(reason)});
  };
  const std::string base = without_compression_suffix(path);
  if (format == ChatInputFormat::kAuto) {
    if (base.ends_with(".csv")) format = ChatInputFormat::kCsv;
    if (base.ends_with(".tsv")) format = ChatInputFormat::kTsv;
  }
  const std::string text = read_all(path);
  if (format == ChatInputFormat::kCsv || format == ChatInputFormat::kTsv) {
    std::vector<uint64_t> lines;
    std::vector<std::vector<std::string>> rows;
    try {
      rows = parse_delimited(text, format == ChatInputFormat::kCsv ? ',' : '\t', &lines);
    } catch (const Error& e) {
      fail("{}: {}", path, e.what());
    }
    int q = 0, a = 1, sys = -1;
    size_t first = 0;
    if (!rows.empty() && find_qa_header(rows[0], q, a, sys)) {
      first = 1;
    } else {
      q = 0;
      a = 1;
      sys = -1;
    }
    for (size_t r = first; r < rows.size(); ++r) {
      const auto& row = rows[r];
      if (static_cast<int>(row.size()) <= std::max(q, a)) {
        issue(lines[r], fmt::format("row has {} columns, need question and answer", row.size()));
        continue;
      }
      Conversation c;
      if (sys >= 0 && sys < static_cast<int>(row.size()) && !row[sys].empty()) c.messages.push_back({"system", row[sys]});
      c.messages.push_back({"user", row[q]});
      c.messages.push_back({"assistant", row[a]});
      try {
        validate_conversation(c.messages);
      } catch (const Error& e) {
        issue(lines[r], e.what());
        continue;
      }
      c.file = path;
      c.line = lines[r];
      on_conversation(std::move(c));
    }
    return;
  }
  auto handle = [&](const json& rec, uint64_t line) {
    Conversation c;
    try {
      c.messages = conversation_from_json(rec, format);
    } catch (const Error& e) {
      issue(line, e.what());
      return;
    }
    c.file = path;
    c.line = line;
    on_conversation(std::move(c));
  };
  const size_t start = text.find_first_not_of(" \t\r\n");
  if (base.ends_with(".json") && start != std::string::npos && text[start] == '[') {
    const json arr = parse_json(text, path);
    for (size_t i = 0; i < arr.size(); ++i) handle(arr[i], i + 1);
    return;
  }
  uint64_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    CF_CHECK(max_record_bytes == 0 || line.size() <= max_record_bytes,
             "{}:{}: a line longer than {} MiB (raise --max-record-mb; docs/limits.md)", path, line_no,
             max_record_bytes >> 20);
    json rec;
    try {
      rec = parse_json(line, "broken JSON");
    } catch (const Error& e) {
      issue(line_no, e.what());
      continue;
    }
    handle(rec, line_no);
  }
}

std::vector<std::string> expand_chat_inputs(const std::vector<std::string>& args) {
  auto wanted = [](const std::string& p) {
    const std::string b = without_compression_suffix(p);
    return b.ends_with(".jsonl") || b.ends_with(".json") || b.ends_with(".csv") || b.ends_with(".tsv");
  };
  std::vector<std::string> out;
  for (const auto& a : args) {
    std::error_code ec;
    CF_CHECK(fs::exists(a, ec), "input {} does not exist", a);
    if (fs::is_directory(a, ec)) {
      const std::vector<std::string> found = list_files_recursive(a, wanted);
      CF_CHECK(!found.empty(), "input directory {} has no .jsonl/.json/.csv/.tsv files", a);
      out.insert(out.end(), found.begin(), found.end());
    } else {
      out.push_back(a);  // an explicit file is read whatever its name
    }
  }
  return unique_files(out);
}

}  // namespace chatforge::data
