// Token noise of augment.h (the external command runner is in augment_command.cpp).
#include "data/augment.h"

#include "core/error.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::data {

namespace {
// Whether a token's bytes are whole UTF-8 characters. Byte-level BPE splits many CJK
// characters into 2-3 tokens; masking, deleting, replacing or moving one of those pieces
// would leave invalid UTF-8 in the text, so noise only ever touches whole-character tokens
// (and substitutes whole-character tokens).
bool whole_characters(std::string_view b) { return !b.empty() && tok::is_valid_utf8(b); }
}  // namespace

int32_t resolve_mask_token(const tok::Tokenizer& tk, const std::string& spelling) {
  if (auto id = tk.special_token_id(spelling)) return *id;
  const auto ids = tk.encode(spelling);
  if (ids.size() != 1)
    usage_fail("--mask-token '{}' is {} tokens; it must be one token or a special token", spelling, ids.size());
  return ids[0];
}

void check_noise_options(const NoiseOptions& o, int32_t vocab_size) {
  const std::pair<const char*, double> rates[] = {{"--mask-rate", o.mask_rate},
                                                  {"--delete-rate", o.delete_rate},
                                                  {"--substitute-rate", o.substitute_rate},
                                                  {"--shuffle-rate", o.shuffle_rate}};
  double sum = 0;
  for (const auto& [flag, r] : rates) {
    if (!(r >= 0 && r <= 1)) usage_fail("{} must be in [0, 1], got {}", flag, r);
    sum += r;
  }
  if (sum > 1 + 1e-12) usage_fail("the noise rates add up to {} (more than 1)", sum);
  if (o.mask_rate > 0 && (o.mask_id < 0 || o.mask_id >= vocab_size))
    usage_fail("--mask-rate needs a mask token (--mask-token) in the vocabulary");
}

void apply_token_noise(std::vector<int32_t>& ids, std::vector<uint8_t>* mask, const std::vector<uint8_t>& touchable,
                       const std::vector<int32_t>& span, const NoiseOptions& o, const tok::Tokenizer& tk, Rng& rng,
                       NoiseStats* stats) {
  CF_ASSERT(touchable.size() == ids.size() && (span.empty() || span.size() == ids.size()));
  CF_ASSERT(mask == nullptr || mask->size() == ids.size());
  NoiseStats local;
  // eligible: touchable and a whole-character token
  std::vector<uint8_t> eligible(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) eligible[i] = touchable[i] && whole_characters(tk.token_bytes(ids[i]));
  if (!o.any()) {
    for (uint8_t t : eligible) local.touchable += t;
  }
  std::vector<int32_t> out_ids;
  std::vector<uint8_t> out_mask;
  out_ids.reserve(ids.size());
  const int32_t vocab = tk.vocab_size();
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!o.any() || !eligible[i]) {
      out_ids.push_back(ids[i]);
      if (mask) out_mask.push_back((*mask)[i]);
      continue;
    }
    ++local.touchable;
    double u = rng.uniform();
    int32_t id = ids[i];
    bool keep = true;
    if (u < o.mask_rate) {
      id = o.mask_id;
      ++local.masked;
    } else if ((u -= o.mask_rate) < o.delete_rate) {
      keep = false;
      ++local.deleted;
    } else if ((u -= o.delete_rate) < o.substitute_rate) {
      for (int tries = 0; tries < 64; ++tries) {
        const auto c = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab)));
        if (c != ids[i] && !tk.is_special(c) && whole_characters(tk.token_bytes(c))) {
          id = c;
          break;
        }
      }
      ++local.substituted;
    } else if ((u -= o.substitute_rate) < o.shuffle_rate && i + 1 < ids.size() && eligible[i + 1] &&
               (span.empty() || span[i] == span[i + 1])) {
      // swap with the next token: both count as touched and changed
      out_ids.push_back(ids[i + 1]);
      out_ids.push_back(ids[i]);
      if (mask) {
        out_mask.push_back((*mask)[i + 1]);
        out_mask.push_back((*mask)[i]);
      }
      ++local.touchable;
      local.shuffled += 2;
      ++i;
      continue;
    }
    if (!keep) continue;
    out_ids.push_back(id);
    if (mask) out_mask.push_back((*mask)[i]);
  }
  if (o.any()) {
    ids = std::move(out_ids);
    if (mask) *mask = std::move(out_mask);
  }
  if (stats) {
    stats->touchable += local.touchable;
    stats->masked += local.masked;
    stats->deleted += local.deleted;
    stats->substituted += local.substituted;
    stats->shuffled += local.shuffled;
  }
}

void apply_chat_noise(tok::RenderedChat& chat, const std::vector<tok::ChatMessage>& messages, const NoiseOptions& o,
                      const tok::Tokenizer& tk, Rng& rng, NoiseStats* stats) {
  CF_ASSERT(chat.message.size() == chat.ids.size());
  std::vector<uint8_t> touchable(chat.ids.size(), 0);
  for (size_t i = 0; i < chat.ids.size(); ++i) {
    const int32_t m = chat.message[i];
    if (m < 0) continue;
    const std::string& role = messages[static_cast<size_t>(m)].role;
    touchable[i] = role == "user" || (o.targets && role == "assistant");
  }
  // ids and mask change together; the per-token message index no longer lines up after
  // deletions, so it is cleared (noise is the last step before writing).
  const std::vector<int32_t> span = chat.message;
  apply_token_noise(chat.ids, &chat.mask, touchable, span, o, tk, rng, stats);
  chat.message.clear();
}

void apply_text_noise(std::vector<int32_t>& ids, const NoiseOptions& o, const tok::Tokenizer& tk, Rng& rng,
                      NoiseStats* stats) {
  const std::vector<uint8_t> touchable(ids.size(), 1);
  apply_token_noise(ids, nullptr, touchable, {}, o, tk, rng, stats);
}

}  // namespace chatforge::data
