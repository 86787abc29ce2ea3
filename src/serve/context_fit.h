// Which messages of a chat request are sent to the model when the whole conversation does
// not fit the context (serve --context-policy truncate-oldest): the oldest whole turns are
// left out, the system prompt and the last user turn always stay. Works on messages, never
// on tokens, so the model never sees half a turn or a cut chat template.
#pragma once
#include <cstdint>
#include <vector>

#include "tokenizer/chat_format.h"

namespace chatforge::serve {

struct FittedChat {
  std::vector<tok::ChatMessage> messages;  // the messages kept, in their order
  std::vector<int32_t> ids;                // their rendering, with the generation prompt
  int dropped = 0;                         // messages left out (0: the conversation was kept whole)
  bool fits = false;                       // ids.size() + reserve <= context
};

// Renders `messages` with the generation prompt. When the rendering plus `reserve` tokens
// (room for the answer) exceeds `context`, drops whole turns from the oldest on: a turn
// starts at a user message and runs to the next one (its assistant answers with it); a
// leading system message is never dropped, and neither is the last turn (the last user
// message and what follows it). Drops as few turns as needed; when even the system prompt
// plus the last turn does not fit, returns that shortest rendering with fits = false.
// Throws what ChatFormat::render throws (unknown role, system not first).
//
// Example: [S, U1, A1, U2, A2, U3] where only S + U2..U3 fit
//   -> messages [S, U2, A2, U3], dropped 2, fits true.
FittedChat fit_chat_to_context(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& messages,
                               int context, int reserve);

}  // namespace chatforge::serve
