// BPE training: count pre-tokens (streamed, in parallel; memory holds the counts, never
// the text), then learn merges with incremental pair counts and a lazy max-heap. Ties go
// to the smallest pair (left id, then right id), so the same input gives the same merges.
// Example: "aaabdaaabac" with 3 merges learns a+a, a+b, (aa)+(ab); it encodes to
// [258, 100, 258, 97, 99].
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace chatforge::tok {

struct TrainOptions {
  int32_t vocab_size = 0;                   // total ids: 256 bytes + merges + specials
  std::string pattern = "gpt2";             // pre-tokenizer: gpt2, gpt4, qwen2 or a regex
  std::vector<std::string> special_tokens;  // besides <|endoftext|> (always the first)
  int64_t min_frequency = 2;                // a pair seen fewer times is never merged
  int threads = 1;
  bool progress = true;                     // progress bars on stderr
};

struct PieceCountsHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using PieceCounts = std::unordered_map<std::string, int64_t, PieceCountsHash, std::equal_to<>>;

// Checks vocab_size and the like; throws UsageError with a one-line message.
void validate_train_options(const TrainOptions& options);

// Files and directories (recursively, in sorted order) -> the list of files to read.
// A missing path is an error naming it.
std::vector<std::string> list_input_files(const std::vector<std::string>& inputs);

// Pre-token counts of the files, read in blocks cut at line starts and counted on
// options.threads threads. Shows a progress bar over the total bytes.
PieceCounts count_pieces(const std::vector<std::string>& files, const PreTokenizer& pretok,
                         const TrainOptions& options);
void count_pieces_in_text(std::string_view text, const PreTokenizer& pretok, PieceCounts& counts);

// Learns merges from counts. Errors on an empty corpus.
Tokenizer train_from_counts(const PieceCounts& counts, const PreTokenizer& pretok, const TrainOptions& options);

// Convenience: the whole pipeline on files, or on one text (tests).
Tokenizer train_bpe(const std::vector<std::string>& inputs, const TrainOptions& options);
Tokenizer train_bpe_on_text(std::string_view text, const TrainOptions& options);

}  // namespace chatforge::tok
