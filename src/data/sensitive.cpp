// Implementation of sensitive.h: trie -> breadth-first failure links -> flat sorted edge
// arrays (root gets a dense 256 table). find() walks the text once.
#include "data/sensitive.h"

#include <algorithm>
#include <deque>
#include <fstream>

#include "core/error.h"
#include "data/normalize.h"
#include "data/text_util.h"

namespace chatforge::data {

SensitiveAction parse_sensitive_action(const std::string& name) {
  if (name == "mask") return SensitiveAction::kMask;
  if (name == "remove") return SensitiveAction::kRemove;
  if (name == "drop") return SensitiveAction::kDrop;
  usage_fail("unknown sensitive-word action '{}' (use mask, remove or drop)", name);
}

static inline uint8_t fold(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

void SensitiveFilter::add_terms_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CF_CHECK(in.good(), "cannot open sensitive-word list {}", path);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    CF_CHECK(is_valid_utf8(line), "{}:{}: sensitive term is not valid UTF-8", path, lineno);
    size_t a = line.find_first_not_of(" \t"), b = line.find_last_not_of(" \t");
    if (a == std::string::npos || line[a] == '#') continue;
    add_term(std::string_view(line).substr(a, b - a + 1));
  }
}

// Number of maximal runs of spaced-script word characters in s, or 0 if s has a CJK
// character or does not begin and end with such a word character.
static size_t whole_word_runs(std::string_view s) {
  size_t runs = 0, i = 0;
  bool in_run = false, first = true, last_word = false;
  while (i < s.size()) {
    const int32_t cp = decode_utf8(s, i);
    if (is_cjk(cp)) return 0;
    const bool w = is_word_char(cp);
    if (first && !w) return 0;
    first = false;
    if (w && !in_run) ++runs;
    in_run = w;
    last_word = w;
  }
  return last_word ? runs : 0;
}

void SensitiveFilter::add_term(std::string_view term) {
  CF_ASSERT(!built_);
  if (term.empty()) return;
  if (const size_t runs = whole_word_runs(term); runs > 0) {
    std::string folded(term);
    for (auto& c : folded) c = static_cast<char>(fold(static_cast<uint8_t>(c)));
    word_terms_.push_back(std::move(folded));
    max_term_words_ = std::max(max_term_words_, runs);
    max_word_term_bytes_ = std::max(max_word_term_bytes_, term.size());
    return;
  }
  if (build_nodes_.empty()) {
    build_nodes_.emplace_back();
    build_edges_.emplace_back();
  }
  int32_t node = 0;
  for (char ch : term) {
    const uint8_t c = fold(static_cast<uint8_t>(ch));
    auto& edges = build_edges_[node];
    int32_t next = -1;
    for (auto& e : edges)
      if (e.first == c) next = e.second;
    if (next < 0) {
      next = static_cast<int32_t>(build_nodes_.size());
      build_edges_[node].emplace_back(c, next);
      build_nodes_.emplace_back();
      build_edges_.emplace_back();
    }
    node = next;
  }
  size_t i = 0;
  const int32_t first = decode_utf8(term, i);
  int32_t last = first;
  for (size_t j = 0; j < term.size();) last = decode_utf8(term, j);
  auto& n = build_nodes_[node];
  if (n.term_len == 0) ++n_automaton_terms_;
  n.term_len = static_cast<uint32_t>(term.size());
  n.bound = static_cast<uint8_t>((is_word_char(first) && !is_cjk(first) ? 1 : 0) |
                                 (is_word_char(last) && !is_cjk(last) ? 2 : 0));
}

void SensitiveFilter::build() {
  built_ = true;
  // Whole-word terms: dedupe, then an open-addressing table of their hashes.
  std::sort(word_terms_.begin(), word_terms_.end());
  word_terms_.erase(std::unique(word_terms_.begin(), word_terms_.end()), word_terms_.end());
  size_t cap = 16;
  while (cap < word_terms_.size() * 2) cap <<= 1;
  word_table_.assign(word_terms_.empty() ? 0 : cap, 0);
  for (size_t t = 0; t < word_terms_.size(); ++t) {
    const uint64_t h = hash64(word_terms_[t], 0x5E75);
    size_t i = h & (cap - 1);
    while (word_table_[i] != 0) i = (i + 1) & (cap - 1);
    word_table_[i] = (h >> 32 << 32) | (t + 1);
  }
  n_terms_ = word_terms_.size() + n_automaton_terms_;
  if (build_nodes_.empty()) {
    build_nodes_.emplace_back();
    build_edges_.emplace_back();
  }
  // Renumber nodes breadth-first: the shallow nodes that most bytes visit end up
  // together in memory, which matters once the automaton outgrows the caches.
  {
    const size_t n = build_nodes_.size();
    std::vector<int32_t> order;
    order.reserve(n);
    order.push_back(0);
    for (size_t h = 0; h < order.size(); ++h) {
      auto& edges = build_edges_[order[h]];
      std::sort(edges.begin(), edges.end());
      for (auto& e : edges) order.push_back(e.second);
    }
    std::vector<int32_t> new_id(n);
    for (size_t i = 0; i < n; ++i) new_id[order[i]] = static_cast<int32_t>(i);
    std::vector<Node> nodes(n);
    std::vector<std::vector<std::pair<uint8_t, int32_t>>> edges(n);
    for (size_t i = 0; i < n; ++i) {
      nodes[i] = build_nodes_[order[i]];
      edges[i] = std::move(build_edges_[order[i]]);
      for (auto& e : edges[i]) e.second = new_id[e.second];
    }
    build_nodes_ = std::move(nodes);
    build_edges_ = std::move(edges);
  }
  nodes_ = std::move(build_nodes_);
  build_edges_.resize(nodes_.size());
  // Flatten edges, sorted per node.
  for (size_t v = 0; v < nodes_.size(); ++v) {
    auto& edges = build_edges_[v];
    std::sort(edges.begin(), edges.end());
    nodes_[v].edge_begin = static_cast<uint32_t>(edge_bytes_.size());
    nodes_[v].edge_count = static_cast<uint32_t>(edges.size());
    for (auto& e : edges) {
      edge_bytes_.push_back(e.first);
      edge_targets_.push_back(e.second);
    }
  }
  build_edges_.clear();
  build_edges_.shrink_to_fit();
  // Root: dense table; missing bytes loop back to the root.
  std::fill(std::begin(root_next_), std::end(root_next_), 0);
  for (uint32_t k = 0; k < nodes_[0].edge_count; ++k)
    root_next_[edge_bytes_[nodes_[0].edge_begin + k]] = edge_targets_[nodes_[0].edge_begin + k];
  // Breadth-first failure links.
  std::deque<int32_t> queue;
  nodes_[0].out = nodes_[0].term_len > 0 ? 0 : -1;
  for (uint32_t k = 0; k < nodes_[0].edge_count; ++k) {
    const int32_t c = edge_targets_[nodes_[0].edge_begin + k];
    nodes_[c].fail = 0;
    nodes_[c].out = nodes_[c].term_len > 0 ? c : -1;
    queue.push_back(c);
  }
  while (!queue.empty()) {
    const int32_t v = queue.front();
    queue.pop_front();
    for (uint32_t k = 0; k < nodes_[v].edge_count; ++k) {
      const uint8_t b = edge_bytes_[nodes_[v].edge_begin + k];
      const int32_t c = edge_targets_[nodes_[v].edge_begin + k];
      int32_t f = nodes_[v].fail;
      int32_t t;
      while ((t = child(f, b)) < 0) f = nodes_[f].fail;
      nodes_[c].fail = (t == c) ? 0 : t;
      nodes_[c].out = nodes_[c].term_len > 0 ? c : nodes_[nodes_[c].fail].out;
      queue.push_back(c);
    }
  }
}

// Child of node on byte; the root never fails (-1 only for non-root nodes).
int32_t SensitiveFilter::child(int32_t node, uint8_t byte) const {
  if (node == 0) return root_next_[byte];
  const Node& n = nodes_[node];
  const uint8_t* b = edge_bytes_.data() + n.edge_begin;
  if (n.edge_count <= 8) {
    for (uint32_t k = 0; k < n.edge_count; ++k)
      if (b[k] == byte) return edge_targets_[n.edge_begin + k];
    return -1;
  }
  const uint8_t* it = std::lower_bound(b, b + n.edge_count, byte);
  if (it != b + n.edge_count && *it == byte) return edge_targets_[n.edge_begin + (it - b)];
  return -1;
}

// Is there a word character of a spaced script just before `pos` / at `pos`?
static bool word_before(std::string_view s, size_t pos) {
  if (pos == 0) return false;
  size_t i = pos - 1;
  while (i > 0 && (static_cast<uint8_t>(s[i]) & 0xC0) == 0x80) --i;
  const int32_t cp = decode_utf8(s, i);
  return is_word_char(cp) && !is_cjk(cp);
}
static bool word_at(std::string_view s, size_t pos) {
  if (pos >= s.size()) return false;
  const int32_t cp = decode_utf8(s, pos);
  return is_word_char(cp) && !is_cjk(cp);
}

void SensitiveFilter::find_words(std::string_view text, std::vector<Match>& all) const {
  // Runs of spaced-script word characters: [begin, end) byte ranges.
  std::vector<std::pair<size_t, size_t>> runs;
  size_t i = 0, start = 0;
  bool in_run = false;
  while (i < text.size()) {
    const size_t at = i;
    const auto c = static_cast<uint8_t>(text[i]);
    bool w;
    if (c < 0x80) {
      w = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      ++i;
    } else {
      const int32_t cp = decode_utf8(text, i);
      w = !is_cjk(cp) && is_word_char(cp);
    }
    if (w && !in_run) start = at;
    if (!w && in_run) runs.emplace_back(start, at);
    in_run = w;
  }
  if (in_run) runs.emplace_back(start, text.size());
  if (runs.empty()) return;
  std::string folded(text);
  for (auto& ch : folded) ch = static_cast<char>(fold(static_cast<uint8_t>(ch)));
  const size_t mask = word_table_.size() - 1;
  for (size_t r = 0; r < runs.size(); ++r) {
    for (size_t k = 0; k < max_term_words_ && r + k < runs.size(); ++k) {
      const size_t b = runs[r].first, end = runs[r + k].second;
      if (end - b > max_word_term_bytes_) break;
      const std::string_view cand(folded.data() + b, end - b);
      const uint64_t h = hash64(cand, 0x5E75);
      for (size_t slot = h & mask; word_table_[slot] != 0; slot = (slot + 1) & mask) {
        const uint64_t e = word_table_[slot];
        if ((e >> 32) == (h >> 32) && word_terms_[(e & 0xFFFFFFFFu) - 1] == cand) {
          all.push_back({b, end});
          break;
        }
      }
    }
  }
}

std::vector<SensitiveFilter::Match> SensitiveFilter::find(std::string_view text) const {
  CF_ASSERT(built_);
  std::vector<Match> all;
  if (n_terms_ == 0) return all;
  if (!word_terms_.empty()) find_words(text, all);
  if (n_automaton_terms_ > 0) find_automaton(text, all);
  // Leftmost-longest, non-overlapping.
  std::sort(all.begin(), all.end(), [](const Match& a, const Match& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::vector<Match> out;
  size_t covered = 0;
  for (const auto& m : all) {
    if (m.begin < covered) continue;
    out.push_back(m);
    covered = m.end;
  }
  return out;
}

void SensitiveFilter::find_automaton(std::string_view text, std::vector<Match>& all) const {
  int32_t state = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t c = fold(static_cast<uint8_t>(text[i]));
    int32_t t;
    while ((t = child(state, c)) < 0) state = nodes_[state].fail;
    state = t;
    for (int32_t o = nodes_[state].out; o >= 0; o = nodes_[nodes_[o].fail].out) {
      const Node& n = nodes_[o];
      const size_t end = i + 1, begin = end - n.term_len;
      // A match must start on a code point boundary.
      const bool aligned = (static_cast<uint8_t>(text[begin]) & 0xC0) != 0x80;
      if (aligned && !((n.bound & 1) && word_before(text, begin)) && !((n.bound & 2) && word_at(text, end)))
        all.push_back({begin, end});
      if (o == 0) break;
    }
  }
}

size_t SensitiveFilter::apply(std::string& text, SensitiveAction action, std::string_view mask) const {
  const auto matches = find(text);
  if (matches.empty() || action == SensitiveAction::kDrop) return matches.size();
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (const auto& m : matches) {
    out.append(text, pos, m.begin - pos);
    if (action == SensitiveAction::kMask) out.append(mask);
    pos = m.end;
  }
  out.append(text, pos, std::string::npos);
  text = std::move(out);
  return matches.size();
}

}  // namespace chatforge::data
