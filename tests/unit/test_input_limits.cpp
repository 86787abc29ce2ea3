// Limits on hostile or huge input (docs/limits.md): JSON nesting checked before parsing
// (100k levels crashed the readers that dump or copy a value), typed JSON fields named in
// errors, tokenizer.json ids bounded by the entries, PCRE2 limits that end in an error
// naming the pattern (never a silent single piece), truncated .gz an error, a record-size
// limit naming file:line, and directory walks that read each file once despite link loops.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <string>

#include "core/dir_walk.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "data/chat_record.h"
#include "data/input.h"
#include "data/mixture.h"
#include "eval/eval_items.h"
#include "serve/api_request.h"
#include "test_util.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"

using namespace chatforge;
using chatforge::testing::error_of;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string nested(size_t depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

bool limits_has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<data::RawDocument> read_limit_docs(const std::vector<std::string>& args, data::InputOptions o = {},
                                         std::vector<data::InputIssue>* issues = nullptr) {
  data::DocumentStream s(data::expand_inputs(args), o);
  std::vector<data::RawDocument> out;
  data::RawDocument d;
  while (s.next(d)) out.push_back(d);
  if (issues) *issues = s.issues();
  return out;
}

// A small trained tokenizer's tokenizer.json, as a JSON value to edit.
json small_tokenizer_json() {
  static const std::string text = [] {
    tok::TrainOptions o;
    o.vocab_size = 300;
    o.progress = false;
    return tok::train_bpe_on_text("the cat sat on the mat, the cat ate the rat. ", o).to_hf_json();
  }();
  return json::parse(text);
}

void write_gz_file(const std::string& path, const std::string& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
  gzclose(f);
}

}  // namespace

// ---- JSON nesting and typed fields -------------------------------------------------

TEST(Limits, JsonDepthIsCheckedBeforeParsing) {
  EXPECT_EQ(json_depth_problem(nested(kMaxJsonDepth)), "");
  EXPECT_EQ(json_depth_problem(nested(kMaxJsonDepth + 1)),
            fmt::format("JSON nested deeper than {} levels (byte {})", kMaxJsonDepth, kMaxJsonDepth + 1));
  // Brackets inside strings (also after escaped quotes) are text, not nesting.
  EXPECT_EQ(json_depth_problem("[\"" + std::string(100000, '[') + "\\\"[[[\"]"), "");
  EXPECT_EQ(json_depth_problem("{\"a\":\n\n" + nested(600) + "}"),
            fmt::format("JSON nested deeper than {} levels (line 3)", kMaxJsonDepth));
  // 512 levels parse and dump; 100k levels (200 KB) are one error line, not a stack overflow.
  EXPECT_EQ(parse_json(nested(kMaxJsonDepth), "x").dump(), nested(kMaxJsonDepth));
  const std::string m = error_of([] { parse_json("{\"label\": " + nested(100000) + "}", "f.json"); });
  EXPECT_EQ(m, fmt::format("f.json: JSON nested deeper than {} levels (byte {})", kMaxJsonDepth, kMaxJsonDepth + 10));
  std::string why;
  EXPECT_FALSE(try_parse_json(nested(100000), &why).has_value());
  EXPECT_TRUE(limits_has(why, "nested deeper")) << why;
  EXPECT_FALSE(try_parse_json("{broken", &why).has_value());
  EXPECT_EQ(why, "malformed JSON");
  EXPECT_TRUE(limits_has(error_of([] { parse_json("{\"a\": tru}", "cfg.json"); }), "cfg.json: invalid JSON: parse error at line 1"));
  EXPECT_FALSE(limits_has(error_of([] { parse_json("{\"a\": tru}", "cfg.json"); }), "[json.exception"));
}

TEST(Limits, JsonFieldsOfTheWrongTypeAreNamed) {
  const json j = json::parse(R"({"type": 5, "ok": "yes", "n": 4294967596, "flag": true, "sub": [1]})");
  EXPECT_EQ(json_field_or(j, "ok", "", "t.json"), "yes");
  EXPECT_EQ(json_field_or(j, "missing", "dflt", "t.json"), "dflt");
  EXPECT_EQ(error_of([&] { json_field_or(j, "type", "", "t.json", "model"); }),
            "t.json: model.type must be a string, not a number");
  EXPECT_EQ(error_of([&] { json_field_or(j, "n", int32_t{0}, "t.json"); }), "t.json: n is out of range: 4294967596");
  EXPECT_EQ(json_field_or(j, "n", int64_t{0}, "t.json"), 4294967596);
  EXPECT_EQ(error_of([&] { json_field_or(j, "flag", 0.0, "t.json"); }), "t.json: flag must be a number, not a boolean");
  EXPECT_EQ(error_of([&] { json_field_or(j["sub"], "x", false, "t.json", "sub"); }),
            "t.json: sub must be an object, not an array");
}

// ---- tokenizer.json ------------------------------------------------------------------

TEST(Limits, TokenizerJsonWrongTypedFieldNamesFileAndField) {
  const std::string d = temp_dir("limits_tok_types");
  json j = small_tokenizer_json();
  j["model"]["type"] = 7;
  write_file_atomic(d + "/tokenizer.json", j.dump());
  std::string m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_EQ(m, d + "/tokenizer.json: model.type must be a string, not a number");
  j = small_tokenizer_json();
  j["pre_tokenizer"]["use_regex"] = "yes";
  write_file_atomic(d + "/tokenizer.json", j.dump());
  m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_EQ(m, d + "/tokenizer.json: pre_tokenizer.use_regex must be a boolean, not a string");
  j = small_tokenizer_json();
  j["normalizer"] = {{"type", json::array()}};
  write_file_atomic(d + "/tokenizer.json", j.dump());
  m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_EQ(m, d + "/tokenizer.json: normalizer.type must be a string, not an array");
  write_file_atomic(d + "/tokenizer.json", "{\"model\": " + nested(100000) + "}");
  m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_TRUE(limits_has(m, "tokenizer.json: JSON nested deeper than 512 levels")) << m;
}

TEST(Limits, TokenizerIdsAreBoundedByTheEntries) {
  const std::string d = temp_dir("limits_tok_ids");
  json j = small_tokenizer_json();
  const size_t n = j["model"]["vocab"].size() + j["added_tokens"].size();
  const int64_t limit = 2 * static_cast<int64_t>(n) + 1024;
  // One id of 2^24 - 1 used to allocate 16M token slots (543 MB).
  j["model"]["vocab"]["Ġzzz"] = (1 << 24) - 1;
  write_file_atomic(d + "/tokenizer.json", j.dump());
  std::string m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_TRUE(limits_has(m, "tokenizer.json model.vocab: vocab entry \"Ġzzz\" has id 16777215 out of range")) << m;
  EXPECT_TRUE(limits_has(m, fmt::format("below {}", limit + 2))) << m;  // the new entry counts too
  j = small_tokenizer_json();
  j["added_tokens"][0]["id"] = 5000000000LL;
  write_file_atomic(d + "/tokenizer.json", j.dump());
  m = error_of([&] { tok::Tokenizer::load(d); });
  EXPECT_TRUE(limits_has(m, "added_tokens[0] has id 5000000000 out of range")) << m;
  // A few unused ids (a gap) are fine.
  j = small_tokenizer_json();
  j["added_tokens"][0]["id"] = j["model"]["vocab"].size() + 100;
  write_file_atomic(d + "/tokenizer.json", j.dump());
  EXPECT_EQ(tok::Tokenizer::load(d).vocab_size(), static_cast<int32_t>(j["model"]["vocab"].size() + 101));
}

TEST(Limits, CatastrophicSplitRegexIsAnErrorNamingThePattern) {
  const tok::PreTokenizer p = tok::PreTokenizer::regex("(a+)+$");
  std::vector<std::string_view> pieces;
  p.split("aaab", pieces);  // small inputs still work
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_EQ(pieces[0], "aaab");  // no match: the text is one piece
  pieces.clear();
  const std::string text = std::string(40, 'a') + "!";
  const std::string m = error_of([&] { p.split(text, pieces); });
  EXPECT_EQ(m, "pre-tokenizer pattern \"(a+)+$\" failed at byte 0 of a 41-byte text: match limit exceeded (the "
               "pattern backtracks too much, or a piece is too long for it: raise CHATFORGE_REGEX_MATCH_LIMIT, "
               "docs/limits.md)");
  // Through a loaded tokenizer.json too (an error, not the rest of the text as one piece).
  const std::string d = temp_dir("limits_regex");
  json j = small_tokenizer_json();
  j["pre_tokenizer"] = json::parse(R"({"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]})");
  write_file_atomic(d + "/tokenizer.json", j.dump());
  const tok::Tokenizer t = tok::Tokenizer::load(d);
  EXPECT_TRUE(limits_has(error_of([&] { t.encode(text); }), "pre-tokenizer pattern \"(a+)+$\"")) << error_of([&] { t.encode(text); });
  // A long run of a repeated group (deep JIT backtracking stack) still matches: the 32 KB
  // default JIT stack gave up at a few thousand characters.
  const tok::PreTokenizer g = tok::PreTokenizer::regex("(a|b)+|.");
  pieces.clear();
  std::string ab;
  for (int i = 0; i < 100000; ++i) ab += "ab";
  g.split(ab + " x", pieces);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].size(), ab.size());
}

// ---- document input --------------------------------------------------------------------

TEST(Limits, DeepLabelInJsonlIsASkippedLineNotACrash) {
  const std::string d = temp_dir("limits_deep_label");
  write_file_atomic(d + "/x.jsonl", "{\"text\": \"a\", \"label\": " + nested(100000) + "}\n" +
                                        "{\"text\": \"b\", \"label\": " + nested(3) + "}\n");
  std::vector<data::InputIssue> issues;
  const auto docs = read_limit_docs({d + "/x.jsonl"}, {}, &issues);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].label, "[[[1]]]");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].line, 1u);
  EXPECT_EQ(issues[0].reason, fmt::format("JSON nested deeper than {} levels (byte {})", kMaxJsonDepth, 535));
}

TEST(Limits, TruncatedGzipIsAnErrorNamingTheFile) {
  const std::string d = temp_dir("limits_gz");
  std::string text;
  for (int i = 0; i < 20000; ++i) text += fmt::format("{{\"text\": \"line {} of a file\"}}\n", i);
  write_gz_file(d + "/full.jsonl.gz", text);
  EXPECT_EQ(read_limit_docs({d + "/full.jsonl.gz"}).size(), 20000u);
  const std::string gz = read_file(d + "/full.jsonl.gz");
  write_file_atomic(d + "/cut.jsonl.gz", gz.substr(0, gz.size() / 2));
  EXPECT_EQ(error_of([&] { read_limit_docs({d + "/cut.jsonl.gz"}); }),
            d + "/cut.jsonl.gz: truncated gzip stream (the file ends before the compressed data does)");
  // The chat reader (data chat) shares the byte source.
  std::string chat;
  for (int i = 0; i < 5000; ++i)
    chat += "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}\n";
  write_gz_file(d + "/chat.jsonl.gz", chat);
  const std::string cgz = read_file(d + "/chat.jsonl.gz");
  write_file_atomic(d + "/chat_cut.jsonl.gz", cgz.substr(0, cgz.size() - 6));  // only the trailer's end missing
  const std::string m = error_of([&] {
    data::read_chat_file(d + "/chat_cut.jsonl.gz", data::ChatInputFormat::kAuto, false, [](data::Conversation&&) {},
                         [](data::ChatIssue&&) {});
  });
  EXPECT_TRUE(limits_has(m, "chat_cut.jsonl.gz: truncated gzip stream")) << m;
}

TEST(Limits, RecordsLongerThanTheLimitAreAnErrorNamingFileAndLine) {
  const std::string d = temp_dir("limits_record");
  const std::string big(3 << 20, 'x');  // 3 MiB
  write_file_atomic(d + "/a.jsonl", "{\"text\": \"small\"}\n{\"text\": \"" + big + "\"}\n");
  data::InputOptions o;
  o.max_record_bytes = 2 << 20;
  EXPECT_EQ(error_of([&] { read_limit_docs({d + "/a.jsonl"}, o); }),
            d + "/a.jsonl:2: a line longer than 2 MiB (raise --max-record-mb; docs/limits.md)");
  o.max_record_bytes = 4 << 20;
  EXPECT_EQ(read_limit_docs({d + "/a.jsonl"}, o).size(), 2u);
  o.max_record_bytes = 0;  // no limit
  EXPECT_EQ(read_limit_docs({d + "/a.jsonl"}, o).size(), 2u);
  // A paragraph of many short lines, and a whole file read as one document.
  std::string para = "first\n\n";
  for (int i = 0; i < 40000; ++i) para += std::string(79, 'p') + "\n";
  write_file_atomic(d + "/p.txt", para);
  o.max_record_bytes = 2 << 20;
  o.txt_split = "paragraph";
  EXPECT_EQ(error_of([&] { read_limit_docs({d + "/p.txt"}, o); }),
            d + "/p.txt:3: a paragraph longer than 2 MiB (raise --max-record-mb; docs/limits.md)");
  o.txt_split = "line";
  EXPECT_EQ(read_limit_docs({d + "/p.txt"}, o).size(), 40001u);
  o.txt_split = "file";
  EXPECT_TRUE(limits_has(error_of([&] { read_limit_docs({d + "/p.txt"}, o); }), "p.txt: a document longer than 2 MiB (--txt-split file"));
  EXPECT_EQ(data::max_record_bytes_from_mb(64), 64ull << 20);
  EXPECT_THROW(data::max_record_bytes_from_mb(-1), UsageError);
  // The chat reader: the same limit on JSONL lines.
  write_file_atomic(d + "/c.jsonl", "{\"prompt\": \"q\", \"completion\": \"" + big + "\"}\n");
  EXPECT_EQ(error_of([&] {
              data::read_chat_file(d + "/c.jsonl", data::ChatInputFormat::kAuto, false, [](data::Conversation&&) {},
                                   [](data::ChatIssue&&) {}, 2 << 20);
            }),
            d + "/c.jsonl:1: a line longer than 2 MiB (raise --max-record-mb; docs/limits.md)");
}

TEST(Limits, SymlinkLoopsAndDuplicateLinksReadEachFileOnce) {
  const std::string d = temp_dir("limits_links");
  fs::create_directories(d + "/in/sub");
  write_file_atomic(d + "/in/a.jsonl", "{\"text\": \"one\"}\n");
  write_file_atomic(d + "/in/sub/b.txt", "two");
  fs::create_directory_symlink("..", d + "/in/sub/loop");      // in/sub/loop -> in
  fs::create_directory_symlink(d + "/in/sub", d + "/in/alias");  // a second way into sub
  fs::create_symlink(d + "/in/a.jsonl", d + "/in/c.jsonl");     // a link to a file
  fs::create_symlink(d + "/nowhere", d + "/in/dangling.txt");
  const auto docs = read_limit_docs({d + "/in"});
  ASSERT_EQ(docs.size(), 2u);  // was 41 copies of each through the loop
  EXPECT_EQ(docs[0].text, "one");
  EXPECT_EQ(docs[0].file, d + "/in/a.jsonl");
  EXPECT_EQ(docs[1].text, "two");
  EXPECT_EQ(docs[1].file, d + "/in/alias/b.txt");  // the first path in name order
  // The same file named twice on the command line (or through a directory) is read once.
  EXPECT_EQ(read_limit_docs({d + "/in/a.jsonl", d + "/in/c.jsonl", d + "/in"}).size(), 2u);
  const auto chat_files = data::expand_chat_inputs({d + "/in", d + "/in/a.jsonl"});
  ASSERT_EQ(chat_files.size(), 1u);
  EXPECT_EQ(chat_files[0], d + "/in/a.jsonl");
  EXPECT_EQ(list_files_recursive(d + "/in", [](const std::string&) { return true; }).size(), 2u);
}

// ---- chat records and eval items ---------------------------------------------------------

TEST(Limits, DeepJsonInChatAndEvalFilesIsAnErrorNotACrash) {
  const std::string d = temp_dir("limits_deep_eval");
  write_file_atomic(d + "/chat.jsonl", "{\"prompt\": " + nested(100000) + "}\n");
  std::vector<data::ChatIssue> issues;
  data::read_chat_file(d + "/chat.jsonl", data::ChatInputFormat::kAuto, false, [](data::Conversation&&) {},
                       [&](data::ChatIssue&& i) { issues.push_back(std::move(i)); });
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].reason, fmt::format("broken JSON: JSON nested deeper than {} levels (byte {})", kMaxJsonDepth, 523));
  // `eval generate` items: a deep "id" was dumped recursively (SIGSEGV).
  write_file_atomic(d + "/items.jsonl", "{\"id\": " + nested(100000) + ", \"prompt\": \"p\", \"answer\": \"a\"}\n");
  EXPECT_EQ(error_of([&] { eval::load_eval_items(d + "/items.jsonl", {}); }),
            fmt::format("{}/items.jsonl:1: JSON nested deeper than {} levels (byte {})", d, kMaxJsonDepth, 519));
  // A wrong-typed role names the file, line, message and field.
  write_file_atomic(d + "/roles.jsonl",
                    R"({"messages": [{"role": 3, "content": "hi"}, {"role": "assistant", "content": "a"}]})" "\n");
  EXPECT_EQ(error_of([&] { eval::load_eval_items(d + "/roles.jsonl", {}); }),
            d + "/roles.jsonl:1: item '1': messages[0]: role must be a string, not a number");
}

TEST(Limits, DeepRequestBodyIsA400) {
  try {
    serve::parse_feedback_request("{\"message_id\": 1, \"comment\": " + nested(100000) + "}");
    FAIL() << "a 100k-deep body was accepted";
  } catch (const serve::ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.code, "invalid_json");
    EXPECT_EQ(std::string(e.what()),
              fmt::format("the request body: JSON nested deeper than {} levels (byte {})", kMaxJsonDepth, 541));
  }
}

TEST(Limits, DeepMixtureFilesAreAnErrorNotACrash) {
  const std::string d = temp_dir("limits_mixture");
  write_file_atomic(d + "/mix.yaml", "- task: a\n  path: " + nested(100000, "x.jsonl") + "\n");
  EXPECT_EQ(error_of([&] { data::load_mixture(d + "/mix.yaml"); }), d + "/mix.yaml:2: nested [lists] are not supported");
  write_file_atomic(d + "/mix.json", "[{\"task\": \"a\", \"path\": " + nested(100000, "\"x\"") + "}]");
  EXPECT_EQ(error_of([&] { data::load_mixture(d + "/mix.json"); }),
            fmt::format("{}/mix.json: JSON nested deeper than {} levels (byte {})", d, kMaxJsonDepth, 534));
}
