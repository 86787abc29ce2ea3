// Reading and writing tokenizer files: GPT-2's vocab.json + merges.txt (also shipped as
// encoder.json + vocab.bpe), Hugging Face tokenizer.json (byte-level BPE with the
// ByteLevel pre-tokenizer or a Split regex + ByteLevel, as Llama-3 and Qwen2 use), and
// vocab.txt, a listing for people. Every error names the file and the field.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "tokenizer/bpe_tables.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::tok {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::string read_json_text(const std::string& path) {
  CF_CHECK(file_exists(path), "{}: no such file", path);
  try {
    return read_file(path);
  } catch (const std::exception& e) {
    fail("{}: cannot read: {}", path, e.what());
  }
}

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Ids a file may use: below twice the number of tokens it defines, plus 1024. Real files
// number their tokens densely (a few unused ids at most); a stray huge id would otherwise
// allocate a slot for every id below it (2^24 -> 543 MB). docs/limits.md.
int64_t id_limit(size_t n_entries) { return 2 * static_cast<int64_t>(n_entries) + 1024; }

// vocab (entries in file order, bpe_tables.h; is_object: the file gives an object): byte-level
// spelling -> id. Fills tokens (id -> bytes) and an index spelling -> id. Ids must be below
// `limit` (id_limit of every token the file defines).
void read_vocab(bool is_object, const std::vector<std::pair<std::string, json>>& vocab, const std::string& where,
                std::vector<std::string>& tokens, std::unordered_map<std::string, int32_t>& by_spelling,
                int64_t limit) {
  CF_CHECK(is_object, "{}: vocab must be a JSON object", where);
  CF_CHECK(!vocab.empty(), "{}: vocab is empty", where);
  int64_t max_id = -1;
  for (const auto& [key, value] : vocab) {
    CF_CHECK(value.is_number_integer(), "{}: vocab entry {} has a non-integer id", where, json(key).dump());
    const int64_t id = value.is_number_unsigned() && value.get<uint64_t>() > INT64_MAX ? -1 : value.get<int64_t>();
    CF_CHECK(id >= 0 && id < limit,
             "{}: vocab entry {} has id {} out of range (ids must be below {}: twice the number of tokens, plus 1024)",
             where, json(key).dump(), value.dump(), limit);
    max_id = std::max(max_id, id);
  }
  tokens.assign(static_cast<size_t>(max_id + 1), std::string());
  by_spelling.reserve(vocab.size());
  // Two spellings with one id would make a merge produce the other spelling's bytes (text
  // silently changed by encode), and an empty spelling is no token at all.
  std::vector<const std::string*> spelling_of(tokens.size(), nullptr);
  for (const auto& [key, value] : vocab) {
    const auto id = value.get<int32_t>();
    CF_CHECK(spelling_of[id] == nullptr, "{}: vocab entries {} and {} have the same id {}", where,
             json(*spelling_of[id]).dump(), json(key).dump(), id);
    spelling_of[id] = &key;
    CF_CHECK(!key.empty(), "{}: vocab entry \"\" (id {}) is empty", where, id);
    auto bytes = unicode_to_bytes(key);
    CF_CHECK(bytes.has_value(), "{}: vocab entry {} is not in GPT-2's byte-level alphabet", where,
             json(key).dump());
    tokens[id] = std::move(*bytes);
    CF_CHECK(by_spelling.emplace(key, id).second, "{}: vocab entry {} appears twice", where, json(key).dump());
  }
}

// One merge given as "a b" or ["a", "b"].
std::vector<Merge> read_merges(const std::vector<std::pair<std::string, std::string>>& pairs,
                               const std::unordered_map<std::string, int32_t>& by_spelling,
                               const std::string& where, size_t first_line) {
  std::vector<Merge> merges;
  merges.reserve(pairs.size());
  std::string joined;  // one buffer for every a + b
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& [a, b] = pairs[i];
    joined.assign(a).append(b);
    auto ia = by_spelling.find(a), ib = by_spelling.find(b), ir = by_spelling.find(joined);
    CF_CHECK(ia != by_spelling.end() && ib != by_spelling.end() && ir != by_spelling.end(),
             "{}: merge {} (\"{} {}\"): a token is not in the vocabulary", where, i + first_line, a, b);
    merges.push_back(Merge{ia->second, ib->second, ir->second});
  }
  return merges;
}

Tokenizer load_gpt2_files(const std::string& vocab_path, const std::string& merges_path) {
  BpeTables tables;
  const json vocab = parse_taking_bpe_tables(read_json_text(vocab_path), vocab_path, BpeLayout::kVocabJson, tables);
  TokenizerParts parts;
  std::unordered_map<std::string, int32_t> by_spelling;
  read_vocab(vocab.is_object(), tables.vocab, vocab_path, parts.tokens, by_spelling, id_limit(tables.vocab.size()));
  CF_CHECK(file_exists(merges_path), "{}: no such file", merges_path);
  const std::string text = read_file(merges_path);
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t line_no = 0, first_line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (line_no == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    CF_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == std::string::npos,
             "{}:{}: expected two tokens separated by one space", merges_path, line_no);
    if (first_line == 0) first_line = line_no;
    pairs.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  // Line numbers in errors: merges are contiguous after the header, so index + first line.
  parts.merges = read_merges(pairs, by_spelling, merges_path, first_line);
  if (auto it = by_spelling.find(kEndOfText); it != by_spelling.end()) parts.special_ids.push_back(it->second);
  parts.pretokenizer = PreTokenizer::gpt2();
  return Tokenizer::from_parts(std::move(parts));
}

// The pre-tokenizer of a tokenizer.json: ByteLevel (use_regex) = GPT-2's pattern, or a
// Sequence of Split(Regex, Isolated) then ByteLevel(use_regex false).
PreTokenizer read_pretokenizer(const json& pt, const std::string& where) {
  CF_CHECK(pt.is_object(), "{}: pre_tokenizer must be an object (byte-level BPE needs one)", where);
  const std::string type = json_field_or(pt, "type", "", where, "pre_tokenizer");
  auto check_byte_level = [&](const json& bl, bool want_regex, const char* name) {
    CF_CHECK(!json_field_or(bl, "add_prefix_space", false, where, name),
             "{}: pre_tokenizer ByteLevel add_prefix_space=true is not supported", where);
    CF_CHECK(json_field_or(bl, "use_regex", true, where, name) == want_regex,
             "{}: pre_tokenizer ByteLevel use_regex={} is not supported here", where, !want_regex);
  };
  if (type == "ByteLevel") {
    check_byte_level(pt, true, "pre_tokenizer");
    return PreTokenizer::gpt2();
  }
  if (type == "Sequence") {
    const json& list = pt.contains("pretokenizers") ? pt["pretokenizers"] : json::array();
    CF_CHECK(list.is_array() && list.size() == 2, "{}: pre_tokenizer Sequence must be [Split, ByteLevel]", where);
    const json& split = list[0];
    const char* split_name = "pre_tokenizer.pretokenizers[0]";
    CF_CHECK(json_field_or(split, "type", "", where, split_name) == "Split",
             "{}: pre_tokenizer Sequence must start with Split", where);
    CF_CHECK(split.contains("pattern") && split["pattern"].contains("Regex") && split["pattern"]["Regex"].is_string(),
             "{}: pre_tokenizer Split needs pattern.Regex", where);
    CF_CHECK(json_field_or(split, "behavior", "Isolated", where, split_name) == "Isolated" &&
                 !json_field_or(split, "invert", false, where, split_name),
             "{}: pre_tokenizer Split must be behavior Isolated, invert false", where);
    const char* bl_name = "pre_tokenizer.pretokenizers[1]";
    CF_CHECK(json_field_or(list[1], "type", "", where, bl_name) == "ByteLevel",
             "{}: pre_tokenizer Sequence must end with ByteLevel", where);
    check_byte_level(list[1], false, bl_name);
    return PreTokenizer::regex(split["pattern"]["Regex"].get<std::string>());
  }
  fail("{}: pre_tokenizer type \"{}\" is not supported (byte-level BPE only)", where, type);
}

Tokenizer load_hf_json(const std::string& path) {
  BpeTables tables;
  const json j = parse_taking_bpe_tables(read_json_text(path), path, BpeLayout::kTokenizerJson, tables);
  CF_CHECK(j.is_object() && j.contains("model") && j["model"].is_object(), "{}: missing \"model\"", path);
  // (the DOM keeps the last of repeated keys; the tables would hold all of them)
  CF_CHECK(tables.models == 1 && tables.vocab_tables <= 1 && tables.merges_tables <= 1,
           "{}: \"model\", model.vocab or model.merges appears twice", path);
  const json& model = j["model"];
  const std::string model_type = json_field_or(model, "type", "BPE", path, "model");
  CF_CHECK(model_type == "BPE", "{}: model.type is \"{}\", only BPE is supported", path, model_type);
  CF_CHECK(!json_field_or(model, "byte_fallback", false, path, "model"),
           "{}: model.byte_fallback=true (SentencePiece-style BPE) is not supported", path);
  CF_CHECK(model.contains("vocab"), "{}: missing model.vocab", path);
  CF_CHECK(model.contains("merges") && model["merges"].is_array(), "{}: missing model.merges", path);
  TokenizerParts parts;
  std::unordered_map<std::string, int32_t> by_spelling;
  const size_t n_added = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"].size() : 0;
  const bool vocab_object = model["vocab"].is_object();
  const int64_t limit = id_limit((vocab_object ? tables.vocab.size() : 0) + n_added);
  read_vocab(vocab_object, tables.vocab, path + " model.vocab", parts.tokens, by_spelling, limit);
  std::vector<std::pair<std::string, std::string>> pairs;
  pairs.reserve(tables.merges.size());
  size_t i = 0;
  for (const json& m : tables.merges) {
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t sp = s.find(' ');
      CF_CHECK(sp != std::string::npos && sp > 0 && sp + 1 < s.size(), "{}: model.merges[{}] is not \"a b\"", path, i);
      pairs.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else {
      CF_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(),
               "{}: model.merges[{}] is neither \"a b\" nor [a, b]", path, i);
      pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    }
    ++i;
  }
  parts.merges = read_merges(pairs, by_spelling, path + " model.merges", 0);
  parts.ignore_merges = json_field_or(model, "ignore_merges", false, path, "model");
  parts.pretokenizer = read_pretokenizer(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json(), path);
  if (j.contains("normalizer") && !j["normalizer"].is_null()) {
    const std::string nt = json_field_or(j["normalizer"], "type", "", path, "normalizer");
    CF_CHECK(nt == "NFC", "{}: normalizer \"{}\" is not supported (null or NFC)", path, nt);
    parts.nfc = true;
  }
  if (j.contains("added_tokens")) {
    CF_CHECK(j["added_tokens"].is_array(), "{}: added_tokens must be an array", path);
    size_t k = 0;
    for (const json& a : j["added_tokens"]) {
      CF_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
                   a["content"].is_string(),
               "{}: added_tokens[{}] needs an integer id and a string content", path, k);
      const auto id = a["id"].is_number_unsigned() && a["id"].get<uint64_t>() > INT64_MAX ? -1 : a["id"].get<int64_t>();
      const auto content = a["content"].get<std::string>();
      CF_CHECK(id >= 0 && id < limit,
               "{}: added_tokens[{}] has id {} out of range (ids must be below {}: twice the number of tokens, "
               "plus 1024)",
               path, k, a["id"].dump(), limit);
      CF_CHECK(!content.empty(), "{}: added_tokens[{}] has empty content", path, k);
      if (static_cast<size_t>(id) >= parts.tokens.size()) parts.tokens.resize(id + 1);
      CF_CHECK(parts.tokens[id].empty() || parts.tokens[id] == content,
               "{}: added_tokens[{}] id {} is already the vocab token of other bytes", path, k, id);
      parts.tokens[id] = content;
      parts.special_ids.push_back(static_cast<int32_t>(id));
      ++k;
    }
  }
  try {
    return Tokenizer::from_parts(std::move(parts));
  } catch (const Error& e) {
    fail("{}: {}", path, e.what());
  }
}

std::string escape_bytes(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02x}", c);
    else out.push_back(static_cast<char>(c));
  }
  return out;
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  CF_CHECK(file_exists(path), "{}: no such file or directory", path);
  if (!is_directory(path)) return load_hf_json(path);
  if (file_exists(join(path, "tokenizer.json"))) return load_hf_json(join(path, "tokenizer.json"));
  if (file_exists(join(path, "vocab.json")) && file_exists(join(path, "merges.txt")))
    return load_gpt2_files(join(path, "vocab.json"), join(path, "merges.txt"));
  if (file_exists(join(path, "encoder.json")) && file_exists(join(path, "vocab.bpe")))
    return load_gpt2_files(join(path, "encoder.json"), join(path, "vocab.bpe"));
  fail("{}: no tokenizer.json, vocab.json+merges.txt or encoder.json+vocab.bpe in this directory", path);
}

std::string Tokenizer::to_hf_json() const {
  ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  ordered_json added = ordered_json::array();
  for (const auto& [spelling, id] : specials_) {
    added.push_back({{"id", id}, {"content", spelling}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  j["added_tokens"] = added;
  j["normalizer"] = nfc_ ? ordered_json{{"type", "NFC"}} : ordered_json(nullptr);
  if (pretok_.is_gpt2()) {
    j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  } else {
    j["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         ordered_json::array(
             {ordered_json{{"type", "Split"}, {"pattern", {{"Regex", pretok_.pattern()}}}, {"behavior", "Isolated"},
                           {"invert", false}},
              ordered_json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                           {"use_regex", false}}})}};
  }
  j["post_processor"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  ordered_json model;
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = nullptr;
  model["continuing_subword_prefix"] = "";
  model["end_of_word_suffix"] = "";
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  model["ignore_merges"] = ignore_merges_;
  // vocab and merges are written by hand: nlohmann's ordered_json looks keys up linearly,
  // which is quadratic for a 50k+ vocabulary. Placeholders mark where they go.
  model["vocab"] = "@@CF_VOCAB@@";
  model["merges"] = "@@CF_MERGES@@";
  j["model"] = std::move(model);
  // A regular token owns its spelling as a vocab key; a special (also in added_tokens) is
  // written to vocab only when no regular token is spelled like it, whichever id comes first,
  // since a JSON object keeps one id per key.
  std::unordered_set<std::string> regular_keys;
  for (int32_t id = 0; id < vocab_size(); ++id)
    if (!tokens_[id].empty() && !special_flag_[id]) regular_keys.insert(bytes_to_unicode(tokens_[id]));
  std::string vocab_text = "{";
  std::unordered_set<std::string> seen;
  for (int32_t id = 0; id < vocab_size(); ++id) {
    if (tokens_[id].empty()) continue;  // an unused id (a gap in a loaded file)
    const std::string key = bytes_to_unicode(tokens_[id]);
    if (special_flag_[id] && regular_keys.contains(key)) continue;  // a special spelled like a regular token
    if (!seen.insert(key).second) continue;                          // two specials with one spelling
    vocab_text += seen.size() == 1 ? "\n  " : ",\n  ";
    vocab_text += json(key).dump() + ": " + std::to_string(id);
  }
  vocab_text += "\n }";
  std::string merges_text = "[";
  for (size_t i = 0; i < merges_.size(); ++i) {
    const Merge& m = merges_[i];
    merges_text += i == 0 ? "\n  " : ",\n  ";
    merges_text += json(bytes_to_unicode(tokens_[m.left]) + " " + bytes_to_unicode(tokens_[m.right])).dump();
  }
  merges_text += merges_.empty() ? "]" : "\n ]";
  std::string text = j.dump(1, ' ', false, ordered_json::error_handler_t::strict) + "\n";
  auto splice = [&](const std::string& placeholder, const std::string& with) {
    const std::string quoted = "\"" + placeholder + "\"";
    const size_t at = text.find(quoted);
    CF_ASSERT(at != std::string::npos);
    text.replace(at, quoted.size(), with);
  };
  splice("@@CF_VOCAB@@", vocab_text);
  splice("@@CF_MERGES@@", merges_text);
  return text;
}

std::string Tokenizer::vocab_listing() const {
  std::string out = "# id\tbytes (escaped)\tspecial\n";
  for (int32_t id = 0; id < vocab_size(); ++id)
    out += fmt::format("{}\t{}{}\n", id, escape_bytes(tokens_[id]), special_flag_[id] ? "\tspecial" : "");
  return out;
}

std::string Tokenizer::to_hf_config_json() const {
  ordered_json c;
  c["tokenizer_class"] = pretok_.is_gpt2() ? "GPT2Tokenizer" : "PreTrainedTokenizerFast";
  c["add_prefix_space"] = false;
  c["clean_up_tokenization_spaces"] = false;
  if (special_token_id(kEndOfText)) {
    c["bos_token"] = kEndOfText;
    c["eos_token"] = kEndOfText;
    c["unk_token"] = kEndOfText;
  }
  c["model_max_length"] = 1024;
  return c.dump(1) + "\n";
}

void Tokenizer::save(const std::string& dir) const {
  make_dirs(dir);
  write_file_atomic(join(dir, "tokenizer.json"), to_hf_json());
  write_file_atomic(join(dir, "vocab.txt"), vocab_listing());
  // Hugging Face loaders also want tokenizer_config.json. Another part of chatforge may
  // have written one (with a chat template); never overwrite it.
  if (!file_exists(join(dir, "tokenizer_config.json")))
    write_file_atomic(join(dir, "tokenizer_config.json"), to_hf_config_json());
}

}  // namespace chatforge::tok
