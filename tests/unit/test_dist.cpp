// Data-parallel building blocks without MPI: shard splits, the one-rank communicator,
// the gradient bucketing (which ranges it sends, in how many messages), the per-layer
// backward hook, and ZeRO-1's sliced AdamW update (two slices == one full update,
// including weight decay on tensors cut by a slice edge). The MPI side is checked by
// tests/scripts/ddp_*.sh under mpirun.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "fixtures.h"
#include "core/rng.h"
#include "dist/comm.h"
#include "dist/grad_reducer.h"
#include "model/gpt.h"
#include "train/adamw.h"

namespace chatforge {
namespace {

TEST(Dist, ShardCountsAreBalancedAndCoverAll) {
  EXPECT_EQ(dist::shard_counts(10, 3), (std::vector<size_t>{4, 3, 3}));
  EXPECT_EQ(dist::shard_counts(4, 4), (std::vector<size_t>{1, 1, 1, 1}));
  EXPECT_EQ(dist::shard_counts(2, 3), (std::vector<size_t>{1, 1, 0}));
  EXPECT_EQ(dist::shard_counts(7, 1), (std::vector<size_t>{7}));
}

TEST(Dist, PlainProcessIsOneLocalRank) {
  // ctest runs without a launcher: no MPI, one rank
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) unsetenv(v);
  EXPECT_FALSE(dist::launched_as_rank());
  auto comm = dist::make_comm();
  EXPECT_EQ(comm->backend(), "local");
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->world(), 1);
  std::vector<float> x{1, 2, 3};
  comm->all_reduce_sum(x.data(), x.size());
  comm->all_reduce_sum_async(x.data(), x.size())->wait();
  EXPECT_EQ(x, (std::vector<float>{1, 2, 3}));  // the sum over one rank is itself
}

// Records the all-reduces a GradReducer starts (offset, n), summing nothing.
class RecordingComm final : public dist::Comm {
 public:
  std::vector<std::pair<size_t, size_t>> calls;
  float* base = nullptr;
  int rank() const override { return 0; }
  int world() const override { return 2; }
  std::string backend() const override { return "recording"; }
  void all_reduce_sum(float*, size_t) override {}
  void all_reduce_sum(double*, size_t) override {}
  std::unique_ptr<dist::Request> all_reduce_sum_async(float* p, size_t n) override {
    calls.emplace_back(static_cast<size_t>(p - base), n);
    return dist::LocalComm().all_reduce_sum_async(p, n);
  }
  void reduce_scatter_sum(float*, const std::vector<size_t>&) override {}
  void all_gather(float*, const std::vector<size_t>&) override {}
  void broadcast(void*, size_t, int) override {}
  void barrier() override {}
};

TEST(Dist, GradReducerMergesAdjacentRangesIntoBuckets) {
  std::vector<float> arena(100);
  RecordingComm comm;
  comm.base = arena.data();
  dist::GradReducer r(comm, arena.data(), 25);
  // a stacked tensor at 40..100 (3 layers of 20) finishing last layer first, plus 0..40
  r.ready(80, 20);  // layer 2: pending 20 < 25
  EXPECT_TRUE(comm.calls.empty());
  r.ready(60, 20);  // layer 1 merges: 60..100 = 40 >= 25 -> one message
  ASSERT_EQ(comm.calls.size(), 1u);
  EXPECT_EQ(comm.calls[0], (std::pair<size_t, size_t>{60, 40}));
  r.ready(40, 20);
  r.ready(0, 10);  // not adjacent to 40: a second range in the same bucket
  ASSERT_EQ(comm.calls.size(), 3u);
  EXPECT_EQ(comm.calls[1], (std::pair<size_t, size_t>{40, 20}));
  EXPECT_EQ(comm.calls[2], (std::pair<size_t, size_t>{0, 10}));
  r.ready(10, 30);  // 10..40
  r.finish();
  ASSERT_EQ(comm.calls.size(), 4u);
  EXPECT_EQ(comm.calls[3], (std::pair<size_t, size_t>{10, 30}));
  size_t covered = 0;
  for (auto& c : comm.calls) covered += c.second;
  EXPECT_EQ(covered, arena.size());
}

model::GptConfig tiny_dist_config() { return testing::tiny_config({.layers = 3}); }

TEST(Dist, BackwardReportsEachLayerOnceLastFirstWithoutChangingGradients) {
  model::Gpt a(tiny_dist_config()), b(tiny_dist_config());
  a.init_weights(1);
  b.init_weights(1);
  std::vector<int32_t> inp{1, 2, 3, 4, 5, 6, 7, 8}, tgt{2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<uint8_t> mask(8, 1);
  std::vector<int> order;
  b.on_layer_grads_done = [&](int l) { order.push_back(l); };
  for (model::Gpt* m : {&a, &b}) {
    m->zero_grad();
    m->forward_loss(inp.data(), tgt.data(), mask.data(), 1, 8);
    m->backward(1.0f / 8);
  }
  EXPECT_EQ(order, (std::vector<int>{2, 1, 0}));
  for (size_t i = 0; i < a.grads().size(); ++i) ASSERT_EQ(a.grads().data()[i], b.grads().data()[i]) << i;
}

TEST(Dist, ShardedAdamWEqualsFullUpdate) {
  model::Gpt full(tiny_dist_config()), split(tiny_dist_config());
  full.init_weights(3);
  split.init_weights(3);
  Rng rng(5);
  for (size_t i = 0; i < full.grads().size(); ++i) full.grads().data()[i] = split.grads().data()[i] = rng.normal() * 0.1f;
  train::AdamWConfig cfg;
  cfg.weight_decay = 0.1f;
  train::AdamW one(full, cfg);
  // two "ranks" whose slice edge cuts a matmul weight (decayed) in the middle
  const auto& qkvw = full.layout().find("qkvw");
  const size_t cut = qkvw.offset + qkvw.numel() / 2 + 7, n = full.params().size();
  train::AdamW r0(split, cfg), r1(split, cfg);
  r0.shard(0, cut);
  r1.shard(cut, n);
  EXPECT_EQ(r0.m().size() + r1.m().size(), n);
  const float norm = train::grad_norm(full);
  for (int step = 0; step < 3; ++step) {
    one.update(full, 1e-2f);
    r0.update(split, 1e-2f, norm);
    r1.update(split, 1e-2f, norm);
  }
  for (size_t i = 0; i < n; ++i) ASSERT_EQ(full.params().data()[i], split.params().data()[i]) << i;
  for (size_t i = 0; i < cut; ++i) ASSERT_EQ(one.m().data()[i], r0.m().data()[i]);
  for (size_t i = cut; i < n; ++i) ASSERT_EQ(one.v().data()[i], r1.v().data()[i - cut]);
}

}  // namespace
}  // namespace chatforge
