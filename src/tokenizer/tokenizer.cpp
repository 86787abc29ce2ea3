// Tokenizer: indexing of the parts, encode (specials, pre-tokenization, a per-thread
// word cache, BPE), decode, fingerprint, and the streaming decoder.
#include "tokenizer/tokenizer.h"

#include <omp.h>
#include <utf8proc.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok {
namespace {

std::atomic<uint64_t> g_next_cache_key{1};

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Per-thread cache of piece -> ids for one vocabulary at a time. Pieces repeat (Zipf),
// so most of encode is one hash lookup per piece.
struct WordCache {
  static constexpr size_t kMaxEntries = 1 << 18;
  static constexpr size_t kMaxPieceLen = 128;
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, StringViewHash, std::equal_to<>> index;
  std::vector<int32_t> pool;
  void reset(uint64_t key) {
    owner = key;
    index.clear();
    pool.clear();
  }
};

WordCache& word_cache(uint64_t key) {
  thread_local WordCache cache;
  if (cache.owner != key || cache.index.size() >= WordCache::kMaxEntries) cache.reset(key);
  return cache;
}

std::string nfc_or_same(std::string_view text) {
  if (!is_valid_utf8(text)) return std::string(text);
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                              static_cast<utf8proc_ssize_t>(text.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return std::string(text);
  std::string s(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return s;
}

}  // namespace

Tokenizer::Tokenizer() { std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1); }

Tokenizer Tokenizer::from_parts(TokenizerParts parts) {
  Tokenizer t;
  t.tokens_ = std::move(parts.tokens);
  t.merges_ = std::move(parts.merges);
  t.pretok_ = std::move(parts.pretokenizer);
  t.ignore_merges_ = parts.ignore_merges;
  t.nfc_ = parts.nfc;
  const auto n = static_cast<int32_t>(t.tokens_.size());
  t.special_flag_.assign(t.tokens_.size(), 0);
  std::sort(parts.special_ids.begin(), parts.special_ids.end());
  for (int32_t id : parts.special_ids) {
    CF_CHECK(id >= 0 && id < n, "special token id {} out of range (vocab size {})", id, n);
    if (t.special_flag_[id]) continue;
    CF_CHECK(!t.tokens_[id].empty(), "special token id {} has an empty spelling", id);
    t.special_flag_[id] = 1;
    t.specials_.emplace_back(t.tokens_[id], id);
  }
  for (int32_t id = 0; id < n; ++id) {
    if (t.special_flag_[id] || t.tokens_[id].empty()) continue;
    t.token_index_.emplace(t.tokens_[id], id);  // first id wins on a duplicate spelling
  }
  for (int b = 0; b < 256; ++b) {
    auto it = t.token_index_.find(std::string(1, static_cast<char>(b)));
    CF_CHECK(it != t.token_index_.end(), "vocabulary has no token for byte 0x{:02X}; not a byte-level BPE", b);
    t.byte_ids_[b] = it->second;
  }
  for (size_t r = 0; r < t.merges_.size(); ++r) {
    const Merge& m = t.merges_[r];
    CF_CHECK(m.left >= 0 && m.left < n && m.right >= 0 && m.right < n && m.result >= 0 && m.result < n,
             "merge {} refers to a token id outside the vocabulary", r);
  }
  t.pairs_.build(t.merges_);
  t.cache_key_ = g_next_cache_key.fetch_add(1);
  return t;
}

void Tokenizer::encode_pieces(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> pieces;
  pieces.reserve(text.size() / 4 + 4);
  pretok_.split(text, pieces);
  WordCache& cache = word_cache(cache_key_);
  for (std::string_view piece : pieces) {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<uint8_t>(piece[0])]);
      continue;
    }
    const bool cacheable = piece.size() <= WordCache::kMaxPieceLen;
    if (cacheable) {
      auto it = cache.index.find(piece);
      if (it != cache.index.end()) {
        const auto [off, len] = it->second;
        out.insert(out.end(), cache.pool.begin() + off, cache.pool.begin() + off + len);
        continue;
      }
    }
    const size_t before = out.size();
    bool done = false;
    if (ignore_merges_) {
      auto it = token_index_.find(std::string(piece));
      if (it != token_index_.end()) {
        out.push_back(it->second);
        done = true;
      }
    }
    if (!done) bpe_encode_piece(piece, byte_ids_, pairs_, out);
    if (cacheable) {
      const auto off = static_cast<uint32_t>(cache.pool.size());
      cache.pool.insert(cache.pool.end(), out.begin() + before, out.end());
      cache.index.emplace(std::string(piece), std::make_pair(off, static_cast<uint32_t>(out.size() - before)));
    }
  }
}

void Tokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string normalized;
  if (nfc_) {
    normalized = nfc_or_same(text);
    text = normalized;
  }
  // Pre-tokenize a block at a time so the piece list stays small for huge inputs.
  constexpr size_t kBlock = 1 << 20;
  while (text.size() > 2 * kBlock && pretok_.newline_cuts_are_boundaries()) {
    const size_t cut = find_newline_cut(text, kBlock);
    if (cut == 0) break;
    encode_pieces(text.substr(0, cut), out);
    text.remove_prefix(cut);
  }
  encode_pieces(text, out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool allow_special) const {
  CF_CHECK(!tokens_.empty(), "tokenizer is empty (not loaded)");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (!allow_special || specials_.empty()) {
    encode_ordinary(text, out);
    return out;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    // The earliest special spelling in the rest (the longest one on a tie).
    size_t best_at = std::string_view::npos, best_len = 0;
    int32_t best_id = -1;
    for (const auto& [spelling, id] : specials_) {
      const size_t at = text.find(spelling, pos);
      if (at == std::string_view::npos) continue;
      if (at < best_at || (at == best_at && spelling.size() > best_len)) {
        best_at = at;
        best_len = spelling.size();
        best_id = id;
      }
    }
    if (best_at == std::string_view::npos) {
      encode_ordinary(text.substr(pos), out);
      break;
    }
    encode_ordinary(text.substr(pos, best_at - pos), out);
    out.push_back(best_id);
    pos = best_at + best_len;
  }
  return out;
}

std::vector<int32_t> Tokenizer::encode_parallel(std::string_view text, int threads, bool allow_special) const {
  bool special_has_newline = false;
  for (const auto& s : specials_) special_has_newline |= s.first.find('\n') != std::string::npos;
  constexpr size_t kChunk = 256 << 10;
  if (threads <= 1 || text.size() < 2 * kChunk || !pretok_.newline_cuts_are_boundaries() ||
      (allow_special && special_has_newline))
    return encode(text, allow_special);
  std::vector<std::string_view> chunks;
  while (!text.empty()) {
    size_t cut = text.size() > 2 * kChunk ? find_newline_cut(text, kChunk) : 0;
    if (cut == 0) cut = text.size();
    chunks.push_back(text.substr(0, cut));
    text.remove_prefix(cut);
  }
  std::vector<std::vector<int32_t>> parts(chunks.size());
  std::string first_error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (size_t i = 0; i < chunks.size(); ++i) {
    try {
      parts[i] = encode(chunks[i], allow_special);
    } catch (const std::exception& e) {
#pragma omp critical
      first_error = e.what();
    }
  }
  if (!first_error.empty()) fail("{}", first_error);
  size_t total = 0;
  for (const auto& p : parts) total += p.size();
  std::vector<int32_t> out;
  out.reserve(total);
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  size_t total = 0;
  for (int32_t id : ids) total += token_bytes(id).size();
  out.reserve(total);
  for (int32_t id : ids) out += tokens_[id];
  return out;
}

std::string_view Tokenizer::token_bytes(int32_t id) const {
  CF_CHECK(id >= 0 && id < vocab_size(), "token id {} out of range (vocab size {})", id, vocab_size());
  return tokens_[id];
}

std::optional<int32_t> Tokenizer::special_token_id(std::string_view spelling) const {
  for (const auto& [s, id] : specials_)
    if (s == spelling) return id;
  return std::nullopt;
}

int32_t Tokenizer::eot_id() const {
  for (const char* s : {kEndOfText, "<|end_of_text|>", "</s>", "<eos>"})
    if (const auto id = special_token_id(s)) return *id;
  fail("tokenizer has no end-of-text special token ({}, <|end_of_text|>, </s> or <eos>)", kEndOfText);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < vocab_size() && special_flag_[id] != 0;
}

void Tokenizer::add_special_tokens(const std::vector<std::string>& spellings) {
  for (const std::string& s : spellings) {
    CF_CHECK(!s.empty(), "a special token cannot be empty");
    if (special_token_id(s)) continue;
    const auto id = static_cast<int32_t>(tokens_.size());
    tokens_.push_back(s);
    special_flag_.push_back(1);
    specials_.emplace_back(s, id);
  }
}

std::string Tokenizer::fingerprint() const {
  // FNV-1a 64 over length-prefixed fields: stable across platforms and runs.
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&](const void* p, size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  };
  auto mix_u64 = [&](uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(v >> (8 * i));
    mix(b, 8);
  };
  auto mix_str = [&](std::string_view s) {
    mix_u64(s.size());
    mix(s.data(), s.size());
  };
  mix_str("chatforge-bpe-v1");
  mix_str(pretok_.pattern());
  mix_u64(ignore_merges_ | (nfc_ << 1));
  mix_u64(tokens_.size());
  for (const auto& t : tokens_) mix_str(t);
  mix_u64(merges_.size());
  for (const Merge& m : merges_) {
    mix_u64(static_cast<uint32_t>(m.left));
    mix_u64(static_cast<uint32_t>(m.right));
    mix_u64(static_cast<uint32_t>(m.result));
  }
  mix_u64(specials_.size());
  for (const auto& [s, id] : specials_) {
    mix_str(s);
    mix_u64(static_cast<uint32_t>(id));
  }
  return fmt::format("{:016x}", h);
}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tok_.token_bytes(id);
  const size_t keep_from = complete_utf8_prefix(pending_);
  std::string out;
  for (size_t i = 0; i < keep_from;) {
    const DecodedChar c = decode_utf8(pending_, i);
    if (c.cp == kInvalidCodepoint) out += "\xEF\xBF\xBD";
    else out.append(pending_, i, c.len);
    i += c.len;
  }
  pending_.erase(0, keep_from);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  for (size_t i = 0; i < pending_.size();) {
    const DecodedChar c = decode_utf8(pending_, i);
    if (c.cp == kInvalidCodepoint) out += "\xEF\xBF\xBD";
    else out.append(pending_, i, c.len);
    i += c.len;
  }
  pending_.clear();
  return out;
}

}  // namespace chatforge::tok
