// Input readers for the eval tools (see text_files.h).
#include "eval/text_files.h"

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"

namespace chatforge::eval {

std::vector<std::string> read_lines(const std::string& path) {
  CF_CHECK(file_exists(path), "{}: no such file", path);
  const std::string text = read_file(path);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    size_t stop = end;
    if (stop > start && text[stop - 1] == '\r') --stop;
    lines.emplace_back(text, start, stop - start);
    start = end + 1;
  }
  return lines;
}

std::vector<JsonlRecord> read_jsonl(const std::string& path) {
  std::vector<JsonlRecord> out;
  const auto lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json v = parse_json(line, fmt::format("{}:{}", path, i + 1));
    CF_CHECK(v.is_object(), "{}:{}: expected a JSON object per line", path, i + 1);
    out.push_back({i + 1, std::move(v)});
  }
  return out;
}

size_t CsvTable::column(const std::string& name, const std::string& file) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  fail("{}: missing column '{}' in the header", file, name);
}

CsvTable parse_csv(const std::string& text, const std::string& file) {
  CsvTable t;
  std::vector<std::string> row;
  std::string field;
  bool in_quotes = false, field_started = false, header_done = false;
  size_t line = 1, row_start_line = 1;
  size_t i = 0;
  // A UTF-8 byte order mark (spreadsheet exports) is not part of the first column name.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  auto end_row = [&] {
    row.push_back(std::move(field));
    field.clear();
    field_started = false;
    const bool blank = row.size() == 1 && row[0].empty();
    if (!blank) {
      if (!header_done) {
        t.header = std::move(row);
        header_done = true;
      } else {
        CF_CHECK(row.size() == t.header.size(), "{}:{}: {} fields, but the header has {}", file, row_start_line,
                 row.size(), t.header.size());
        t.rows.push_back(std::move(row));
        t.row_line.push_back(row_start_line);
      }
    }
    row.clear();
  };
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        field.push_back(c);
      }
      continue;
    }
    if (c == '"' && !field_started) {
      in_quotes = true;
      field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      field_started = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      // handled by the '\n'
    } else if (c == '\n') {
      end_row();
      ++line;
      row_start_line = line;
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  CF_CHECK(!in_quotes, "{}:{}: unterminated quoted field", file, row_start_line);
  if (field_started || !row.empty()) end_row();
  CF_CHECK(header_done, "{}: empty CSV (no header row)", file);
  return t;
}

std::string csv_escape(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out.push_back(',');
    out += csv_escape(fields[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace chatforge::eval
