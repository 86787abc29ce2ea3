// The reference cache (train/reference_cache.h): a row's key follows its content and not
// its place in a batch; the file round-trips the values bit for bit and is refused (not an
// error: rebuilt) when made for another reference or row length or torn; ranks' records
// merge; and the preference objective takes a covered micro-batch's reference
// log-probabilities from the cache (no reference model needed) and says clearly when it
// can neither find nor compute them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/file_io.h"
#include "model/gpt.h"
#include "test_util.h"
#include "train/preference_step.h"
#include "train/reference_cache.h"

using namespace chatforge;
using train::Batch;
using train::ReferenceCache;

namespace {

// B packed rows of T tokens: document 0 (chosen) then document 1 (rejected), row r's
// tokens shifted by `salt + r`.
Batch pref_batch(int B, int T, int salt) {
  Batch b;
  b.B = B, b.T = T;
  for (int r = 0; r < B; ++r)
    for (int t = 0; t < T; ++t) {
      b.inputs.push_back((t * 7 + salt + r) % 40);
      b.targets.push_back((t * 11 + 3 + salt + r) % 40);
      b.mask.push_back(t % T == 0 || t == T / 2 ? 0 : 1);
      b.doc.push_back(t < T / 2 ? 0 : 1);
      b.pos.push_back(t < T / 2 ? t : t - T / 2);
    }
  return b;
}

}  // namespace

TEST(ReferenceCache, KeyFollowsTheRowsContentNotItsPlace) {
  const Batch two = pref_batch(2, 8, 0), one = pref_batch(1, 8, 1);  // one's row 0 == two's row 1
  EXPECT_EQ(ReferenceCache::row_key(two, 1), ReferenceCache::row_key(one, 0));
  EXPECT_NE(ReferenceCache::row_key(two, 0), ReferenceCache::row_key(two, 1));
  const uint64_t k = ReferenceCache::row_key(one, 0);
  for (int field = 0; field < 5; ++field) {
    Batch c = one;
    if (field == 0) c.inputs[3] ^= 1;
    if (field == 1) c.targets[3] ^= 1;
    if (field == 2) c.mask[3] ^= 1;
    if (field == 3) c.doc[3] ^= 1;
    if (field == 4) c.pos[3] += 1;
    EXPECT_NE(ReferenceCache::row_key(c, 0), k) << "field " << field;
  }
}

TEST(ReferenceCache, FileRoundTripsAndRefusesAnotherReference) {
  const std::string dir = chatforge::testing::temp_dir("refcache");
  const std::string path = ReferenceCache::path_for(dir, "gpt2 L1 #ab", 64);
  EXPECT_NE(path, ReferenceCache::path_for(dir, "gpt2 L1 #ac", 64));
  EXPECT_NE(path, ReferenceCache::path_for(dir, "gpt2 L1 #ab", 65));
  ReferenceCache c;
  c.put(7, {-1.25, -3.0 / 7.0});
  c.put(9, {-0.1, -1e-300});
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  c.save(path, "gpt2 L1 #ab", 64);
  ReferenceCache d;
  std::string why;
  ASSERT_TRUE(d.load(path, "gpt2 L1 #ab", 64, &why)) << why;
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d.find(7)->b, -3.0 / 7.0);  // bit for bit
  EXPECT_EQ(d.find(9)->b, -1e-300);
  EXPECT_EQ(d.find(8), nullptr);
  EXPECT_FALSE(d.load(path, "gpt2 L1 #ac", 64, &why));
  EXPECT_NE(why.find("another reference"), std::string::npos) << why;
  EXPECT_EQ(d.size(), 0u);
  EXPECT_FALSE(d.load(path, "gpt2 L1 #ab", 32, &why));
  std::string bytes = read_file(path);
  write_file_atomic(path, bytes.substr(0, bytes.size() - 5));  // torn
  EXPECT_FALSE(d.load(path, "gpt2 L1 #ab", 64, &why));
  EXPECT_NE(why.find("bytes of rows"), std::string::npos) << why;
  write_file_atomic(path, "not a cache");
  EXPECT_FALSE(d.load(path, "gpt2 L1 #ab", 64, &why));
  EXPECT_FALSE(d.load(dir + "/none.bin", "gpt2 L1 #ab", 64, &why));
  std::filesystem::remove_all(dir);
}

TEST(ReferenceCache, RanksRecordsMerge) {
  ReferenceCache a, b;
  a.put(1, {-1, -2});
  a.put(2, {-3, -4});
  b.merge(a.serialize({2}));
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(b.find(2)->a, -3);
  EXPECT_EQ(b.find(1), nullptr);
  EXPECT_THROW(b.merge(std::vector<uint8_t>(5)), Error);
}

TEST(ReferenceCache, ObjectiveTakesCoveredBatchesFromTheCache) {
  model::GptConfig c;
  c.n_layer = 1, c.n_head = 2, c.n_embd = 16, c.vocab_size = 40, c.n_ctx = 16;
  model::Gpt policy(c), reference(c);
  policy.init_weights(3);
  reference.init_weights(4);
  train::PreferenceLossConfig lc;
  lc.loss = "sigmoid";
  lc.beta = 0.5;
  train::PreferenceObjective obj("dpo", lc, &reference);
  const Batch b = pref_batch(2, 8, 0);
  const auto from_model = obj.reference_logps(policy, b);
  ReferenceCache cache;  // values the reference model would not give
  for (int r = 0; r < b.B; ++r) cache.put(ReferenceCache::row_key(b, r), {from_model.a[r] - 1, from_model.b[r] + 2});
  obj.set_cache(&cache);
  obj.set_reference(nullptr);  // released: the cache alone answers
  const auto cached = obj.reference_logps(policy, b);
  for (int r = 0; r < b.B; ++r) {
    EXPECT_EQ(cached.a[r], from_model.a[r] - 1);
    EXPECT_EQ(cached.b[r], from_model.b[r] + 2);
  }
  // the loss uses them: DPO's chosen reward is beta (policy - reference) of document 0
  train::PreferenceObjective same("dpo", lc, &policy);
  const auto pol = same.reference_logps(policy, b);  // the policy's own log-probs
  obj.forward(policy, b);
  const double want = lc.beta * ((pol.a[0] - cached.a[0]) + (pol.a[1] - cached.a[1])) / 2;
  EXPECT_NEAR(obj.metrics().means("dpo").at("rewards/chosen"), want, 1e-9 * (1 + std::fabs(want)));
  // a batch the cache lacks, with no model to compute it: a clear error
  const std::string e = chatforge::testing::error_of([&] { obj.reference_logps(policy, pref_batch(2, 8, 5)); });
  EXPECT_NE(e.find("neither cached nor computable"), std::string::npos) << e;
}
