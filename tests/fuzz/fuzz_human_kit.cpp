// Fuzz target: the human-evaluation kit files: a kit's key.json with rating CSVs
// (read_kit_key, score_human_ratings, as `eval human-score` reads them), or a data JSONL
// with two answer JSONLs (load_kit_items, then write_human_kit, as `eval human-kit`).
// Input: one byte choosing which, then the files separated by NUL bytes
// ("key.json \0 ratings.csv \0 more.csv" or "data \0 answers_a \0 answers_b").
#include "eval/human_kit.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 2);
  const auto parts = fuzz::split_parts(in, 3);
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string_view(); };
  fuzz::remove_scratch("kit");
  fuzz::expect_clean([&] {
    if (choice == 0) {
      fuzz::write_scratch("kit/key.json", part(0));
      const std::string r1 = fuzz::write_scratch("kit/alice.csv", part(1));
      const std::string r2 = fuzz::write_scratch("kit/bob.csv", part(2));
      const eval::KitKey key = eval::read_kit_key(fuzz::scratch_dir() + "/kit");
      eval::BootstrapOptions opt;
      opt.resamples = 20;
      const eval::HumanScore s = eval::score_human_ratings(key, {r1, r2}, opt);
      if (s.a_wins + s.ties + s.b_wins != s.ratings)
        fuzz::finding("wins, ties and losses do not add up");
    } else {
      const std::string d = fuzz::write_scratch("kit/data.jsonl", part(0));
      const std::string a = fuzz::write_scratch("kit/a.jsonl", part(1));
      const std::string b = fuzz::write_scratch("kit/b.jsonl", part(2));
      const auto items = eval::load_kit_items(d, a, b);
      const eval::KitKey key = eval::write_human_kit(items, fuzz::scratch_dir() + "/kit/out", {});
      if (key.items.size() != items.size()) fuzz::finding("the key does not list every item");
      const eval::KitKey again = eval::read_kit_key(fuzz::scratch_dir() + "/kit/out");
      if (again.items.size() != key.items.size()) fuzz::finding("key.json does not read back");
    }
  });
  return 0;
}
