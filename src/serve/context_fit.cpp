// Implementation of context_fit.h. The chat template renders each message on its own
// (<|im_start|>role\ncontent<|im_end|>\n), so a rendering's length is the sum of its
// messages' lengths: each message is measured once, the cut is chosen from the sums, and
// only the kept messages are rendered again (checked, so a template change cannot make
// the sums lie silently).
#include "serve/context_fit.h"

#include <cstddef>

namespace chatforge::serve {

FittedChat fit_chat_to_context(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& messages,
                               int context, int reserve) {
  FittedChat out;
  out.ids = format.render(messages, true).ids;  // validates roles and order
  out.messages = messages;
  auto fits = [&](size_t n) { return static_cast<int64_t>(n) + reserve <= context; };
  out.fits = fits(out.ids.size());
  if (out.fits) return out;

  const size_t first = !messages.empty() && messages[0].role == "system" ? 1 : 0;
  // candidate cuts: keep messages [cut, end); a cut is a user message after `first`
  std::vector<size_t> cuts;
  for (size_t i = first + 1; i < messages.size(); ++i)
    if (messages[i].role == "user") cuts.push_back(i);
  if (cuts.empty()) return out;  // one turn only: nothing can be dropped

  std::vector<size_t> len(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) len[i] = format.render({messages[i]}, false).ids.size();
  const size_t gen_prompt = format.render({}, true).ids.size();
  size_t total = gen_prompt + (first ? len[0] : 0);
  for (size_t i = first; i < messages.size(); ++i) total += len[i];

  size_t chosen = cuts.back();
  size_t dropped_len = 0, at = first;
  for (size_t cut : cuts) {
    for (; at < cut; ++at) dropped_len += len[at];
    if (fits(total - dropped_len)) {
      chosen = cut;
      break;
    }
  }
  for (;;) {
    out.messages.assign(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(first));
    out.messages.insert(out.messages.end(), messages.begin() + static_cast<std::ptrdiff_t>(chosen), messages.end());
    out.ids = format.render(out.messages, true).ids;
    out.dropped = static_cast<int>(chosen - first);
    out.fits = fits(out.ids.size());
    if (out.fits || chosen == cuts.back()) return out;
    // the sums disagreed with the rendering: take the next cut
    size_t next = chosen;
    for (size_t cut : cuts)
      if (cut > chosen) {
        next = cut;
        break;
      }
    chosen = next;
  }
}

}  // namespace chatforge::serve
