// Generates the demo's whole dataset from the knowledge base with a fixed seed: prose for
// pretraining (with planted noise, duplicates, personal data and sensitive words for the
// cleaning stage), chat data for two fine-tuning tasks (dialogues and knowledge Q&A,
// with a few malformed records), a task-mixture file, and held-out evaluation questions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "demo/knowledge_base.h"

namespace chatforge::demo {

struct DemoDataOptions {
  std::vector<Lang> langs = {Lang::kEn, Lang::kZh};
  uint64_t seed = 2026;
  int prose_docs_per_lang = 1500;
  int single_turn_per_lang = 8000;
  int multi_turn_per_lang = 3000;
  int off_topic_per_lang = 600;
  int heldout_wrappers = 2;  // evaluation items per held-out phrasing (different wrappers)
};

struct DemoDataSummary {
  uint64_t prose_docs = 0, planted_noise_docs = 0, planted_pii = 0, planted_sensitive = 0;
  uint64_t dialogues = 0, kb_qa = 0, planted_bad_records = 0;
  uint64_t eval_items = 0, freeform_items = 0, fresh_items = 0, refusal_items = 0;
};

// Layout written under `dir` (created):
//   raw/docs.jsonl            prose documents {"text","source"} (manual, faq, reviews, forum)
//   raw/sensitive_words.txt   terms the cleaning stage masks
//   chat/dialogues.jsonl      OpenAI messages format (single- and multi-turn, refusals)
//   chat/kb_qa.jsonl          Alpaca format (instruction/output), one per question phrasing
//   chat/mixture.yaml         the two tasks, weights 3:1, the system prompt
//   eval/heldout.jsonl        held-out paraphrases: messages, answer, facts, lang, topic
//   eval/freeform.jsonl       the hand-written free-form questions (freeform_questions.h),
//                             same fields plus follow_up (true: an earlier exchange precedes)
//   eval/fresh.jsonl          the fresh set (freeform_questions.h), the same fields
//   eval/refusals.jsonl       held-out off-topic requests (the refusal's key phrase as fact)
DemoDataSummary write_demo_data(const std::string& dir, const DemoDataOptions& opt);

// One line for people: "3159 prose documents, 23200 dialogues, ... 20 off-topic requests".
std::string describe(const DemoDataSummary& s);

// Questions as the generator phrases them (exposed for tests): `core` with "{p}" replaced
// by `product`, the first letter capitalised where a sentence starts, inside prefix/suffix.
std::string render_question(std::string_view prefix, std::string_view core, std::string_view product,
                            std::string_view suffix);

}  // namespace chatforge::demo
