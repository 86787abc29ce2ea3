// Reading the inputs of the eval tools: one segment per line text files, JSONL records
// and RFC 4180 CSV. Every error names the file and the 1-based line.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace chatforge::eval {

// Lines of a text file without their "\n" / "\r\n"; a final newline does not start an
// extra empty line. A missing file is an Error naming it.
std::vector<std::string> read_lines(const std::string& path);

// One JSON object per non-blank line; a malformed line is an Error "FILE:LINE: ...".
struct JsonlRecord {
  size_t line = 0;  // 1-based line in the file
  nlohmann::json value;
};
std::vector<JsonlRecord> read_jsonl(const std::string& path);

// CSV with a header row. Quoted fields may hold commas, quotes ("") and newlines.
struct CsvTable {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> row_line;  // 1-based line where each row starts
  // Index of a column by name, or an Error naming `file` and the missing column.
  size_t column(const std::string& name, const std::string& file) const;
};
CsvTable parse_csv(const std::string& text, const std::string& file_for_errors);
std::string csv_escape(const std::string& field);
std::string csv_row(const std::vector<std::string>& fields);  // with trailing "\r\n"

}  // namespace chatforge::eval
