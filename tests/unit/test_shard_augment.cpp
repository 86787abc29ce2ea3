// data::augment_shards (`data augment`): noised train documents from pretraining shards,
// validation copied byte for byte, counts that agree with what was written, seeded
// determinism, and one-line errors for masked (SFT) shards, another tokenizer's shards
// and no noise asked for.
#include <gtest/gtest.h>

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "data/shard.h"
#include "data/shard_augment.h"
#include "shard_docs.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"

using namespace chatforge;
using namespace chatforge::data;
using chatforge::testing::error_of;
using chatforge::testing::read_split_docs;
using chatforge::testing::temp_dir;

namespace {

struct AugmentFixture {
  std::string dir;
  ShardAugmentOptions options;
  std::vector<std::vector<int32_t>> train, val;

  explicit AugmentFixture(const std::string& name) : dir(temp_dir("shard_augment_" + name)) {
    tok::TrainOptions t;
    t.vocab_size = 300;
    t.progress = false;
    std::string text;
    for (int i = 0; i < 20; ++i) text += "The quick brown fox " + std::to_string(i) + " jumps over the lazy dog.\n";
    const tok::Tokenizer tk = tok::train_bpe_on_text(text, t);
    tk.save(dir + "/tok");
    ShardSpec spec;
    spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
    spec.eot_id = tk.eot_id();
    spec.tokenizer_fingerprint = tk.fingerprint();
    ShardSetWriter tw(dir + "/in", "train", spec, 100), vw(dir + "/in", "val", spec, 1000);
    for (int i = 0; i < 30; ++i) {
      train.push_back(tk.encode("The quick brown fox " + std::to_string(i) + " jumps over the lazy dog."));
      tw.add_document(train.back());
    }
    val.push_back(tk.encode("A lazy dog."));
    vw.add_document(val.back());
    std::vector<ShardSplitSummary> splits(2);
    splits[0].split = "train";
    splits[1].split = "val";
    for (const auto& p : tw.finish()) splits[0].files.push_back(std::filesystem::path(p).filename().string());
    for (const auto& p : vw.finish()) splits[1].files.push_back(std::filesystem::path(p).filename().string());
    write_shard_meta(dir + "/in", spec, splits);
    options.tokenizer = dir + "/tok";
    options.input = dir + "/in";
    options.out = dir + "/out";
    options.noise.delete_rate = 0.2;
    options.noise.mask_rate = 0.2;
    options.seed = 5;
    options.progress = false;
  }
  ~AugmentFixture() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST(ShardAugment, NoisedTrainCleanValCountsAndMeta) {
  AugmentFixture f("counts");
  f.options.keep_original = true;
  const ShardAugmentResult r = augment_shards(f.options);
  const auto out = read_split_docs(f.options.out, "train");
  ASSERT_EQ(out.size(), 2 * f.train.size());  // each clean copy, then its noised copy
  uint64_t tokens = 0, deleted = 0, masked = 0;
  const int32_t mask_id = tok::Tokenizer::load(f.options.tokenizer).encode("_")[0];
  for (size_t i = 0; i < f.train.size(); ++i) {
    EXPECT_EQ(out[2 * i], f.train[i]) << "the clean copy comes first, unchanged";
    const auto& noised = out[2 * i + 1];
    ASSERT_LE(noised.size(), f.train[i].size());
    deleted += f.train[i].size() - noised.size();
    for (int32_t id : noised) masked += id == mask_id;
    tokens += out[2 * i].size() + noised.size() + 2;  // + the two separators
  }
  EXPECT_EQ(r.train_docs, out.size());
  EXPECT_EQ(r.train_tokens, tokens);
  EXPECT_EQ(r.noise.deleted, deleted);
  EXPECT_GE(masked, r.noise.masked);  // the text may hold "_" itself; every masked token is one
  EXPECT_GT(r.noise.deleted + r.noise.masked, 0u);
  EXPECT_EQ(read_split_docs(f.options.out, "val"), f.val);
  for (const auto& p : list_shards(f.options.input, "val"))
    EXPECT_EQ(read_file(p), read_file(f.options.out + "/" + std::filesystem::path(p).filename().string()));
  EXPECT_EQ(r.val_docs, 1u);
  const auto meta = nlohmann::json::parse(read_file(f.options.out + "/meta.json"));
  EXPECT_EQ(meta["augment"]["deleted"].get<uint64_t>(), r.noise.deleted);
  EXPECT_EQ(meta["augment"]["masked"].get<uint64_t>(), r.noise.masked);
  EXPECT_TRUE(meta["augment"]["keep_original"].get<bool>());
  EXPECT_EQ(format_shard_augment_summary(r, "OUT").substr(0, 7), "train: ");
}

TEST(ShardAugment, SeededDeterminism) {
  AugmentFixture f("seed");
  augment_shards(f.options);
  const auto a = read_split_docs(f.options.out, "train");
  f.options.out = f.dir + "/out2";
  augment_shards(f.options);
  EXPECT_EQ(read_split_docs(f.options.out, "train"), a);
  f.options.out = f.dir + "/out3";
  f.options.seed = 6;
  augment_shards(f.options);
  EXPECT_NE(read_split_docs(f.options.out, "train"), a);
}

TEST(ShardAugment, BadInputsAreOneLineErrors) {
  AugmentFixture f("errors");
  ShardAugmentOptions o = f.options;
  o.noise = {};
  EXPECT_NE(error_of([&] { augment_shards(o); }).find("give at least one of --mask-rate"), std::string::npos);
  // the input directory however it is spelled (writing there would clobber the shards being read)
  const std::string in = f.options.input, parent = std::filesystem::path(in).parent_path().string();
  std::filesystem::create_directory_symlink(in, parent + "/link_to_input");
  for (const std::string& out : {in, in + "/", in + "/.", parent + "/../" +
       std::filesystem::path(parent).filename().string() + "/" + std::filesystem::path(in).filename().string(),
       parent + "/link_to_input"}) {
    o = f.options;
    o.out = out;
    EXPECT_NE(error_of([&] { augment_shards(o); }).find("--out must differ from --input"), std::string::npos) << out;
  }
  o = f.options;
  o.mask_token = "brown fox jumps";
  EXPECT_NE(error_of([&] { augment_shards(o); }).find("--mask-token 'brown fox jumps' is"), std::string::npos);
  // shards made with another tokenizer
  tok::TrainOptions t;
  t.vocab_size = 280;
  t.progress = false;
  tok::train_bpe_on_text("Completely different text for another vocabulary.\n", t).save(f.dir + "/tok2");
  o = f.options;
  o.tokenizer = f.dir + "/tok2";
  EXPECT_NE(error_of([&] { augment_shards(o); }).find("was made with another tokenizer"), std::string::npos);
  // SFT shards (with a loss mask) belong to `data chat`
  const tok::Tokenizer tk = tok::Tokenizer::load(f.options.tokenizer);
  ShardSpec spec;
  spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
  spec.eot_id = tk.eot_id();
  spec.tokenizer_fingerprint = tk.fingerprint();
  spec.has_mask = true;
  ShardSetWriter w(f.dir + "/sft", "train", spec, 1000);
  const std::vector<int32_t> ids = tk.encode("The quick brown fox.");
  const std::vector<uint8_t> mask(ids.size(), 1);
  w.add_document(ids.data(), ids.size(), mask.data(), 0);
  w.finish();
  o = f.options;
  o.input = f.dir + "/sft";
  EXPECT_NE(error_of([&] { augment_shards(o); }).find("has a loss mask (SFT data)"), std::string::npos);
}
