// Fuzz target: a token shard (64-byte header, tokens, loss mask, row table) opened by
// ShardReader and read as the trainer's loader and `data inspect` do: every row's
// documents against the end-of-text positions, tokens and mask through ShardSet.
#include <algorithm>
#include <vector>

#include "data/shard.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  fuzz::remove_scratch("shards");
  const std::string path = fuzz::write_scratch("shards/train_000000.bin", fuzz::as_view(data, size));
  fuzz::expect_clean([&] {
    const data::ShardReader r(path);
    (void)r.fingerprint();
    const auto& ends = r.doc_ends();
    if (r.n_tokens() > size) fuzz::finding("header promises more tokens than the file holds");
    for (uint64_t row = 0; row < std::min<uint64_t>(r.n_rows(), 1000); ++row) {
      const uint64_t first = r.row_first_doc(row), last = r.row_end_doc(row);
      if (first > last) fuzz::finding("a row ends before it starts");
      if (last > ends.size()) break;  // the loader reports this one (header says more documents)
      for (uint64_t d = first; d < last; ++d) {
        const uint64_t begin = d == 0 ? 0 : ends[d - 1] + 1, end = ends[d] + 1;
        for (uint64_t i = begin; i < end && i < begin + 64; ++i) (void)(r.tokens(i) + r.mask(i));
      }
    }
    const data::ShardSet set(fuzz::scratch_dir() + "/shards", "train");
    const uint64_t n = std::min<uint64_t>(set.n_tokens(), 4096);
    std::vector<uint32_t> tokens(n);
    std::vector<uint8_t> mask(n);
    set.read(0, n, tokens.data(), mask.data());
    (void)set.fingerprint();
  });
  return 0;
}
