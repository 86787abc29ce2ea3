// Sensitive-term filter: finds user-listed words and phrases (any script) in one pass, at a
// cost per byte that does not grow with the list. Terms that begin and end with a word
// character of a spaced script (English words and phrases) must match whole words; they
// are looked up by hashing the text's runs of 1..K words (K = most words in a term).
// All other terms (Chinese, or with punctuation at an edge) go into an Aho-Corasick
// automaton over UTF-8 bytes and match as substrings (an edge that is a spaced-script
// word character still needs a word boundary: "ass" does not match "class"). ASCII
// letters match case-insensitively. Matches resolve leftmost-longest, without overlaps.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::data {

enum class SensitiveAction { kMask, kRemove, kDrop };
SensitiveAction parse_sensitive_action(const std::string& name);  // mask | remove | drop

class SensitiveFilter {
 public:
  struct Match {
    size_t begin, end;  // byte range in the text
  };

  SensitiveFilter() = default;
  // Adds terms from a UTF-8 file, one per line; blank lines and lines starting with '#'
  // are ignored. Errors name the file.
  void add_terms_file(const std::string& path);
  void add_term(std::string_view term);
  void build();  // after the last add; required before find()
  size_t n_terms() const { return n_terms_; }
  bool empty() const { return n_terms_ == 0; }

  std::vector<Match> find(std::string_view text) const;
  // Applies the action to every match: kMask replaces each with `mask`, kRemove deletes
  // it, kDrop leaves the text alone (the caller drops the document). Returns the count.
  size_t apply(std::string& text, SensitiveAction action, std::string_view mask) const;

 private:
  int32_t child(int32_t node, uint8_t byte) const;
  void find_automaton(std::string_view text, std::vector<Match>& all) const;
  void find_words(std::string_view text, std::vector<Match>& all) const;
  // Whole-word terms: folded text -> index into word_terms_ (verified on lookup).
  std::vector<std::string> word_terms_;
  // Open addressing over hash64(term): (high 32 bits of the hash << 32) | (index + 1);
  // 0 is empty. The stored hash bits spare most lookups a visit to word_terms_.
  std::vector<uint64_t> word_table_;
  size_t max_term_words_ = 0, max_word_term_bytes_ = 0;
  size_t n_automaton_terms_ = 0;
  struct Node {
    uint32_t edge_begin = 0;  // into edge_bytes_/edge_targets_ (sorted by byte)
    uint32_t edge_count = 0;
    int32_t fail = 0;
    int32_t out = -1;       // nearest node on the fail chain (self included) that ends a term
    uint32_t term_len = 0;  // bytes of the term ending here (0: none)
    uint8_t bound = 0;      // bit 0: needs a boundary before; bit 1: after
  };
  std::vector<Node> nodes_;
  std::vector<uint8_t> edge_bytes_;
  std::vector<int32_t> edge_targets_;
  int32_t root_next_[256] = {0};
  // Build-time trie: (node << 8 | byte) -> child, and the terms' end nodes.
  std::vector<std::vector<std::pair<uint8_t, int32_t>>> build_edges_;
  std::vector<Node> build_nodes_;
  size_t n_terms_ = 0;
  bool built_ = false;
};

}  // namespace chatforge::data
