// Fuzz target: a `data chat --mixture` file (load_mixture: a JSON array or {"tasks": ...},
// or the YAML subset parse_simple_yaml reads), then the plan of picks (plan_mixture) over
// small pools as `data chat` makes it. Input: one byte choosing the file name (.yaml or
// .json) and whether a total is asked for, then the file.
#include <vector>

#include "data/mixture.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 4);
  const std::string path = fuzz::write_scratch((choice & 1) != 0 ? "mix.json" : "mix.yaml", in);
  fuzz::expect_clean([&] {
    const auto tasks = data::load_mixture(path);
    std::vector<uint64_t> pools;
    for (size_t t = 0; t < tasks.size(); ++t) pools.push_back((t * 7 + 3) % 11);  // 3, 10, 6, 2, 9, ...
    const uint64_t total = (choice & 2) != 0 ? 50 : 0;
    const auto picks = data::plan_mixture(tasks, pools, total, 1);
    const bool weights = !tasks.empty() && tasks[0].weight > 0;  // (epochs ignore the total)
    if (weights && total != 0 && picks.size() != total)
      fuzz::finding("plan_mixture made another number of picks than asked");
    for (const auto& p : picks)
      if (p.task >= tasks.size() || p.index >= pools[p.task]) fuzz::finding("a pick outside its task's pool");
  });
  return 0;
}
