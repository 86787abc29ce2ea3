// Token shards: the on-disk format that `data tokenize` and `data chat` write and the
// trainer memory-maps. A 64-byte little-endian header, then n_tokens tokens (uint16, or
// uint32 when the vocabulary exceeds 65536), then (SFT shards) n_tokens uint8 loss-mask
// bytes. Documents are separated by the end-of-text token (each document ends with one).
// Version 2 (packed SFT shards, `data chat --pack`) appends a row table: n_rows uint64
// document-end indices; row r holds documents [end[r-1], end[r]) side by side in one
// training row. Version 1 files (no table) read as one document per row.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/file_io.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::data {

inline constexpr char kShardMagic[8] = {'C', 'F', 'S', 'H', 'A', 'R', 'D', '\0'};
inline constexpr uint32_t kShardVersion = 1;        // plain: one document per training row
inline constexpr uint32_t kShardVersionPacked = 2;  // with a row table (see above)

#pragma pack(push, 1)
struct ShardHeader {
  char magic[8];             // "CFSHARD\0"
  uint32_t version;          // kShardVersion, or kShardVersionPacked with a row table
  uint32_t token_bytes;      // 2 or 4
  uint64_t n_tokens;         // tokens in the file (eot separators included)
  uint64_t n_docs;           // documents (each ended by eot_id)
  uint32_t has_mask;         // 1: n_tokens uint8 loss-mask bytes follow the tokens
  uint32_t vocab_size;       // tokenizer vocabulary size
  int32_t eot_id;            // end-of-text token id separating documents
  uint32_t n_rows;           // version 2: entries of the row table after the data; 0 in version 1
  char tokenizer_fingerprint[16];  // first 16 bytes of Tokenizer::fingerprint(), 0-padded
};
#pragma pack(pop)
static_assert(sizeof(ShardHeader) == 64, "shard header must be 64 bytes");

// Bytes per token for a vocabulary: 2 when every id fits in uint16, else 4.
inline uint32_t token_bytes_for_vocab(uint32_t vocab_size) { return vocab_size <= 65536 ? 2 : 4; }

// The fixed part of every shard in a set: what the tokenizer was.
struct ShardSpec {
  uint32_t vocab_size = 0;
  int32_t eot_id = 0;
  std::string tokenizer_fingerprint;  // full string; the header keeps its first 16 bytes
  bool has_mask = false;
};

// The spec of shards written with tokenizer `tk` (its vocabulary, end-of-text id and
// fingerprint).
ShardSpec shard_spec_for(const tok::Tokenizer& tk, bool has_mask = false);

// Writes one shard file, streaming, atomically: tokens go to a temp file in the same
// directory; finish() writes the header, appends the mask, fsyncs and renames. Without
// finish() (an exception) the temp file is removed and `path` is untouched. The mask is
// held in memory until finish() (one byte per token).
class ShardFileWriter {
 public:
  ShardFileWriter(std::string path, const ShardSpec& spec);
  ~ShardFileWriter();
  ShardFileWriter(const ShardFileWriter&) = delete;
  ShardFileWriter& operator=(const ShardFileWriter&) = delete;

  // Appends one document's tokens (without the eot; it is appended here). `mask` is
  // required (same length as tokens) iff the spec has a mask; the eot gets mask
  // `eot_mask` (1: train on predicting the end of the document).
  void add_document(const int32_t* tokens, size_t n, const uint8_t* mask = nullptr, uint8_t eot_mask = 1);
  // Packed shards: the documents added since the previous end_row() form one training row.
  // Once called, finish() writes a version-2 file and every document must be in a row.
  void end_row();
  void finish();
  uint64_t n_tokens() const { return n_tokens_; }
  uint64_t n_docs() const { return n_docs_; }
  uint64_t n_rows() const { return row_ends_.size(); }
  const std::string& path() const { return path_; }

 private:
  void put_tokens(const int32_t* tokens, size_t n);
  std::string path_, tmp_path_;
  ShardSpec spec_;
  uint32_t token_bytes_;
  int fd_ = -1;
  uint64_t n_tokens_ = 0, n_docs_ = 0;
  std::vector<uint8_t> mask_;
  std::vector<uint8_t> buf_;
  std::vector<uint64_t> row_ends_;
};

// Writes a set of shards for one split: DIR/<split>_000000.bin, _000001.bin, ... starting
// a new file when the current one would pass `max_tokens` (a document never spans two
// shards; a single document longer than max_tokens gets a shard of its own).
class ShardSetWriter {
 public:
  ShardSetWriter(std::string dir, std::string split, const ShardSpec& spec, uint64_t max_tokens);
  void add_document(const int32_t* tokens, size_t n, const uint8_t* mask = nullptr, uint8_t eot_mask = 1);
  void add_document(const std::vector<int32_t>& tokens) { add_document(tokens.data(), tokens.size()); }
  // Packed rows: begin_row(tokens of the whole row) starts a new file first when the row
  // would pass max_tokens (a row never spans two shards); the documents added until
  // end_row() form one training row.
  void begin_row(uint64_t row_tokens);
  void end_row();
  // Finishes the open shard; returns the paths written, in order.
  std::vector<std::string> finish();
  uint64_t n_tokens() const { return n_tokens_; }
  uint64_t n_docs() const { return n_docs_; }
  uint64_t n_rows() const { return n_rows_; }

 private:
  std::string dir_, split_;
  ShardSpec spec_;
  uint64_t max_tokens_;
  std::unique_ptr<ShardFileWriter> cur_;
  std::vector<std::string> done_;
  uint64_t n_tokens_ = 0, n_docs_ = 0, n_rows_ = 0;
  bool in_row_ = false;
};

// Writes DIR/meta.json atomically: tokenizer fingerprint, vocab, eot, per-split shard
// names, each file's token count and the split's token/doc counts. Then removes the shard
// files in DIR that `splits` do not list (an earlier set's, which list_shards would read
// with this one), with a line on stderr.
struct ShardSplitSummary {
  std::string split;
  std::vector<std::string> files;  // file names relative to DIR
  uint64_t n_tokens = 0, n_docs = 0;
  uint64_t n_rows = 0;  // packed shards: training rows (0: one document per row)
};
void write_shard_meta(const std::string& dir, const ShardSpec& spec, const std::vector<ShardSplitSummary>& splits);

// Read-only view of one shard, memory-mapped. The constructor validates magic, version,
// token width and the file size against the header, with errors naming the file.
class ShardReader {
 public:
  explicit ShardReader(const std::string& path);

  const ShardHeader& header() const { return header_; }
  const std::string& path() const { return file_.path(); }
  uint64_t n_tokens() const { return header_.n_tokens; }
  uint64_t n_docs() const { return header_.n_docs; }
  bool has_mask() const { return header_.has_mask != 0; }
  uint32_t vocab_size() const { return header_.vocab_size; }
  int32_t eot_id() const { return header_.eot_id; }
  uint32_t token_bytes() const { return header_.token_bytes; }
  std::string fingerprint() const;  // header fingerprint bytes up to the first 0

  uint32_t tokens(uint64_t i) const {
    return header_.token_bytes == 2 ? reinterpret_cast<const uint16_t*>(tokens_)[i]
                                    : reinterpret_cast<const uint32_t*>(tokens_)[i];
  }
  // Copies tokens [start, start+n) into out (widened to uint32).
  void read_tokens(uint64_t start, uint64_t n, uint32_t* out) const;
  uint8_t mask(uint64_t i) const { return mask_ != nullptr ? mask_[i] : uint8_t{1}; }
  const uint8_t* mask_data() const { return mask_; }  // nullptr without a mask
  const void* token_data() const { return tokens_; }

  // Positions of every eot token (document i spans (ends[i-1], ends[i]]), computed on
  // first call by one scan (O(n_tokens)), cached.
  const std::vector<uint64_t>& doc_ends() const;

  // Training rows: packed shards list them in the row table; otherwise every document is
  // a row. Row r holds documents [row_first_doc(r), row_end_doc(r)).
  bool packed() const { return row_table_ != nullptr; }
  uint64_t n_rows() const { return packed() ? header_.n_rows : header_.n_docs; }
  uint64_t row_end_doc(uint64_t r) const;
  uint64_t row_first_doc(uint64_t r) const { return r == 0 ? 0 : row_end_doc(r - 1); }

 private:
  MappedFile file_;
  ShardHeader header_{};
  const uint8_t* tokens_ = nullptr;
  const uint8_t* mask_ = nullptr;
  const uint8_t* row_table_ = nullptr;  // n_rows little-endian uint64 (unaligned), or null
  mutable std::vector<uint64_t> doc_ends_;
  mutable bool doc_ends_ready_ = false;
};

// The split a shard file's name gives (`train` for train_000003.bin, `val-qa` for
// val-qa_000000.bin): <split>_<digits>.bin, as ShardSetWriter names them. Empty for any
// other name.
std::string shard_split_of(const std::string& file_name);

// Shard files of one split in DIR (sorted): the files whose shard_split_of is split. Where
// DIR has a meta.json, they must be the files it lists for the split, each with the token
// count it records (an error names the first that is not): a shard write killed before its
// meta.json leaves new shards beside an earlier set's, which no single file shows.
std::vector<std::string> list_shards(const std::string& dir, const std::string& split);

// All shards of one split, memory-mapped, seen as one token stream (shard after shard, in
// name order). The constructor checks that every shard agrees on vocab, eot, width, mask
// and tokenizer fingerprint (an error names the first file that differs).
class ShardSet {
 public:
  ShardSet(const std::string& dir, const std::string& split);
  size_t n_shards() const { return shards_.size(); }
  const ShardReader& shard(size_t i) const { return *shards_[i]; }
  uint64_t n_tokens() const { return n_tokens_; }
  uint64_t n_docs() const { return n_docs_; }
  uint32_t vocab_size() const { return shards_[0]->vocab_size(); }
  int32_t eot_id() const { return shards_[0]->eot_id(); }
  bool has_mask() const { return shards_[0]->has_mask(); }
  std::string fingerprint() const { return shards_[0]->fingerprint(); }
  // Copies tokens [pos, pos+n) of the whole stream (may cross shard boundaries) and,
  // when `mask` is given, their loss-mask bytes (1 for shards without a mask).
  void read(uint64_t pos, uint64_t n, uint32_t* tokens, uint8_t* mask = nullptr) const;

 private:
  std::vector<std::unique_ptr<ShardReader>> shards_;
  std::vector<uint64_t> starts_;  // global position of each shard's first token
  uint64_t n_tokens_ = 0, n_docs_ = 0;
};

}  // namespace chatforge::data
