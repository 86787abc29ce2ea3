// Data augmentation for SFT and pretraining text. Token noise (masking, random deletion,
// substitution, local shuffle) works on token ids where `touchable` says so; for chats
// that is the content of user turns (assistant targets only when asked). Paraphrase /
// back-translation runs an external command once per text (stdin -> stdout).
// Every random choice comes from the Rng passed in, so a fixed seed gives fixed output,
// and all rates 0 is the identity.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"
#include "tokenizer/chat_format.h"

namespace chatforge::data {

struct NoiseOptions {
  double mask_rate = 0;        // replace a token by mask_id
  double delete_rate = 0;      // drop a token
  double substitute_rate = 0;  // replace a token by a random non-special token
  double shuffle_rate = 0;     // swap a token with the next touchable one of the same span
  int32_t mask_id = -1;        // required when mask_rate > 0
  bool targets = false;        // chats: also touch assistant content (default: user turns only)
  bool any() const { return mask_rate > 0 || delete_rate > 0 || substitute_rate > 0 || shuffle_rate > 0; }
};

// Validates rates (each in [0,1], sum <= 1) and mask_id; throws UsageError naming the flag.
void check_noise_options(const NoiseOptions& o, int32_t vocab_size);

// The id of the mask token: a special token of the tokenizer, or a text that encodes to
// exactly one token. UsageError ("--mask-token '...' is N tokens; ...") otherwise.
int32_t resolve_mask_token(const tok::Tokenizer& tk, const std::string& spelling);

struct NoiseStats {
  uint64_t touchable = 0, masked = 0, deleted = 0, substituted = 0, shuffled = 0;
  uint64_t changed() const { return masked + deleted + substituted + shuffled; }
};

// The core: walks ids once; each touchable token independently is masked, deleted,
// substituted or swapped with the next token (if that one is touchable with the same
// span id) with the given probabilities. `span` (may be empty: one span) keeps swaps
// inside one message; `mask` (may be null) is edited in step with ids.
// Example: ids [5 6 7], all touchable, delete_rate 1 -> [].
void apply_token_noise(std::vector<int32_t>& ids, std::vector<uint8_t>* mask, const std::vector<uint8_t>& touchable,
                       const std::vector<int32_t>& span, const NoiseOptions& o, const tok::Tokenizer& tokenizer,
                       Rng& rng, NoiseStats* stats);

// A rendered chat: touches the content tokens of user messages (and assistant ones when
// o.targets), never template tokens or the system prompt.
void apply_chat_noise(tok::RenderedChat& chat, const std::vector<tok::ChatMessage>& messages, const NoiseOptions& o,
                      const tok::Tokenizer& tokenizer, Rng& rng, NoiseStats* stats);

// Pretraining text: every token is touchable.
void apply_text_noise(std::vector<int32_t>& ids, const NoiseOptions& o, const tok::Tokenizer& tokenizer, Rng& rng,
                      NoiseStats* stats);

// Runs `command` with /bin/sh -c, writes `input` to its stdin and returns its stdout
// (one trailing newline removed). Errors (naming the command) on a non-zero exit, a
// signal, empty output, or when it runs longer than timeout_s (it is killed).
std::string run_text_command(const std::string& command, const std::string& input, double timeout_s);

}  // namespace chatforge::data
