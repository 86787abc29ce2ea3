// The reference cache of a preference run (train/reference_cache.h): which rows the run
// can ask the reference for, whether computing them all once costs fewer reference
// forwards than computing them per step, the pass itself (its batches split over the
// ranks, the results exchanged), the file next to the data, and the reference model
// released once every row is cached.
#include <fmt/format.h>

#include <cstdio>
#include <functional>

#include "core/error.h"
#include "core/timer.h"
#include "model/lora_io.h"
#include "train/trainer.h"

namespace chatforge::train {

namespace {

// Calls fn on every B-row batch a run can ask the reference for: one epoch of the training
// shards (rows are keyed by content, so any order covers them) and the batches each
// evaluation reads (the first `eval_batches` of every validation set after a reset).
void for_each_reference_batch(const std::string& data_dir, int B, int T, uint64_t seed,
                              const std::vector<std::pair<ShardLoader*, uint64_t>>& val,
                              const std::function<void(const Batch&)>& fn) {
  ShardLoader train(split_files(data_dir, "train", true), ShardLoader::Mode::kDocuments, B, T, seed);
  Batch b;
  for (uint64_t i = 0, n = (train.rows_per_epoch() + B - 1) / B; i < n; ++i) {
    train.next(b);
    fn(b);
  }
  for (const auto& [vl, n] : val) {
    vl->reset();
    for (uint64_t i = 0; i < n; ++i) {
      vl->next(b);
      fn(b);
    }
    vl->reset();
  }
}

}  // namespace

uint64_t Trainer::eval_batch_count(const ShardLoader& vl) const {
  return std::min<uint64_t>(o_.eval_batches, std::max<uint64_t>(1, vl.rows_per_epoch() / vl.batch_rows()));
}

// The rows the rest of the run computes reference log-probabilities of without a cache.
uint64_t Trainer::reference_rows_per_step_left() const {
  const uint64_t left = static_cast<uint64_t>(std::max(0, o_.steps - step_));
  uint64_t rows = left * accum_ * o_.batch_size * o_.world;
  const uint64_t evals = o_.eval_every > 0 ? (left + o_.eval_every - 1) / o_.eval_every : 0;
  for (const auto& [name, vl] : val_loaders_) rows += evals * eval_batch_count(*vl) * vl->batch_rows();
  return rows;
}

void Trainer::open_reference_cache() {
  CF_CHECK(o_.ref_cache == "auto" || o_.ref_cache == "on" || o_.ref_cache == "off",
           "--ref-cache must be auto, on or off, got '{}'", o_.ref_cache);
  if (o_.ref_cache == "off") return;
  Timer timer;
  model::Gpt& reference = ref_ ? *ref_ : *gpt_;  // with LoRA and no --ref: the frozen base
  const std::string identity = model::lora_base_identity(reference);
  const std::string path = ReferenceCache::path_for(o_.data_dir, identity, o_.seq_len);
  auto cache = std::make_unique<ReferenceCache>();
  std::string why;
  const bool loaded = cache->load(path, identity, o_.seq_len, &why);
  if (!loaded && o_.rank == 0 && why != "no cache yet")
    std::fprintf(stderr, "warning: %s: %s; computing it again\n", path.c_str(), why.c_str());
  std::vector<std::pair<ShardLoader*, uint64_t>> val;
  for (auto& [name, vl] : val_loaders_) val.emplace_back(vl.get(), eval_batch_count(*vl));
  uint64_t missing_batches = 0;
  for_each_reference_batch(o_.data_dir, o_.batch_size, o_.seq_len, o_.seed, val,
                           [&](const Batch& b) { missing_batches += cache->covers(b) ? 0 : 1; });
  const uint64_t pass_rows = missing_batches * o_.batch_size, run_rows = reference_rows_per_step_left();
  if (missing_batches > 0 && o_.ref_cache == "auto" && pass_rows > run_rows) {
    if (o_.rank == 0)
      std::fprintf(stderr, "reference log-probabilities per step (a cache would cost %llu rows of forwards, the run "
                   "needs %llu; --ref-cache on forces it)\n", static_cast<unsigned long long>(pass_rows),
                   static_cast<unsigned long long>(run_rows));
    return;
  }
  fill_reference_cache(*cache, val);
  if (missing_batches > 0 && o_.rank == 0) {
    try {
      make_dirs(o_.data_dir + "/ref_logps");
      cache->save(path, identity, o_.seq_len);
    } catch (const Error& e) {  // a read-only data folder: the cache lives for this run only
      std::fprintf(stderr, "warning: the reference cache stays in memory: %s\n", e.what());
    }
  }
  ref_cache_ = std::move(cache);
  objective_->set_cache(ref_cache_.get());
  const bool released = ref_ != nullptr;
  objective_->set_reference(nullptr);
  ref_.reset();
  if (o_.rank == 0)
    std::fprintf(stderr, "reference log-probabilities: %zu rows in %s (%llu computed now, in %.1f s)%s\n",
                 ref_cache_->size(), path.c_str(), static_cast<unsigned long long>(pass_rows), timer.seconds(),
                 released ? "; the reference model is released" : "");
}

// The pass: batch j with an uncached row goes to rank j % world; each rank's new rows then
// reach every rank.
void Trainer::fill_reference_cache(ReferenceCache& cache, const std::vector<std::pair<ShardLoader*, uint64_t>>& val) {
  const ReferenceCache before = cache;
  std::vector<uint64_t> mine;
  uint64_t j = 0;
  for_each_reference_batch(o_.data_dir, o_.batch_size, o_.seq_len, o_.seed, val, [&](const Batch& b) {
    if (before.covers(b)) return;
    if (static_cast<int>(j++ % o_.world) != o_.rank) return;
    const PreferenceObjective::RowLogps r = objective_->reference_logps(*gpt_, b);
    for (int row = 0; row < b.B; ++row) {
      const uint64_t key = ReferenceCache::row_key(b, row);
      if (before.find(key) != nullptr || cache.find(key) != nullptr) continue;
      cache.put(key, {r.a[row], r.b[row]});
      mine.push_back(key);
    }
  });
  if (o_.world == 1) return;
  const std::vector<uint8_t> own = cache.serialize(mine);
  for (int root = 0; root < o_.world; ++root) {
    uint64_t bytes = root == o_.rank ? own.size() : 0;
    comm_.broadcast(&bytes, sizeof bytes, root);
    std::vector<uint8_t> records = root == o_.rank ? own : std::vector<uint8_t>(bytes);
    comm_.broadcast(records.data(), records.size(), root);
    if (root != o_.rank) cache.merge(records);
  }
}

}  // namespace chatforge::train
