// Blinded side-by-side human evaluation of two systems. write_human_kit shuffles the
// items and, per item, which system's answer is shown first; raters see only "answer 1"
// and "answer 2" (sheet.html to click through, sheet.csv to fill in); the mapping back to
// the systems lives in key.json. score_human_ratings unblinds ratings with the key and
// reports win/tie/loss of A against B with item-level bootstrap intervals and
// inter-rater agreement.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "eval/bootstrap.h"
#include "eval/text_files.h"

namespace chatforge::eval {

struct KitItem {
  std::string id;
  std::string prompt;
  std::string answer_a, answer_b;
};

// Items from a data JSONL (prompt in "prompt", or the non-final turns of "messages";
// id from "id", else the record's 1-based position) and two answer JSONL files aligned
// with it line for line (answer in "answer", "output", "response", "completion" or
// "text"; an "id", when present, must match the data's). Errors name file and line.
std::vector<KitItem> load_kit_items(const std::string& data_path, const std::string& answers_a_path,
                                    const std::string& answers_b_path);

struct KitOptions {
  uint64_t seed = 1;
  std::string name_a = "A", name_b = "B";
  std::string title = "Which answer is better?";
};

// The hidden key: per item (in sheet order) whether system A is shown as answer 1.
struct KitKey {
  std::string name_a, name_b;
  uint64_t seed = 0;
  struct Entry {
    std::string id;
    bool a_first = true;
  };
  std::vector<Entry> items;
};

// Writes DIR/sheet.html, DIR/sheet.csv and DIR/key.json (atomically); returns the key.
KitKey write_human_kit(const std::vector<KitItem>& items, const std::string& dir, const KitOptions& opt);
KitKey read_kit_key(const std::string& dir);

struct RateWithCi {
  double rate = 0;
  Interval ci;
};

struct HumanScore {
  std::string name_a, name_b;
  size_t ratings = 0, items_rated = 0, items_in_kit = 0, blank_skipped = 0;
  std::vector<std::string> raters;
  size_t a_wins = 0, ties = 0, b_wins = 0;
  RateWithCi a_win, tie, b_win;
  std::optional<double> krippendorff_alpha, fleiss_kappa, cohen_kappa;
};

// Ratings: one or more CSV files with columns item_id and preference (1, 2 or tie;
// blank = not rated) and optionally rater (missing or empty: the file's base name).
// Unknown items, bad preferences and duplicate (rater, item) pairs are errors naming
// file and line.
HumanScore score_human_ratings(const KitKey& key, const std::vector<std::string>& rating_files,
                               const BootstrapOptions& opt);

}  // namespace chatforge::eval
