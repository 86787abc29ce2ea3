// Batches for training and evaluation from token shards (data/shard.h).
//   kRandom:     pretraining; each row is a random window of T+1 tokens anywhere in the
//                split (or starting right after an end-of-text with align_docs).
//   kSequential: pretraining; consecutive windows through the concatenated shards.
//   kDocuments:  SFT; each row is one document (conversation) from its start, truncated
//                to T+1 tokens and padded with mask 0; rows shuffled each epoch. Packed
//                shards (`data chat --pack`) give rows of several documents side by side:
//                the batch then carries document ids and per-document positions (the
//                model's RowLayout), and a document's last token never predicts the
//                next document's first (mask 0 there).
// Rows are numbered globally; with world > 1 ranks, rank r takes rows r*B..(r+1)*B-1 of
// every world*B block, so N ranks see exactly the rows one rank would with N-fold
// accumulation. The whole position (RNG, cursor, epoch) is state()/restore()-able.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/rng.h"
#include "data/shard.h"

namespace chatforge::train {

struct Batch {
  int B = 0, T = 0;
  std::vector<int32_t> inputs;   // (B, T)
  std::vector<int32_t> targets;  // (B, T) inputs shifted by one
  std::vector<uint8_t> mask;     // (B, T) 1 where the target counts in the loss
  std::vector<int32_t> doc;      // (B, T) document index within the row; empty unless packed
  std::vector<int32_t> pos;      // (B, T) position within the document; empty unless packed
  uint64_t mask_count() const;
  const int32_t* doc_ids() const { return doc.empty() ? nullptr : doc.data(); }
  const int32_t* positions() const { return pos.empty() ? nullptr : pos.data(); }
};

class ShardLoader {
 public:
  enum class Mode { kRandom, kSequential, kDocuments };
  ShardLoader(const std::vector<std::string>& files, Mode mode, int B, int T, uint64_t seed, bool align_docs = false,
              int rank = 0, int world = 1);

  void next(Batch& batch);  // the next B rows for this rank
  void reset();             // back to the start (evaluation passes)
  nlohmann::json state() const;
  // `file` names the trainer_state.json in errors (a bad field is named, never a crash).
  void restore(const nlohmann::json& s, const std::string& file = "trainer state");

  uint64_t total_tokens() const { return total_tokens_; }
  uint64_t total_documents() const { return total_docs_; }
  uint32_t vocab_size() const { return vocab_size_; }
  int32_t eot_id() const { return eot_id_; }
  std::string fingerprint() const { return fingerprint_; }
  bool has_mask() const { return has_mask_; }
  int epoch() const { return epoch_; }
  int batch_rows() const { return B_; }
  // Rows per epoch: rows (documents, or packed rows) for kDocuments, windows of T tokens otherwise.
  uint64_t rows_per_epoch() const;
  bool packed() const { return packed_; }  // some shard has packed rows (kDocuments)

 private:
  void fill_row(Batch& b, int row);           // the next global row into batch row `row`
  void skip_row();                             // advance past one global row (other ranks')
  void window_at(uint64_t global_pos, Batch& b, int row);
  void document_row(uint64_t r, Batch& b, int row);
  void shuffle_epoch();
  int locate(uint64_t global_pos, uint64_t& local) const;

  std::vector<std::unique_ptr<data::ShardReader>> shards_;
  std::vector<uint64_t> token_starts_;  // global token offset of each shard
  std::vector<uint64_t> row_starts_;    // global row index of each shard's first row (kDocuments)
  Mode mode_;
  int B_, T_;
  uint64_t seed_;
  bool align_docs_;
  int rank_, world_;
  uint64_t total_tokens_ = 0, total_docs_ = 0, total_rows_ = 0;
  bool packed_ = false;
  uint32_t vocab_size_ = 0;
  int32_t eot_id_ = 0;
  bool has_mask_ = false;
  std::string fingerprint_;
  // position
  Rng rng_;
  uint64_t cursor_ = 0;  // sequential: next token; documents: next index into order_
  int epoch_ = 0;
  Rng::State epoch_rng_{};  // RNG state that produced this epoch's order (documents)
  std::vector<uint64_t> order_;
  Batch scratch_;
};

// All shard files of `split` in dir (e.g. "train", "val"); error when there are none.
std::vector<std::string> split_files(const std::string& dir, const std::string& split, bool required);

}  // namespace chatforge::train
