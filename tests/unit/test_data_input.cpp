// Document input: directories walked recursively in sorted order, .gz and .zst streams,
// JSONL fields and defaults, text split modes, malformed lines counted with file:line
// (or stopping the run with --strict), and clear errors for missing/unreadable inputs.
#include <gtest/gtest.h>

#include "test_util.h"
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>

#include "core/error.h"
#include "core/file_io.h"
#include "data/input.h"

using namespace chatforge;
using chatforge::testing::temp_dir;
using namespace chatforge::data;
namespace fs = std::filesystem;

namespace {
void write_gzip(const std::string& path, const std::string& data) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, data.data(), static_cast<unsigned>(data.size()));
  gzclose(f);
}
void write_zst(const std::string& path, const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  out.resize(n);
  write_file_atomic(path, out);
}
std::vector<RawDocument> read_all(const std::vector<std::string>& args, InputOptions o = {},
                                  std::vector<InputIssue>* issues = nullptr) {
  DocumentStream s(expand_inputs(args), o);
  std::vector<RawDocument> out;
  RawDocument d;
  while (s.next(d)) out.push_back(d);
  if (issues) *issues = s.issues();
  return out;
}
}  // namespace

TEST(Input, ReadsDirectoriesRecursivelyIncludingCompressed) {
  const std::string d = temp_dir("input_dir");
  fs::create_directories(d + "/web/sub");
  write_file_atomic(d + "/web/b.txt", "second file");
  write_file_atomic(d + "/web/a.md", "# first file\n");
  write_gzip(d + "/web/sub/c.jsonl.gz", "{\"text\": \"gz one\", \"label\": \"x\"}\n{\"text\": \"gz two\", \"source\": \"own\"}\n");
  write_zst(d + "/web/sub/d.txt.zst", std::string(300000, 'z'));
  write_file_atomic(d + "/web/ignored.bin", "not text");
  const auto docs = read_all({d + "/web"});
  ASSERT_EQ(docs.size(), 5u);
  EXPECT_EQ(docs[0].text, "# first file\n");
  EXPECT_EQ(docs[0].source, "web");  // the argument's name
  EXPECT_EQ(docs[1].text, "second file");
  EXPECT_EQ(docs[2].text, "gz one");
  EXPECT_EQ(docs[2].label, "x");
  EXPECT_EQ(docs[2].line, 1u);
  EXPECT_EQ(docs[3].source, "own");  // the field wins
  EXPECT_EQ(docs[4].text.size(), 300000u);
}

TEST(Input, MalformedLinesAreCountedWithFileAndLine) {
  const std::string d = temp_dir("input_bad");
  write_file_atomic(d + "/x.jsonl",
                    "{\"text\": \"ok\"}\n{broken\n\n{\"body\": \"no text\"}\n{\"text\": 5}\n[1]\n{\"text\": \"fine\"}\n");
  std::vector<InputIssue> issues;
  const auto docs = read_all({d + "/x.jsonl"}, {}, &issues);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[1].text, "fine");
  EXPECT_EQ(docs[1].line, 7u);
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(issues[0].line, 2u);
  EXPECT_EQ(issues[0].reason, "malformed JSON");
  EXPECT_EQ(issues[1].line, 4u);
  EXPECT_EQ(issues[1].reason, "missing field \"text\"");
  EXPECT_EQ(issues[2].reason, "field \"text\" is not a string");
  InputOptions strict;
  strict.strict = true;
  try {
    read_all({d + "/x.jsonl"}, strict);
    FAIL() << "strict mode accepted a malformed line";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), d + "/x.jsonl:2: malformed JSON");
  }
  InputOptions body;
  body.text_field = "body";
  EXPECT_EQ(read_all({d + "/x.jsonl"}, body).size(), 1u);
}

TEST(Input, TextSplitModes) {
  const std::string d = temp_dir("input_split");
  write_file_atomic(d + "/p.txt", "para one\nline two\n\n\npara two\n   \npara three");
  InputOptions o;
  EXPECT_EQ(read_all({d + "/p.txt"}, o).size(), 1u);
  o.txt_split = "paragraph";
  const auto paras = read_all({d + "/p.txt"}, o);
  ASSERT_EQ(paras.size(), 3u);
  EXPECT_EQ(paras[0].text, "para one\nline two");
  EXPECT_EQ(paras[2].line, 7u);
  o.txt_split = "line";
  EXPECT_EQ(read_all({d + "/p.txt"}, o).size(), 4u);
  o.txt_split = "sentence";
  EXPECT_THROW(read_all({d + "/p.txt"}, o), UsageError);
}

TEST(Input, MissingUnreadableAndCorruptInputsAreClearErrors) {
  const std::string d = temp_dir("input_err");
  try {
    expand_inputs({d + "/nope.txt"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "input " + d + "/nope.txt does not exist");
  }
  write_file_atomic(d + "/bad.jsonl.gz", "this is not gzip but gzread passes plain bytes through");
  write_file_atomic(d + "/bad.txt.zst", "not zstd");
  try {
    read_all({d + "/bad.txt.zst"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.txt.zst: corrupt zstd data"), std::string::npos);
  }
  if (::geteuid() != 0) {  // root reads everything
    write_file_atomic(d + "/secret.txt", "x");
    ::chmod((d + "/secret.txt").c_str(), 0);
    EXPECT_THROW(expand_inputs({d + "/secret.txt"}), Error);
  }
}
