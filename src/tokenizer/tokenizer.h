// Byte-level BPE tokenizer (GPT-2 family): encode text to ids, decode ids to the exact
// bytes, special tokens, loading GPT-2's files or any byte-level BPE tokenizer.json, and
// saving tokenizer.json (Hugging Face format). Thread-safe for concurrent encode/decode.
// Special-token spellings in text are plain text unless encode(..., allow_special=true).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"

namespace chatforge::tok {

inline constexpr const char* kEndOfText = "<|endoftext|>";

// Everything that defines a tokenizer; Tokenizer::from_parts validates and indexes it.
struct TokenizerParts {
  std::vector<std::string> tokens;   // id -> bytes (specials included, as their spelling)
  std::vector<Merge> merges;         // in rank order
  std::vector<int32_t> special_ids;  // ids whose token is a special token
  PreTokenizer pretokenizer = PreTokenizer::gpt2();
  bool ignore_merges = false;  // a piece that is itself a token encodes to it directly
  bool nfc = false;            // NFC-normalize valid UTF-8 input before encoding
};

class Tokenizer {
 public:
  Tokenizer();  // empty; use load(), from_parts() or train_bpe()

  // DIR with tokenizer.json, or DIR with vocab.json+merges.txt (or encoder.json+vocab.bpe),
  // or a tokenizer.json path. Errors name the file and the field at fault.
  static Tokenizer load(const std::string& path);
  static Tokenizer from_parts(TokenizerParts parts);

  std::vector<int32_t> encode(std::string_view text, bool allow_special = false) const;
  // Same ids as encode(), computed on `threads` threads over chunks cut at line starts.
  std::vector<int32_t> encode_parallel(std::string_view text, int threads, bool allow_special = false) const;
  std::string decode(const std::vector<int32_t>& ids) const;  // exact bytes, may be invalid UTF-8
  std::string_view token_bytes(int32_t id) const;
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }  // incl. specials
  std::optional<int32_t> special_token_id(std::string_view spelling) const;
  // The end-of-text (document separator) token: the first special token among <|endoftext|>
  // (GPT-2, Qwen), <|end_of_text|> (Llama 3), </s> (Llama 2, Mistral) and <eos>; an error
  // naming them when the tokenizer has none.
  int32_t eot_id() const;
  bool is_special(int32_t id) const;
  const std::vector<std::pair<std::string, int32_t>>& special_tokens() const { return specials_; }
  // Appended after existing ids (a spelling that is already a special is skipped).
  void add_special_tokens(const std::vector<std::string>& spellings);

  // tokenizer.json (HF format, atomic) + vocab.txt, and a minimal tokenizer_config.json
  // when the directory has none (Hugging Face loaders require one).
  void save(const std::string& dir) const;
  std::string to_hf_json() const;           // the tokenizer.json text
  std::string to_hf_config_json() const;    // the minimal tokenizer_config.json text
  std::string vocab_listing() const;        // vocab.txt text: "id<TAB>escaped bytes" per line
  std::string fingerprint() const;          // stable hash of vocab+merges+specials+pattern

  const std::vector<Merge>& merges() const { return merges_; }
  const PreTokenizer& pretokenizer() const { return pretok_; }
  bool ignore_merges() const { return ignore_merges_; }

 private:
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;
  void encode_pieces(std::string_view text, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::vector<Merge> merges_;
  PairTable pairs_;
  int32_t byte_ids_[256];
  PreTokenizer pretok_;
  std::vector<std::pair<std::string, int32_t>> specials_;  // spelling, id (in id order)
  std::vector<uint8_t> special_flag_;                       // per id
  std::unordered_map<std::string, int32_t> token_index_;    // bytes -> id (non-special)
  bool ignore_merges_ = false;
  bool nfc_ = false;
  uint64_t cache_key_ = 0;  // identifies this vocabulary in the per-thread word cache
};

// Streaming decode for display: push ids one at a time and get back only complete UTF-8
// text so far (a character split across tokens waits for its last byte). Output is always
// valid UTF-8: a byte that can never become part of a character turns into U+FFFD, as
// does an incomplete character left at flush(). decode() gives the exact bytes.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  std::string push(int32_t id);
  std::string flush();

 private:
  const Tokenizer& tok_;
  std::string pending_;
};

}  // namespace chatforge::tok
