// The demo's second held-out set: free-form customer questions written by hand, apart
// from the generator's templates (no frame, product name or wrapper of knowledge_base.cpp
// was used to write them), the way people type to a support chat: idioms, typos-free but
// lower-case shorthand, context before the question, and follow-ups that lean on an
// earlier turn ("and shipping?"). They are only ever written to eval/freeform.jsonl; a
// unit test checks that no training file contains any of them.
#pragma once
#include <string_view>
#include <vector>

#include "demo/knowledge_base.h"

namespace chatforge::demo {

struct FreeformQuestion {
  std::string_view key;       // the intent whose facts a right answer states ("price", ...)
  Lang lang;
  std::string_view question;  // the user's (last) turn
  // A follow-up: the conversation so far is one earlier exchange, the user's question
  // `prior_question` and the assistant's canonical answer of intent `prior_key`.
  std::string_view prior_key = {};
  std::string_view prior_question = {};
};

const std::vector<FreeformQuestion>& freeform_questions();
// The third held-out set (eval/fresh.jsonl): two single questions per intent and language,
// written after the generator's last change and used for no decision since.
const std::vector<FreeformQuestion>& fresh_questions();

}  // namespace chatforge::demo
