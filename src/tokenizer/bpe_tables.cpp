// Implementation of bpe_tables.h: nlohmann's parser with a callback that takes each table
// entry as it is parsed and tells the parser to drop it (a vocab key is dropped before its
// map slot is made).
#include "tokenizer/bpe_tables.h"

#include "core/json_util.h"

namespace chatforge::tok {
namespace {

using nlohmann::json;
using Event = json::parse_event_t;

// Where the parser is, at the depths above the tables, and what it has taken.
class TableTaker {
 public:
  TableTaker(BpeLayout layout, BpeTables& tables) : layout_(layout), t_(tables) {}

  bool operator()(int depth, Event ev, json& parsed) {
    const int table_depth = layout_ == BpeLayout::kVocabJson ? 1 : 3;
    if (depth < table_depth) {
      note(depth, ev, parsed);
      return true;
    }
    if (depth > table_depth) return true;  // inside an entry that is itself an object or array
    switch (table()) {
      case kVocab: return take_vocab(ev, parsed);
      case kMerges: return take_merge(ev, parsed);
      default: return true;
    }
  }

 private:
  enum Table { kNone, kVocab, kMerges };

  // Keys and container kinds above the tables; counts the tables (and models) the file opens.
  void note(int depth, Event ev, const json& parsed) {
    if (depth > 2) return;
    if (ev == Event::key) key_[depth] = parsed.get_ref<const std::string&>();
    if (ev != Event::object_start && ev != Event::array_start) return;
    object_at_[depth] = ev == Event::object_start;
    if (layout_ == BpeLayout::kVocabJson) return;  // the root is the vocab: nothing repeats
    if (depth == 1 && object_at_[0] && key_[1] == "model") ++t_.models;
    if (depth == 2 && object_at_[0] && object_at_[1] && key_[1] == "model") {
      if (key_[2] == "vocab") ++t_.vocab_tables;
      if (key_[2] == "merges") ++t_.merges_tables;
    }
  }

  // The table a value at the tables' depth belongs to.
  Table table() const {
    if (layout_ == BpeLayout::kVocabJson) return object_at_[0] ? kVocab : kNone;
    if (!object_at_[0] || !object_at_[1] || key_[1] != "model") return kNone;
    if (key_[2] == "vocab" && object_at_[2]) return kVocab;
    if (key_[2] == "merges" && !object_at_[2]) return kMerges;
    return kNone;
  }

  bool take_vocab(Event ev, json& parsed) {
    switch (ev) {
      case Event::key:
        pending_ = parsed.get_ref<const std::string&>();
        return false;  // no map slot for it
      case Event::value:
        t_.vocab.emplace_back(std::move(pending_), std::move(parsed));
        return false;
      case Event::object_start:
      case Event::array_start:  // an id that is an object or array: no integer (read_vocab says so)
        t_.vocab.emplace_back(std::move(pending_), json::object());
        return false;
      default:
        return true;
    }
  }

  bool take_merge(Event ev, json& parsed) {
    switch (ev) {
      case Event::value:
      case Event::object_end:
      case Event::array_end:  // ["a", "b"] (or another container), built, then taken whole
        t_.merges.push_back(std::move(parsed));
        return false;
      default:
        return true;
    }
  }

  BpeLayout layout_;
  BpeTables& t_;
  std::string key_[3];          // key_[d]: the key of the value open at depth d (1, 2)
  bool object_at_[3] = {};      // the container open at depth d is an object
  std::string pending_;         // a vocab entry's key, until its value
};

}  // namespace

json parse_taking_bpe_tables(std::string_view text, const std::string& where, BpeLayout layout, BpeTables& tables) {
  TableTaker taker(layout, tables);
  return parse_json(text, where, [&taker](int depth, Event ev, json& parsed) { return taker(depth, ev, parsed); });
}

}  // namespace chatforge::tok
