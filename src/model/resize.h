// Growing a model's vocabulary, for fine-tuning with tokens the base model never saw
// (e.g. the chat tokens <|im_start|>/<|im_end|> added to GPT-2's tokenizer). Existing
// rows are kept exactly; new embedding rows start at the mean of the existing ones, a
// common choice that keeps the new tokens' initial logits ordinary.
#pragma once
#include <memory>

#include "model/gpt.h"

namespace chatforge::model {

std::unique_ptr<Gpt> extend_vocab(const Gpt& model, int new_vocab_size);

}  // namespace chatforge::model
