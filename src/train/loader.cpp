// Implementation of loader.h.
#include "train/loader.h"

#include <algorithm>

#include <climits>

#include "core/error.h"
#include "train/saved_fields.h"

namespace chatforge::train {

uint64_t Batch::mask_count() const {
  uint64_t n = 0;
  for (uint8_t m : mask) n += m;
  return n;
}

std::vector<std::string> split_files(const std::string& dir, const std::string& split, bool required) {
  CF_CHECK(is_directory(dir), "data directory {} does not exist", dir);
  auto files = data::list_shards(dir, split);
  CF_CHECK(!files.empty() || !required, "{} has no {}_*.bin shards (make them with `chatforge data tokenize` or "
           "`chatforge data chat`)", dir, split);
  return files;
}

namespace {
nlohmann::json rng_json(const Rng::State& s) {
  nlohmann::json j = nlohmann::json::array();
  for (uint64_t w : s) j.push_back(std::to_string(w));
  return j;
}
Rng::State rng_from_json(const SavedFields& f, const std::string& key) {
  const nlohmann::json& j = f.at(key);
  if (!j.is_array() || j.size() != 4) f.bad(f.name(key), "an array of 4 decimal strings (RNG state)", j);
  Rng::State s{};
  for (int i = 0; i < 4; ++i) s[i] = f.u64_string_at(j[i], fmt::format("{}[{}]", f.name(key), i));
  return s;
}
}  // namespace

ShardLoader::ShardLoader(const std::vector<std::string>& files, Mode mode, int B, int T, uint64_t seed,
                         bool align_docs, int rank, int world)
    : mode_(mode), B_(B), T_(T), seed_(seed), align_docs_(align_docs), rank_(rank), world_(world), rng_(seed) {
  CF_CHECK(!files.empty(), "no shard files given");
  CF_CHECK(B >= 1 && T >= 1, "batch size and sequence length must be positive");
  for (const auto& f : files) {
    auto r = std::make_unique<data::ShardReader>(f);
    if (shards_.empty()) {
      vocab_size_ = r->vocab_size();
      eot_id_ = r->eot_id();
      fingerprint_ = r->fingerprint();
      has_mask_ = r->has_mask();
    } else {
      CF_CHECK(r->vocab_size() == vocab_size_ && r->fingerprint() == fingerprint_,
               "{} was made with another tokenizer than {} (vocab {} vs {})", f, files.front(), r->vocab_size(),
               vocab_size_);
      has_mask_ = has_mask_ || r->has_mask();
    }
    token_starts_.push_back(total_tokens_);
    row_starts_.push_back(total_rows_);
    total_tokens_ += r->n_tokens();
    total_docs_ += r->n_docs();
    total_rows_ += r->n_rows();
    packed_ = packed_ || r->packed();
    shards_.push_back(std::move(r));
  }
  if (mode_ == Mode::kDocuments) {
    CF_CHECK(total_docs_ > 0, "{}: no documents in the shards", files.front());
  } else if (packed_) {
    fail("{}: packed shards (data chat --pack) hold whole rows of conversations; train on them with the documents "
         "loader (--loader documents, the default for --stage sft)", files.front());
  } else {
    bool any = false;
    for (const auto& s : shards_) any = any || s->n_tokens() > static_cast<uint64_t>(T_);
    CF_CHECK(any, "{}: every shard is shorter than one window of {} tokens; use a smaller --seq-len",
             files.front(), T_ + 1);
  }
  reset();
}

void ShardLoader::reset() {
  rng_.reseed(seed_);
  cursor_ = 0;
  epoch_ = 0;
  if (mode_ == Mode::kDocuments) {
    epoch_rng_ = rng_.state();
    shuffle_epoch();
  }
}

void ShardLoader::shuffle_epoch() {
  order_.resize(total_rows_);
  for (uint64_t i = 0; i < total_rows_; ++i) order_[i] = i;
  Rng r;
  r.set_state(epoch_rng_);
  for (uint64_t i = total_rows_; i > 1; --i) std::swap(order_[i - 1], order_[r.below(i)]);
}

uint64_t ShardLoader::rows_per_epoch() const {
  if (mode_ == Mode::kDocuments) return total_rows_;
  uint64_t rows = 0;
  for (const auto& s : shards_)
    if (s->n_tokens() > static_cast<uint64_t>(T_)) rows += (s->n_tokens() - 1) / T_;
  return rows;
}

int ShardLoader::locate(uint64_t global_pos, uint64_t& local) const {
  const auto it = std::upper_bound(token_starts_.begin(), token_starts_.end(), global_pos);
  const int idx = static_cast<int>(it - token_starts_.begin()) - 1;
  local = global_pos - token_starts_[idx];
  return idx;
}

void ShardLoader::window_at(uint64_t global_pos, Batch& b, int row) {
  uint64_t local;
  const auto& s = *shards_[locate(global_pos, local)];
  int32_t* inp = b.inputs.data() + static_cast<size_t>(row) * T_;
  int32_t* tgt = b.targets.data() + static_cast<size_t>(row) * T_;
  uint8_t* msk = b.mask.data() + static_cast<size_t>(row) * T_;
  for (int t = 0; t < T_; ++t) {
    inp[t] = static_cast<int32_t>(s.tokens(local + t));
    tgt[t] = static_cast<int32_t>(s.tokens(local + t + 1));
    msk[t] = s.mask(local + t + 1);
  }
}

void ShardLoader::document_row(uint64_t r, Batch& b, int row) {
  const auto it = std::upper_bound(row_starts_.begin(), row_starts_.end(), r);
  const int idx = static_cast<int>(it - row_starts_.begin()) - 1;
  const auto& s = *shards_[idx];
  const uint64_t k = r - row_starts_[idx];
  const auto& ends = s.doc_ends();
  const uint64_t first = s.row_first_doc(k), last = s.row_end_doc(k);  // documents [first, last)
  CF_CHECK(last <= ends.size(), "{}: header says {} documents but only {} end-of-text tokens were found", s.path(),
           s.n_docs(), ends.size());
  int32_t* inp = b.inputs.data() + static_cast<size_t>(row) * T_;
  int32_t* tgt = b.targets.data() + static_cast<size_t>(row) * T_;
  uint8_t* msk = b.mask.data() + static_cast<size_t>(row) * T_;
  int32_t* doc = packed_ ? b.doc.data() + static_cast<size_t>(row) * T_ : nullptr;
  int32_t* pos = packed_ ? b.pos.data() + static_cast<size_t>(row) * T_ : nullptr;
  // Each document [begin, end) includes its eot. Its tokens fill len slots: slot u < len-1
  // predicts token u+1 of the same document; the eot's slot (u = len-1) predicts nothing
  // (mask 0), so no document learns to predict the next one's first token.
  int t = 0;
  for (uint64_t d = first; d < last && t < T_; ++d) {
    const uint64_t begin = d == 0 ? 0 : ends[d - 1] + 1, end = ends[d] + 1;
    const uint64_t len = end - begin;
    // unpacked rows stop before the eot's slot (it is padding anyway)
    const uint64_t slots = packed_ ? len : len - 1;
    for (uint64_t u = 0; u < slots && t < T_; ++u, ++t) {
      inp[t] = static_cast<int32_t>(s.tokens(begin + u));
      if (u + 1 < len) {
        tgt[t] = static_cast<int32_t>(s.tokens(begin + u + 1));
        msk[t] = s.mask(begin + u + 1);
      } else {
        tgt[t] = eot_id_;
        msk[t] = 0;
      }
      if (doc != nullptr) {
        doc[t] = static_cast<int32_t>(d - first);
        pos[t] = static_cast<int32_t>(u);
      }
    }
  }
  for (int p = t; t < T_; ++t) {  // padding: any valid id, never in the loss; a document of its own
    inp[t] = eot_id_;
    tgt[t] = eot_id_;
    msk[t] = 0;
    if (doc != nullptr) {
      doc[t] = static_cast<int32_t>(last - first);
      pos[t] = t - p;
    }
  }
}

void ShardLoader::fill_row(Batch& b, int row) {
  switch (mode_) {
    case Mode::kRandom: {
      // uniform over every valid window start in every shard
      uint64_t valid = 0;
      for (const auto& s : shards_)
        if (s->n_tokens() > static_cast<uint64_t>(T_)) valid += s->n_tokens() - T_;
      uint64_t r = rng_.below(valid);
      for (size_t i = 0; i < shards_.size(); ++i) {
        const auto& s = *shards_[i];
        if (s.n_tokens() <= static_cast<uint64_t>(T_)) continue;
        const uint64_t here = s.n_tokens() - T_;
        if (r < here) {
          uint64_t pos = r;
          if (align_docs_) {  // start right after the next end-of-text, when one fits
            uint64_t p = pos;
            while (p < here && static_cast<int32_t>(s.tokens(p)) != eot_id_) ++p;
            if (p + 1 < here) pos = p + 1;
          }
          if (row >= 0) window_at(token_starts_[i] + pos, b, row);
          return;
        }
        r -= here;
      }
      CF_ASSERT(false);
      return;
    }
    case Mode::kSequential: {
      uint64_t local;
      int idx = locate(cursor_, local);
      // a window never crosses a shard boundary: move to the next shard when it would
      while (local + T_ + 1 > shards_[idx]->n_tokens()) {
        ++idx;
        if (idx >= static_cast<int>(shards_.size())) {
          idx = 0;
          ++epoch_;
        }
        cursor_ = token_starts_[idx];
        local = 0;
      }
      if (row >= 0) window_at(cursor_, b, row);
      cursor_ += T_;
      return;
    }
    case Mode::kDocuments: {
      if (cursor_ >= order_.size()) {
        ++epoch_;
        rng_.next_u64();  // each epoch's order comes from a fresh state
        epoch_rng_ = rng_.state();
        shuffle_epoch();
        cursor_ = 0;
      }
      if (row >= 0) document_row(order_[cursor_], b, row);
      ++cursor_;
      return;
    }
  }
}

void ShardLoader::skip_row() { fill_row(scratch_, -1); }

void ShardLoader::next(Batch& b) {
  b.B = B_;
  b.T = T_;
  b.inputs.resize(static_cast<size_t>(B_) * T_);
  b.targets.resize(static_cast<size_t>(B_) * T_);
  b.mask.resize(static_cast<size_t>(B_) * T_);
  b.doc.resize(packed_ ? static_cast<size_t>(B_) * T_ : 0);
  b.pos.resize(packed_ ? static_cast<size_t>(B_) * T_ : 0);
  for (int w = 0; w < world_; ++w)
    for (int r = 0; r < B_; ++r) {
      if (w == rank_)
        fill_row(b, r);
      else
        skip_row();
    }
}

nlohmann::json ShardLoader::state() const {
  return {{"rng", rng_json(rng_.state())},
          {"cursor", std::to_string(cursor_)},
          {"epoch", epoch_},
          {"epoch_rng", rng_json(epoch_rng_)}};
}

void ShardLoader::restore(const nlohmann::json& s, const std::string& file) {
  const SavedFields f{s, file, "loader"};
  CF_CHECK(s.is_object(), "{}: field 'loader' must be an object", file);
  rng_.set_state(rng_from_json(f, "rng"));
  cursor_ = f.u64_string("cursor");
  epoch_ = static_cast<int>(f.integer("epoch", 0, INT32_MAX));
  epoch_rng_ = rng_from_json(f, "epoch_rng");
  if (mode_ == Mode::kDocuments) shuffle_epoch();
}

}  // namespace chatforge::train
