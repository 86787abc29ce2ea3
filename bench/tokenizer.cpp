// Encode throughput of the chatforge tokenizer on one file: single-threaded and with N
// threads, median of --repeat runs, each with a freshly loaded tokenizer (cold word cache),
// so nothing learned in one run speeds up the next. Prints "encode_1t_mb_s=..." lines
// that scripts/bench/tokenizer.sh reads.
// Usage: bench_tokenizer --tokenizer DIR --file TEXT [--threads N] [--repeat R]
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/timer.h"
#include "tokenizer/tokenizer.h"

using namespace chatforge;

int main(int argc, char** argv) {
  std::string tok_dir, file;
  int threads = omp_get_num_procs(), repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--tokenizer")) tok_dir = argv[i + 1];
    else if (!std::strcmp(argv[i], "--file")) file = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeat")) repeat = std::atoi(argv[i + 1]);
  }
  if (tok_dir.empty() || file.empty()) {
    std::fprintf(stderr, "usage: bench_tokenizer --tokenizer DIR --file TEXT [--threads N] [--repeat R]\n");
    return 2;
  }
  try {
    const std::string text = read_file(file);
    const double mb = static_cast<double>(text.size()) / 1e6;
    auto median_mb_s = [&](int nthreads, size_t* n_ids) {
      std::vector<double> rates;
      for (int r = 0; r < repeat; ++r) {
        const tok::Tokenizer t = tok::Tokenizer::load(tok_dir);
        Timer timer;
        const auto ids = nthreads == 1 ? t.encode(text) : t.encode_parallel(text, nthreads);
        rates.push_back(mb / timer.seconds());
        *n_ids = ids.size();
      }
      std::sort(rates.begin(), rates.end());
      return rates[rates.size() / 2];
    };
    size_t n1 = 0, nt = 0;
    const double one = median_mb_s(1, &n1);
    const double many = median_mb_s(threads, &nt);
    if (n1 != nt) {
      std::fprintf(stderr, "error: parallel encode gave %zu ids, serial %zu\n", nt, n1);
      return 1;
    }
    std::printf("file_mb=%.2f ids=%zu\n", mb, n1);
    std::printf("encode_1t_mb_s=%.2f\n", one);
    std::printf("encode_%dt_mb_s=%.2f\n", threads, many);
    std::printf("threads=%d\n", threads);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
