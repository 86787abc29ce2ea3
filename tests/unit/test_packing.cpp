// Packed SFT rows end to end below the CLI: first-fit packing, the version-2 shard row
// table, the documents loader's doc ids / positions / masks, and the model giving a packed
// document exactly what it gives the same document alone (logits, loss, gradients).
#include <gtest/gtest.h>

#include "fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "data/row_packing.h"
#include "data/shard.h"
#include "model/gpt.h"
#include "train/loader.h"

using namespace chatforge;
using chatforge::testing::temp_dir;

namespace {

data::ShardSpec masked_spec() {
  data::ShardSpec s;
  s.vocab_size = 50;
  s.eot_id = 0;
  s.tokenizer_fingerprint = "test-tokenizer";
  s.has_mask = true;
  return s;
}

model::GptConfig tiny_packing_config() { return chatforge::testing::tiny_config({.context = 32}); }

using chatforge::testing::error_of;

struct PackedDoc {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;
};

// Random documents of the given lengths (eot excluded), ids 1..49, mask mostly 1.
std::vector<PackedDoc> random_docs(const std::vector<int>& lengths, uint64_t seed) {
  Rng rng(seed);
  std::vector<PackedDoc> docs;
  for (int n : lengths) {
    PackedDoc d;
    for (int i = 0; i < n; ++i) {
      d.ids.push_back(1 + static_cast<int32_t>(rng.below(49)));
      d.mask.push_back(rng.uniform() < 0.8 ? 1 : 0);
    }
    docs.push_back(std::move(d));
  }
  return docs;
}

}  // namespace

TEST(Packing, FirstFitExampleAndEdgeCases) {
  using V = std::vector<std::vector<uint32_t>>;
  EXPECT_EQ(data::pack_first_fit({6, 5, 3, 2, 4}, 8), (V{{0, 3}, {1, 2}, {4}}));
  EXPECT_EQ(data::pack_first_fit({}, 8), V{});
  EXPECT_EQ(data::pack_first_fit({8, 8, 1}, 8), (V{{0}, {1}, {2}}));
  EXPECT_EQ(data::pack_first_fit({1, 1, 1, 1}, 2), (V{{0, 1}, {2, 3}}));
  EXPECT_NE(error_of([] { data::pack_first_fit({3, 9}, 8); }).find("document 1 has 9 tokens"), std::string::npos);
  // matches a plain O(n * rows) first-fit on random lengths, and never overfills a row
  Rng rng(3);
  std::vector<uint64_t> lengths(500);
  for (auto& l : lengths) l = 1 + rng.below(100);
  const auto rows = data::pack_first_fit(lengths, 128);
  std::vector<uint64_t> used;
  std::vector<std::vector<uint32_t>> naive;
  for (uint32_t d = 0; d < lengths.size(); ++d) {
    size_t r = 0;
    while (r < used.size() && used[r] + lengths[d] > 128) ++r;
    if (r == used.size()) {
      used.push_back(0);
      naive.emplace_back();
    }
    used[r] += lengths[d];
    naive[r].push_back(d);
  }
  EXPECT_EQ(rows, naive);
  EXPECT_NEAR(data::padding_fraction(96, 1, 128), 0.25, 1e-12);
}

TEST(Packing, ShardRowTableRoundTripAndErrors) {
  const std::string d = temp_dir("pack_shard");
  data::ShardSetWriter w(d, "train", masked_spec(), 12);  // 12 tokens per file: rows never split
  const auto docs = random_docs({3, 2, 1, 4, 5}, 1);
  auto add = [&](std::initializer_list<int> idx) {
    uint64_t n = 0;
    for (int i : idx) n += docs[i].ids.size() + 1;
    w.begin_row(n);
    for (int i : idx) w.add_document(docs[i].ids.data(), docs[i].ids.size(), docs[i].mask.data(), 0);
    w.end_row();
  };
  add({0, 1, 2});  // 9 tokens
  add({3});        // 5: would pass 12 -> a new file
  add({4});        // 6 -> 11 in the second file
  const auto files = w.finish();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(w.n_rows(), 3u);
  data::ShardReader a(files[0]), b(files[1]);
  EXPECT_EQ(a.header().version, data::kShardVersionPacked);
  EXPECT_TRUE(a.packed());
  EXPECT_EQ(a.n_rows(), 1u);
  EXPECT_EQ(a.row_end_doc(0), 3u);
  EXPECT_EQ(b.n_rows(), 2u);
  EXPECT_EQ(b.row_first_doc(1), 1u);
  EXPECT_EQ(b.row_end_doc(1), 2u);
  // a plain shard stays version 1: one row per document
  data::ShardFileWriter plain(d + "/plain.bin", masked_spec());
  plain.add_document(docs[0].ids.data(), docs[0].ids.size(), docs[0].mask.data(), 0);
  plain.finish();
  data::ShardReader p(d + "/plain.bin");
  EXPECT_EQ(p.header().version, 1u);
  EXPECT_FALSE(p.packed());
  EXPECT_EQ(p.n_rows(), 1u);
  // a row table that does not cover the documents names the file
  std::string bytes = read_file(files[1]);
  const uint64_t bad = 1;
  std::memcpy(bytes.data() + bytes.size() - 8, &bad, 8);
  write_file_atomic(d + "/bad.bin", bytes);
  const std::string e = error_of([&] { data::ShardReader r(d + "/bad.bin"); });
  EXPECT_NE(e.find("bad.bin"), std::string::npos) << e;
  EXPECT_NE(e.find("row table"), std::string::npos) << e;
}

TEST(Packing, LoaderGivesDocIdsPositionsAndCutsTargetsAtBoundaries) {
  const std::string d = temp_dir("pack_loader");
  data::ShardSetWriter w(d, "train", masked_spec(), 1000);
  const std::vector<int32_t> a = {1, 2, 3}, b = {4, 5};
  const std::vector<uint8_t> am = {1, 0, 1}, bm = {1, 1};
  w.begin_row(7);
  w.add_document(a.data(), a.size(), am.data(), 1);  // eot_mask 1: predicting its own eot counts
  w.add_document(b.data(), b.size(), bm.data(), 1);
  w.end_row();
  const auto files = w.finish();
  train::ShardLoader loader(files, train::ShardLoader::Mode::kDocuments, 1, 8, 7);
  EXPECT_TRUE(loader.packed());
  EXPECT_EQ(loader.rows_per_epoch(), 1u);
  train::Batch batch;
  loader.next(batch);
  // row: 1 2 3 eot | 4 5 eot | pad
  EXPECT_EQ(batch.inputs, (std::vector<int32_t>{1, 2, 3, 0, 4, 5, 0, 0}));
  EXPECT_EQ(batch.doc, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 2}));
  EXPECT_EQ(batch.pos, (std::vector<int32_t>{0, 1, 2, 3, 0, 1, 2, 0}));
  EXPECT_EQ(batch.targets, (std::vector<int32_t>{2, 3, 0, 0, 5, 0, 0, 0}));
  // targets 2 (mask 0), 3, own eot (1); the eot slot never predicts the next document (0)
  EXPECT_EQ(batch.mask, (std::vector<uint8_t>{0, 1, 1, 0, 1, 1, 0, 0}));
  // a shorter --seq-len cuts the row
  train::ShardLoader cut(files, train::ShardLoader::Mode::kDocuments, 1, 5, 7);
  cut.next(batch);
  EXPECT_EQ(batch.inputs, (std::vector<int32_t>{1, 2, 3, 0, 4}));
  EXPECT_EQ(batch.mask, (std::vector<uint8_t>{0, 1, 1, 0, 1}));
  // pretraining loaders refuse packed shards
  const std::string e = error_of([&] { train::ShardLoader(files, train::ShardLoader::Mode::kRandom, 1, 4, 7); });
  EXPECT_NE(e.find("documents loader"), std::string::npos) << e;
}

TEST(Packing, PackedRowGivesSameLogitsAndGradientsAsSeparateRows) {
  // three documents in one row of 16 vs three padded rows of 7; sum of losses, dloss = 1
  const std::vector<int> lengths = {5, 7, 4};
  const int Tp = 16, Ts = 7, nd = 3;
  Rng rng(9);
  std::vector<int32_t> inp_p(Tp), tgt_p(Tp), doc(Tp), pos(Tp);
  std::vector<uint8_t> mask_p(Tp);
  std::vector<int32_t> inp_s(nd * Ts, 0), tgt_s(nd * Ts, 0);
  std::vector<uint8_t> mask_s(nd * Ts, 0);
  std::vector<std::pair<int, int>> where;  // packed slot -> separate slot
  for (int k = 0, t = 0; k < nd; ++k)
    for (int u = 0; u < lengths[k]; ++u, ++t) {
      const int32_t id = static_cast<int32_t>(rng.below(50)), target = static_cast<int32_t>(rng.below(50));
      const uint8_t m = rng.uniform() < 0.8 ? 1 : 0;
      inp_p[t] = inp_s[k * Ts + u] = id;
      tgt_p[t] = tgt_s[k * Ts + u] = target;
      mask_p[t] = mask_s[k * Ts + u] = m;
      doc[t] = 10 * k + 3;
      pos[t] = u;
      where.emplace_back(t, k * Ts + u);
    }
  model::Gpt packed(tiny_packing_config()), separate(tiny_packing_config());
  packed.init_weights(5);
  separate.init_weights(5);
  const double lp = packed.forward_loss(inp_p.data(), tgt_p.data(), mask_p.data(), 1, Tp, {doc.data(), pos.data()});
  const double ls = separate.forward_loss(inp_s.data(), tgt_s.data(), mask_s.data(), nd, Ts);
  EXPECT_NEAR(lp, ls, 1e-5 * std::fabs(ls));
  const int Vp = tiny_packing_config().padded_vocab_size();
  double worst = 0;
  for (auto [tp, ts] : where)
    for (int v = 0; v < tiny_packing_config().vocab_size; ++v)
      worst = std::max(worst, static_cast<double>(std::fabs(packed.activations().logits[tp * Vp + v] -
                                                             separate.activations().logits[ts * Vp + v])));
  EXPECT_LT(worst, 1e-5) << "logits";
  packed.zero_grad();
  separate.zero_grad();
  packed.backward(1.0f);
  separate.backward(1.0f);
  for (const auto& t : packed.layout().tensors()) {
    const float* gp = packed.grads().data() + t.offset;
    const float* gs = separate.grads().data() + t.offset;
    double err = 0, mag = 0;
    for (size_t i = 0; i < t.numel(); ++i) {
      err = std::max(err, static_cast<double>(std::fabs(gp[i] - gs[i])));
      mag = std::max(mag, static_cast<double>(std::fabs(gs[i])));
    }
    EXPECT_LT(err, 1e-5 * std::max(1.0, mag)) << t.name << " (max |grad| " << mag << ")";
  }
  // without the layout the documents would see each other: the logits of the 2nd differ
  packed.forward(inp_p.data(), 1, Tp);
  const auto [tp, ts] = where[lengths[0] + 2];
  EXPECT_GT(std::fabs(packed.activations().logits[tp * Vp] - separate.activations().logits[ts * Vp]), 1e-4);
}

TEST(Packing, PackedBatchLossEqualsUnpackedThroughTheLoader) {
  // the same conversations written plain and packed; the loader + model give the same
  // per-token losses (as a multiset: the rows are shuffled differently) and the same sum
  const std::string d = temp_dir("pack_equal");
  const auto docs = random_docs({5, 3, 9, 2, 6, 4, 1, 7}, 2);
  const int row_tokens = 16, T = row_tokens - 1;
  data::ShardSetWriter plain(d + "/plain", "train", masked_spec(), 1 << 20);
  data::ShardSetWriter packed(d + "/packed", "train", masked_spec(), 1 << 20);
  std::vector<uint64_t> lengths;
  for (const auto& doc : docs) {
    plain.add_document(doc.ids.data(), doc.ids.size(), doc.mask.data(), 0);
    lengths.push_back(doc.ids.size() + 1);
  }
  const auto rows = data::pack_first_fit(lengths, row_tokens);
  for (const auto& row : rows) {
    uint64_t n = 0;
    for (uint32_t i : row) n += lengths[i];
    packed.begin_row(n);
    for (uint32_t i : row) packed.add_document(docs[i].ids.data(), docs[i].ids.size(), docs[i].mask.data(), 0);
    packed.end_row();
  }
  const auto plain_files = plain.finish(), packed_files = packed.finish();
  ASSERT_LT(rows.size(), docs.size());
  auto run = [&](const std::vector<std::string>& files, int B, double& sum) {
    train::ShardLoader loader(files, train::ShardLoader::Mode::kDocuments, B, T, 11);
    EXPECT_EQ(loader.rows_per_epoch(), static_cast<uint64_t>(B));
    train::Batch batch;
    loader.next(batch);
    model::Gpt m(tiny_packing_config());
    m.init_weights(3);
    sum = m.forward_loss(batch.inputs.data(), batch.targets.data(), batch.mask.data(), B, T,
                         {batch.doc_ids(), batch.positions()});
    std::vector<float> losses;
    for (int i = 0; i < B * T; ++i)
      if (batch.mask[i]) losses.push_back(m.activations().losses[i]);
    std::sort(losses.begin(), losses.end());
    return losses;
  };
  double sum_plain = 0, sum_packed = 0;
  const auto lp = run(plain_files, static_cast<int>(docs.size()), sum_plain);
  const auto lk = run(packed_files, static_cast<int>(rows.size()), sum_packed);
  ASSERT_EQ(lp.size(), lk.size());
  ASSERT_GT(lp.size(), 10u);
  for (size_t i = 0; i < lp.size(); ++i) EXPECT_NEAR(lp[i], lk[i], 1e-5) << i;
  EXPECT_NEAR(sum_plain, sum_packed, 1e-5 * sum_plain);
}
