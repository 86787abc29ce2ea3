// Paraphrasers for chat augmentation: text -> its paraphrase (or translation), called once
// per user turn of the train conversations `data chat` picks. Two kinds: an external
// program (stdin -> stdout), or a chat model that answers the text as a user turn. The
// model itself is reached through a greedy continuation over token ids (infer/ makes one
// from a checkpoint), so this layer needs no model.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::data {

// An empty function means no paraphrasing.
using Paraphraser = std::function<std::string(const std::string&)>;

// prompt ids -> the greedy continuation (stop id excluded), at most max_new tokens.
using GreedyContinuation =
    std::function<std::vector<int32_t>(const std::vector<int32_t>& prompt, int max_new,
                                       const std::vector<int32_t>& stop_ids)>;

// Runs `command` (sh -c) once per text: data::run_text_command(command, text, timeout_s).
Paraphraser command_paraphraser(const std::string& command, double timeout_s);

// A chat model as paraphraser: renders [system: instruction (if any), user: text] with the
// chat format and its generation prompt, continues it greedily for at most
// min(2 * prompt + 16, 512) tokens until the format's end of turn or <|endoftext|>, and decodes the
// answer; an empty answer keeps the original text.
// `chat` renders with `tokenizer`, which the paraphraser keeps alive.
Paraphraser chat_model_paraphraser(std::shared_ptr<const tok::Tokenizer> tokenizer,
                                   std::shared_ptr<const tok::ChatFormat> chat, GreedyContinuation generate,
                                   const std::string& instruction);

}  // namespace chatforge::data
