// Internal to the chat dataset build (chat_build.cpp, chat_build_write.cpp): the examples
// that reach the output and the writing stages. Not part of the data API.
#pragma once
#include <cstdint>
#include <vector>

#include "data/chat_build.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::data::chat_build {

// One example kept for output.
struct Example {
  uint32_t task = 0;
  std::vector<tok::ChatMessage> messages;  // as rendered (system prompt added, truncated)
  tok::RenderedChat chat;
  uint64_t hash = 0;
  bool paraphrased = false;
};

// Kept examples per task, in input order (paraphrases after the originals).
struct Pools {
  std::vector<std::vector<Example>> train, val;
};

// The seed of one random choice about one conversation (salt: what the choice is for).
inline uint64_t pick_seed(uint64_t seed, uint64_t hash, uint64_t salt) {
  return seed * 0x9e3779b97f4a7c15ULL ^ hash ^ (salt * 0xd1b54a32d192ed03ULL);
}

// Writes train (in `picks` order, noise applied per row), val and per-task val shards,
// shard meta, --dump-text and the tokenizer; fills r.counts' output fields, r.splits,
// r.noise, r.trained_tokens and the pack stats.
void write_chat_shards(const ChatBuildOptions& o, const tok::ChatFormat& format, const NoiseOptions& noise,
                       const Pools& pools, const std::vector<MixturePick>& picks, ChatBuildResult& r);

// Adds the "chat" section (options, per-task counts, skips, truncation, noise, packing)
// to the meta.json that write_chat_shards wrote.
void write_chat_meta(const ChatBuildOptions& o, const tok::ChatFormat& format, const NoiseOptions& noise,
                     const ChatBuildResult& r);

}  // namespace chatforge::data::chat_build
