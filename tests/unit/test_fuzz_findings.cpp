// What the fuzzers found (tests/fuzz, docs/fuzzing.md), asserted as behaviour: each input
// that once crashed, overflowed or allocated gigabytes is now a one-line chatforge::Error
// naming the file and field. (ctest fuzz.<target> replays the raw inputs; these tests
// also hold where the bug was undefined behaviour that a plain build would not notice.)
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <filesystem>
#include <string>

#include "core/config_file.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/safetensors.h"
#include "data/mixture.h"
#include "data/shard.h"
#include "eval/eval_items.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer.h"

using namespace chatforge;
using chatforge::testing::error_of;
using chatforge::testing::temp_dir;
namespace fs = std::filesystem;

namespace {

bool finding_has(const std::string& msg, const std::string& part) { return msg.find(part) != std::string::npos; }

// A safetensors file with this JSON header and `data` as the tensor bytes.
std::string safetensors_file(const std::string& header, const std::string& data) {
  const uint64_t n = header.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + header + data;
}

// The 256 byte tokens of a byte-level vocabulary as JSON members, "key": id.
std::string byte_vocab_members() {
  std::string v;
  for (int b = 0; b < 256; ++b)
    v += (b ? ", " : "") + nlohmann::json(tok::bytes_to_unicode(std::string(1, static_cast<char>(b)))).dump() +
         ": " + std::to_string(b);
  return v;
}

std::string tokenizer_json(const std::string& extra_vocab, const std::string& added_tokens) {
  return R"({"model": {"type": "BPE", "vocab": {)" + byte_vocab_members() + extra_vocab +
         R"(}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel"}, "added_tokens": [)" + added_tokens + "]}";
}

}  // namespace

TEST(FuzzFindings, JsonNumbersTooLargeForADoubleAreJsonErrors) {
  const std::string d = temp_dir("fuzz_num");
  write_file_atomic(d + "/tokenizer.json", "1e400");
  const std::string m = error_of([&] { tok::Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_TRUE(finding_has(m, "tokenizer.json: ") && !finding_has(m, "\n")) << m;
  write_file_atomic(d + "/items.jsonl", "{\"prompt\": \"a\", \"answer\": \"b\"}\n{\"x\": 1e400}\n");
  const std::string e = error_of([&] { eval::load_eval_items(d + "/items.jsonl", {}); });
  EXPECT_TRUE(finding_has(e, "items.jsonl:2: ") && !finding_has(e, "\n")) << e;
  fs::remove_all(d);
}

TEST(FuzzFindings, TokenizerIdsFarBeyondTheVocabularyAreErrors) {
  const std::string d = temp_dir("fuzz_ids");
  // One id of 2^24 - 1 in a 257-token file would size every per-id table for 16M ids.
  write_file_atomic(d + "/tokenizer.json", tokenizer_json(R"(, "zz": 16777215)", ""));
  std::string m = error_of([&] { tok::Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_TRUE(finding_has(m, "vocab entry \"zz\" has id 16777215 out of range")) << m;
  write_file_atomic(d + "/tokenizer.json", tokenizer_json("", R"({"id": 8388608, "content": "<|x|>"})"));
  m = error_of([&] { tok::Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_TRUE(finding_has(m, "tokenizer.json: added_tokens[0] has")) << m;
  // Gaps within the limit still load (an unused id is an empty slot).
  write_file_atomic(d + "/tokenizer.json", tokenizer_json(R"(, "zz": 600)", R"({"id": 700, "content": "<|x|>"})"));
  const tok::Tokenizer t = tok::Tokenizer::load(d + "/tokenizer.json");
  EXPECT_EQ(t.vocab_size(), 701);
  EXPECT_EQ(t.decode(t.encode("zz")), "zz");
  fs::remove_all(d);
}

TEST(FuzzFindings, SafetensorsShapesThatOverflowAreErrors) {
  const std::string d = temp_dir("fuzz_st");
  const std::string path = d + "/model.safetensors";
  // 2^32 * 2^32 * 0 wraps int64 on the way (UB) although the product is 0.
  write_file_atomic(path, safetensors_file(R"({"w": {"dtype": "U8", "shape": [4294967296, 4294967296, 0],
                                              "data_offsets": [0, 0]}})", ""));
  std::string m = error_of([&] { SafeTensorsReader r(path); });
  EXPECT_TRUE(finding_has(m, "tensor 'w': shape [4294967296, 4294967296") && finding_has(m, "is too large")) << m;
  // An entry above 2^63-1 used to read as a negative dimension.
  write_file_atomic(path, safetensors_file(R"({"w": {"dtype": "U8", "shape": [18446744073709551615],
                                              "data_offsets": [0, 1]}})", "x"));
  m = error_of([&] { SafeTensorsReader r(path); });
  EXPECT_TRUE(finding_has(m, "tensor 'w': shape entries must be integers")) << m;
  // An empty tensor reads into any buffer, a null one included.
  write_file_atomic(path, safetensors_file(R"({"e": {"dtype": "F32", "shape": [0, 4], "data_offsets": [0, 0]}})", ""));
  const SafeTensorsReader r(path);
  r.read_f32("e", {0, 4}, nullptr);
  fs::remove_all(d);
}

TEST(FuzzFindings, ShardHeaderWithMoreDocumentsThanTokensIsAnError) {
  const std::string d = temp_dir("fuzz_shard");
  data::ShardHeader h{};
  std::memcpy(h.magic, data::kShardMagic, 8);
  h.version = data::kShardVersion;
  h.token_bytes = 2;
  h.n_tokens = 1;
  h.n_docs = uint64_t{1} << 40;  // doc_ends() reserved this many entries
  h.vocab_size = 10;
  std::string file(reinterpret_cast<const char*>(&h), sizeof h);
  file += std::string("\x01\x00", 2);
  write_file_atomic(d + "/train_000000.bin", file);
  const std::string m = error_of([&] { data::ShardReader r(d + "/train_000000.bin"); });
  EXPECT_TRUE(finding_has(m, "train_000000.bin: header claims 1099511627776 documents in 1 tokens")) << m;
  fs::remove_all(d);
}

TEST(FuzzFindings, ConfigNInnerCheckDoesNotOverflow) {
  const std::string d = temp_dir("fuzz_cfg");
  // 4 * 644729616 does not fit an int: the check itself was undefined behaviour.
  write_file_atomic(d + "/config.json", R"({"n_embd": 644729616, "n_inner": 8})");
  const std::string m = error_of([&] { model::load_config(d); });
  EXPECT_TRUE(finding_has(m, "config.json: n_inner other than 4*n_embd is not supported")) << m;
  fs::remove_all(d);
}

TEST(FuzzFindings, ConfigFileEmptyKeyIsAnError) {
  const std::string d = temp_dir("fuzz_flags");
  write_file_atomic(d + "/run.json", R"({"steps": 3, "": null})");
  const std::string m = error_of([&] { read_config_file(d + "/run.json"); });
  EXPECT_TRUE(finding_has(m, "run.json: a key is empty")) << m;
  fs::remove_all(d);
}

TEST(FuzzFindings, MixturesThatWouldRepeatDataBillionsOfTimesAreErrors) {
  const std::string d = temp_dir("fuzz_mix");
  write_file_atomic(d + "/mix.yaml", "- task: a\n  path: a.jsonl\n- task: b\n  path: b\n  epochs: 24294967296\n");
  std::string m = error_of([&] { data::load_mixture(d + "/mix.yaml"); });
  EXPECT_TRUE(finding_has(m, "mix.yaml: task 'b': 'epochs' must be at most 1000")) << m;
  // The largest pool weighing almost nothing: its natural size is 10 * 1e300 rows.
  write_file_atomic(d + "/mix.yaml", "- task: a\n  path: a\n  weight: 1\n- task: b\n  path: b\n  weight: 1e-300\n");
  const auto tasks = data::load_mixture(d + "/mix.yaml");
  m = error_of([&] { data::plan_mixture(tasks, {3, 10}, 0, 1); });
  EXPECT_TRUE(finding_has(m, "task 'b' (the largest) has weight 1e-300")) << m;
  EXPECT_EQ(data::plan_mixture(tasks, {3, 10}, 50, 1).size(), 50u);  // an explicit size still works
  fs::remove_all(d);
}

TEST(FuzzFindings, VocabEntriesSharingAnIdAreErrors) {
  // The fuzzer's case: "r" moved to the id of a merged token, so the merge e + r produced
  // the bytes "r" and encode dropped every 'e' before an 'r' without a word.
  const std::string d = temp_dir("fuzz_dup");
  write_file_atomic(d + "/tokenizer.json", tokenizer_json(R"(, "zz": 97)", ""));
  std::string m = error_of([&] { tok::Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_TRUE(finding_has(m, "vocab entries \"a\" and \"zz\" have the same id 97")) << m;
  write_file_atomic(d + "/tokenizer.json", tokenizer_json(R"(, "": 256)", ""));
  m = error_of([&] { tok::Tokenizer::load(d + "/tokenizer.json"); });
  EXPECT_TRUE(finding_has(m, "vocab entry \"\" (id 256) is empty")) << m;
  fs::remove_all(d);
}

TEST(FuzzFindings, SpecialSpelledLikeARegularTokenSurvivesTheRoundTrip) {
  // The fuzzer's case: vocab "<|im_end|>": 299 next to the added token 298 "<|im_end|>".
  // tokenizer.json written back kept whichever id came first, so the regular token 299
  // vanished and the reloaded tokenizer differed.
  const std::string d = temp_dir("fuzz_special_spelling");
  write_file_atomic(d + "/tokenizer.json",
                    tokenizer_json(R"(, "<|x|>": 258)", R"({"id": 257, "content": "<|x|>", "special": true})"));
  const tok::Tokenizer t = tok::Tokenizer::load(d + "/tokenizer.json");
  ASSERT_EQ(t.vocab_size(), 259);
  write_file_atomic(d + "/again.json", t.to_hf_json());
  const tok::Tokenizer again = tok::Tokenizer::load(d + "/again.json");
  EXPECT_EQ(again.vocab_size(), 259);
  EXPECT_EQ(again.token_bytes(258), "<|x|>");
  EXPECT_EQ(again.fingerprint(), t.fingerprint());
  EXPECT_EQ(again.encode("a<|x|>b", true), t.encode("a<|x|>b", true));
  fs::remove_all(d);
}
