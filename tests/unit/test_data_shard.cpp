// Token shards: round trips at both token widths, loss masks, splitting across files,
// meta.json, document boundaries, and clear errors for truncated or foreign files.
#include <gtest/gtest.h>

#include "test_util.h"
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "data/shard.h"

using namespace chatforge;
using chatforge::testing::temp_dir;
using namespace chatforge::data;
namespace fs = std::filesystem;

namespace {
ShardSpec spec(uint32_t vocab, int32_t eot, bool mask = false) {
  ShardSpec s;
  s.vocab_size = vocab;
  s.eot_id = eot;
  s.tokenizer_fingerprint = "bpe-0123456789abcdef-extra";
  s.has_mask = mask;
  return s;
}
}  // namespace

TEST(Shard, HeaderIs64BytesLittleEndianAsSpecified) {
  const std::string d = temp_dir("shard_hdr");
  ShardFileWriter w(d + "/a.bin", spec(50257, 50256));
  const std::vector<int32_t> doc = {1, 2, 65535 - 20000};
  w.add_document(doc.data(), doc.size());
  w.finish();
  const std::string bytes = read_file(d + "/a.bin");
  ASSERT_EQ(bytes.size(), 64u + 4 * 2);
  EXPECT_EQ(std::memcmp(bytes.data(), "CFSHARD\0", 8), 0);
  uint32_t u32;
  uint64_t u64;
  int32_t i32;
  std::memcpy(&u32, bytes.data() + 8, 4);
  EXPECT_EQ(u32, 1u);  // version
  std::memcpy(&u32, bytes.data() + 12, 4);
  EXPECT_EQ(u32, 2u);  // token bytes
  std::memcpy(&u64, bytes.data() + 16, 8);
  EXPECT_EQ(u64, 4u);  // tokens, eot included
  std::memcpy(&u64, bytes.data() + 24, 8);
  EXPECT_EQ(u64, 1u);  // docs
  std::memcpy(&u32, bytes.data() + 32, 4);
  EXPECT_EQ(u32, 0u);  // has_mask
  std::memcpy(&u32, bytes.data() + 36, 4);
  EXPECT_EQ(u32, 50257u);
  std::memcpy(&i32, bytes.data() + 40, 4);
  EXPECT_EQ(i32, 50256);
  EXPECT_EQ(std::string(bytes.data() + 48, 16), "bpe-0123456789ab");
  uint16_t t;
  std::memcpy(&t, bytes.data() + 64 + 6, 2);
  EXPECT_EQ(t, 50256);  // the eot ends the document
}

TEST(Shard, RoundTripUint16AndDocBoundaries) {
  const std::string d = temp_dir("shard_u16");
  {
    ShardFileWriter w(d + "/s.bin", spec(1000, 999));
    std::vector<int32_t> a = {5, 6, 7}, b = {}, c = {998, 0};
    w.add_document(a.data(), a.size());
    w.add_document(b.data(), b.size());
    w.add_document(c.data(), c.size());
    w.finish();
  }
  ShardReader r(d + "/s.bin");
  EXPECT_EQ(r.token_bytes(), 2u);
  EXPECT_EQ(r.n_tokens(), 8u);
  EXPECT_EQ(r.n_docs(), 3u);
  EXPECT_FALSE(r.has_mask());
  EXPECT_EQ(r.fingerprint(), "bpe-0123456789ab");
  const std::vector<uint32_t> want = {5, 6, 7, 999, 999, 998, 0, 999};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(r.tokens(i), want[i]) << i;
  EXPECT_EQ(r.doc_ends(), (std::vector<uint64_t>{3, 4, 7}));
  std::vector<uint32_t> buf(3);
  r.read_tokens(5, 3, buf.data());
  EXPECT_EQ(buf, (std::vector<uint32_t>{998, 0, 999}));
  EXPECT_EQ(r.mask(0), 1);  // no mask: every token trains
  EXPECT_THROW(r.read_tokens(6, 3, buf.data()), Error);
}

TEST(Shard, LargeVocabUsesUint32AndMaskFollowsTokens) {
  const std::string d = temp_dir("shard_u32");
  {
    ShardFileWriter w(d + "/m.bin", spec(100000, 99999, true));
    std::vector<int32_t> a = {70000, 3, 99998};
    std::vector<uint8_t> ma = {0, 0, 1};
    w.add_document(a.data(), a.size(), ma.data(), 1);
    std::vector<int32_t> b = {1};
    std::vector<uint8_t> mb = {1};
    w.add_document(b.data(), b.size(), mb.data(), 0);
    w.finish();
  }
  EXPECT_EQ(fs::file_size(d + "/m.bin"), 64u + 6 * 4 + 6);
  ShardReader r(d + "/m.bin");
  EXPECT_EQ(r.token_bytes(), 4u);
  EXPECT_TRUE(r.has_mask());
  EXPECT_EQ(r.tokens(0), 70000u);
  EXPECT_EQ(r.tokens(3), 99999u);
  const std::vector<uint8_t> want_mask = {0, 0, 1, 1, 1, 0};
  for (size_t i = 0; i < want_mask.size(); ++i) EXPECT_EQ(r.mask(i), want_mask[i]) << i;
}

TEST(Shard, WriterRejectsTokensOutsideVocab) {
  const std::string d = temp_dir("shard_bad_tok");
  ShardFileWriter w(d + "/x.bin", spec(100, 99));
  std::vector<int32_t> a = {100};
  EXPECT_THROW(w.add_document(a.data(), a.size()), Error);
}

TEST(Shard, UnfinishedWriterLeavesNoFile) {
  const std::string d = temp_dir("shard_atomic");
  {
    ShardFileWriter w(d + "/x.bin", spec(100, 99));
    std::vector<int32_t> a = {1, 2};
    w.add_document(a.data(), a.size());
    // destroyed without finish(): as if the run were interrupted
  }
  EXPECT_FALSE(fs::exists(d + "/x.bin"));
  EXPECT_TRUE(fs::is_empty(d));  // the temp file is gone too
}

TEST(Shard, SetSplitsAtMaxTokensAndWritesMeta) {
  const std::string d = temp_dir("shard_set");
  ShardSetWriter w(d, "train", spec(300, 0), 10);
  for (int i = 0; i < 7; ++i) w.add_document(std::vector<int32_t>{1, 2, 3});  // 4 tokens each
  w.add_document(std::vector<int32_t>(25, 7));                                // longer than a shard
  const auto files = w.finish();
  ASSERT_EQ(files.size(), 5u);
  EXPECT_EQ(fs::path(files[0]).filename(), "train_000000.bin");
  EXPECT_EQ(fs::path(files[4]).filename(), "train_000004.bin");
  uint64_t tokens = 0, docs = 0;
  for (const auto& f : files) {
    ShardReader r(f);
    tokens += r.n_tokens();
    docs += r.n_docs();
    if (r.n_docs() > 1) {
      EXPECT_LE(r.n_tokens(), 10u);
    }
  }
  EXPECT_EQ(tokens, 7u * 4 + 26);
  EXPECT_EQ(docs, 8u);
  EXPECT_EQ(w.n_tokens(), tokens);
  EXPECT_EQ(list_shards(d, "train"), files);
  write_shard_meta(d, spec(300, 0), {{"train", {"train_000000.bin"}, tokens, docs}});
  const auto meta = nlohmann::json::parse(read_file(d + "/meta.json"));
  EXPECT_EQ(meta["vocab_size"], 300);
  EXPECT_EQ(meta["tokenizer_fingerprint"], "bpe-0123456789abcdef-extra");
  EXPECT_EQ(meta["splits"]["train"]["n_tokens"], tokens);
}

// A shard write killed before its meta.json leaves new shards beside (or in place of) an
// earlier set's; every file alone is a valid shard, so the set is checked against meta.json.
TEST(Shard, ListingRefusesShardsThatMetaJsonDoesNotDescribe) {
  const std::string d = temp_dir("shard_meta_check");
  auto write_set = [&](int docs, int32_t token) {
    ShardSetWriter w(d, "train", spec(300, 0), 10);
    for (int i = 0; i < docs; ++i) w.add_document(std::vector<int32_t>{token, token, token});
    return w.finish();
  };
  auto expect_refused = [&](const std::string& needle) {
    try {
      list_shards(d, "train");
      ADD_FAILURE() << "accepted; expected an error with: " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("interrupted or mixed write"), std::string::npos) << e.what();
    }
  };
  const auto files = write_set(6, 1);  // 3 shards of 8 tokens
  ASSERT_EQ(files.size(), 3u);
  write_shard_meta(d, spec(300, 0), {{"train", {"train_000000.bin", "train_000001.bin", "train_000002.bin"}, 24, 6}});
  EXPECT_EQ(nlohmann::json::parse(read_file(d + "/meta.json"))["splits"]["train"]["file_tokens"],
            nlohmann::json::array({8, 8, 8}));
  EXPECT_EQ(list_shards(d, "train"), files);

  // A second write killed after its first shard: same name, another token count.
  {
    ShardSetWriter w(d, "train", spec(300, 0), 10);
    w.add_document(std::vector<int32_t>{5, 5});
    w.finish();
  }
  expect_refused("train_000000.bin holds 3 tokens, meta.json says 8");
  write_set(6, 1);
  EXPECT_EQ(list_shards(d, "train"), files);  // the set meta.json describes again

  // A shard meta.json does not list, one it lists that is gone, a split it does not have.
  fs::copy_file(files[0], d + "/train_000007.bin");
  expect_refused("train_000007.bin is not one of the 3 'train' shards it lists");
  fs::remove(d + "/train_000007.bin");
  fs::remove(files[2]);
  expect_refused("lists train_000002.bin, which is missing");
  write_set(6, 1);
  fs::copy_file(files[0], d + "/val_000000.bin");
  try {
    list_shards(d, "val");
    ADD_FAILURE() << "a split meta.json does not list was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("lists no 'val' split"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(list_shards(d, "val-qa").empty());  // no files, nothing to check
}

// The one predicate behind list_shards, the trainer's per-task validation sets and the
// removal of an earlier set's shards: <split>_<digits>.bin, nothing else.
TEST(Shard, ASplitIsReadOnlyFromNamesOfTheWritersForm) {
  EXPECT_EQ(shard_split_of("train_000003.bin"), "train");
  EXPECT_EQ(shard_split_of("val_000000.bin"), "val");
  EXPECT_EQ(shard_split_of("val-qa_000000.bin"), "val-qa");
  EXPECT_EQ(shard_split_of("val-faq_zh_000012.bin"), "val-faq_zh");
  EXPECT_EQ(shard_split_of("train_1234567.bin"), "train");  // past a million shards the name grows
  for (const char* n : {"train_old.bin", "train_.bin", "_000001.bin", "train_000001.bin.bak", "train000001.bin",
                        "train_00000a.bin", "meta.json", ".bin", "train_000001.bin~"})
    EXPECT_EQ(shard_split_of(n), "") << n;
}

TEST(Shard, TruncatedOrForeignFilesGiveErrorsNamingThem) {
  const std::string d = temp_dir("shard_trunc");
  {
    ShardFileWriter w(d + "/t.bin", spec(1000, 999));
    std::vector<int32_t> a(100, 4);
    w.add_document(a.data(), a.size());
    w.finish();
  }
  fs::resize_file(d + "/t.bin", 64 + 50);
  try {
    ShardReader r(d + "/t.bin");
    FAIL() << "truncated shard accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("t.bin"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos);
  }
  write_file_atomic(d + "/foreign.bin", std::string(100, 'x'));
  try {
    ShardReader r(d + "/foreign.bin");
    FAIL() << "foreign file accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("foreign.bin: not a chatforge shard"), std::string::npos);
  }
  write_file_atomic(d + "/short.bin", "CFSHARD");
  EXPECT_THROW(ShardReader(d + "/short.bin"), Error);
  EXPECT_THROW(ShardReader(d + "/missing.bin"), Error);
}

TEST(Shard, ShardSetReadsAcrossShardBoundariesWithMasks) {
  const std::string d = temp_dir("shard_setread");
  ShardSetWriter w(d, "train", spec(500, 499, true), 8);
  std::vector<uint32_t> all;
  std::vector<uint8_t> all_mask;
  for (int doc = 0; doc < 6; ++doc) {
    std::vector<int32_t> t;
    std::vector<uint8_t> m;
    for (int k = 0; k < 3 + doc % 3; ++k) {
      t.push_back(doc * 10 + k);
      m.push_back(static_cast<uint8_t>(k % 2));
    }
    w.add_document(t.data(), t.size(), m.data(), 1);
    for (size_t k = 0; k < t.size(); ++k) {
      all.push_back(static_cast<uint32_t>(t[k]));
      all_mask.push_back(m[k]);
    }
    all.push_back(499);
    all_mask.push_back(1);
  }
  const auto files = w.finish();
  ASSERT_GT(files.size(), 2u);
  ShardSet set(d, "train");
  EXPECT_EQ(set.n_shards(), files.size());
  EXPECT_EQ(set.n_tokens(), all.size());
  EXPECT_EQ(set.n_docs(), 6u);
  std::vector<uint32_t> got(all.size());
  std::vector<uint8_t> got_mask(all.size());
  set.read(0, all.size(), got.data(), got_mask.data());
  EXPECT_EQ(got, all);
  EXPECT_EQ(got_mask, all_mask);
  std::vector<uint32_t> mid(7);
  set.read(5, 7, mid.data());
  EXPECT_EQ(mid, std::vector<uint32_t>(all.begin() + 5, all.begin() + 12));
  EXPECT_THROW(set.read(all.size() - 2, 3, mid.data()), Error);
  // A shard from another tokenizer in the same split is refused by name.
  ShardSpec other = spec(500, 499, true);
  other.tokenizer_fingerprint = "different";
  ShardFileWriter x(d + "/train_999999.bin", other);
  x.finish();
  try {
    ShardSet bad(d, "train");
    FAIL() << "mixed shards accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train_999999.bin: shard does not match"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ShardSet(d, "val"), Error);
}
