// Paraphrasers: an external command, or a chat model over a greedy continuation.
#include "data/paraphrase.h"

#include <algorithm>

#include "data/augment.h"
#include "tokenizer/chat_format.h"

namespace chatforge::data {

Paraphraser command_paraphraser(const std::string& command, double timeout_s) {
  return [command, timeout_s](const std::string& text) { return run_text_command(command, text, timeout_s); };
}

Paraphraser chat_model_paraphraser(std::shared_ptr<const tok::Tokenizer> tokenizer,
                                   std::shared_ptr<const tok::ChatFormat> chat, GreedyContinuation generate,
                                   const std::string& instruction) {
  std::vector<int32_t> stops = chat->stop_ids();
  stops.push_back(tokenizer->eot_id());
  return [tokenizer, chat, stops, generate = std::move(generate), instruction](const std::string& text) {
    std::vector<tok::ChatMessage> msgs;
    if (!instruction.empty()) msgs.push_back({"system", instruction});
    msgs.push_back({"user", text});
    const std::vector<int32_t> prompt = chat->render(msgs, true).ids;
    const int max_new = static_cast<int>(std::min<size_t>(2 * prompt.size() + 16, 512));
    const std::string out = tokenizer->decode(generate(prompt, max_new, stops));
    return out.empty() ? text : out;  // an empty answer keeps the original
  };
}

}  // namespace chatforge::data
